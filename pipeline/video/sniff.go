package video

import (
	"bytes"
	"encoding/binary"
)

// imageFormat names a still-image format recognised by its signature. Only
// formats that Debian's OpenCV 4.6 imgcodecs decodes are listed; a GIF, for
// example, goes to FFmpeg as a (possibly animated) video instead.
type imageFormat string

const (
	formatJPEG     imageFormat = "jpeg"
	formatPNG      imageFormat = "png"
	formatBMP      imageFormat = "bmp"
	formatTIFF     imageFormat = "tiff"
	formatWebP     imageFormat = "webp"
	formatJPEG2000 imageFormat = "jpeg2000"
	formatPNM      imageFormat = "pnm"
	formatSunRas   imageFormat = "sunras"
	formatEXR      imageFormat = "exr"
	formatHDR      imageFormat = "hdr"
	formatPFM      imageFormat = "pfm"
)

// sniffImage returns the image format whose signature starts head, or "".
func sniffImage(head []byte) imageFormat {
	has := func(prefix string) bool { return bytes.HasPrefix(head, []byte(prefix)) }
	switch {
	case has("\xff\xd8\xff"):
		return formatJPEG
	case has("\x89PNG\r\n\x1a\n"):
		return formatPNG
	case has("BM") && len(head) >= 18:
		// Two letters alone are too weak a signature; the DIB header size
		// that follows the 14-byte file header has only a few legal values.
		switch binary.LittleEndian.Uint32(head[14:18]) {
		case 12, 40, 52, 56, 64, 108, 124:
			return formatBMP
		}
	case has("II*\x00"), has("MM\x00*"):
		return formatTIFF
	case len(head) >= 12 && has("RIFF") && string(head[8:12]) == "WEBP":
		return formatWebP
	case has("\x00\x00\x00\x0cjP  \r\n\x87\n"), has("\xff\x4f\xff\x51"):
		return formatJPEG2000
	case len(head) >= 3 && head[0] == 'P' && head[1] >= '1' && head[1] <= '7' && isSpace(head[2]):
		return formatPNM
	case has("\x59\xa6\x6a\x95"):
		return formatSunRas
	case has("\x76\x2f\x31\x01"):
		return formatEXR
	case has("#?RADIANCE"), has("#?RGBE"):
		return formatHDR
	case has("PF\n"), has("Pf\n"):
		return formatPFM
	}
	return ""
}

func isSpace(b byte) bool { return b == ' ' || b == '\n' || b == '\r' || b == '\t' }

// sniffAudio reports whether head starts like a sound-only file (MP3 with an
// ID3 tag, WAV, FLAC, AMR, AAC in ADTS). MP4/M4A audio is recognised from its
// track handlers instead (see readISO).
func sniffAudio(head []byte) bool {
	has := func(prefix string) bool { return bytes.HasPrefix(head, []byte(prefix)) }
	switch {
	case has("ID3"), has("fLaC"), has("#!AMR"):
		return true
	case len(head) >= 12 && has("RIFF") && string(head[8:12]) == "WAVE":
		return true
	case len(head) >= 4 && head[0] == 0xff && (head[1] == 0xf1 || head[1] == 0xf9) && (head[2]>>2)&0xf < 13:
		return true // ADTS: sync word, MPEG-4/2 layer 0, a valid sampling index
	}
	return false
}

// sniffVideoContainer names a non-ISO video container recognised by its
// signature, or returns "". It only serves to word the error when FFmpeg
// refuses a file.
func sniffVideoContainer(head []byte) string {
	has := func(prefix string) bool { return bytes.HasPrefix(head, []byte(prefix)) }
	switch {
	case has("\x1a\x45\xdf\xa3"):
		return "Matroska/WebM"
	case len(head) >= 12 && has("RIFF") && string(head[8:12]) == "AVI ":
		return "AVI"
	case has("\x00\x00\x01\xba"), has("\x00\x00\x01\xb3"):
		return "MPEG"
	case len(head) > 188 && head[0] == 0x47 && head[188] == 0x47:
		return "MPEG-TS"
	case has("FLV\x01"):
		return "FLV"
	case has("\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
		return "ASF/WMV"
	case has("OggS"):
		return "Ogg"
	case has("GIF87a"), has("GIF89a"):
		return "GIF"
	}
	return ""
}

// imageHeader is what the file's own bytes say about a JPEG or PNG, read
// without decoding pixels.
type imageHeader struct {
	width, height int  // stored size, before EXIF orientation
	orientation   int  // EXIF orientation 1..8; 0 when absent
	complete      bool // the end marker (JPEG EOI, PNG IEND) is present
	parsed        bool // the structure could be walked at all
}

// parseJPEG walks the JPEG marker segments: the first SOF gives the stored
// size, the first Exif APP1 the orientation, and the walk must reach EOI
// (through every entropy-coded scan) for the file to count as complete.
func parseJPEG(b []byte) imageHeader {
	var h imageHeader
	if len(b) < 2 || b[0] != 0xff || b[1] != 0xd8 {
		return h
	}
	h.parsed = true
	pos := 2
	for {
		// A marker is one or more 0xFF fill bytes and a code.
		if pos >= len(b) {
			return h
		}
		if b[pos] != 0xff {
			h.parsed = false
			return h
		}
		for pos < len(b) && b[pos] == 0xff {
			pos++
		}
		if pos >= len(b) {
			return h
		}
		code := b[pos]
		pos++
		switch {
		case code == 0xd9:
			h.complete = true
			return h
		case code >= 0xd0 && code <= 0xd7, code == 0x01:
			continue // stand-alone markers carry no length
		}
		if pos+2 > len(b) {
			return h
		}
		n := int(binary.BigEndian.Uint16(b[pos:]))
		if n < 2 {
			h.parsed = false
			return h
		}
		if pos+n > len(b) {
			return h
		}
		seg := b[pos+2 : pos+n]
		pos += n
		switch {
		case code == 0xe1 && h.orientation == 0 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")):
			h.orientation = exifOrientation(seg[6:])
		case code >= 0xc0 && code <= 0xcf && code != 0xc4 && code != 0xc8 && code != 0xcc && h.width == 0:
			if len(seg) >= 5 {
				h.height = int(binary.BigEndian.Uint16(seg[1:]))
				h.width = int(binary.BigEndian.Uint16(seg[3:]))
			}
		case code == 0xda:
			// Entropy-coded data follows; inside it 0xFF is always followed
			// by a stuffed 0x00 or a restart marker, so the next other
			// marker ends the scan.
			for {
				if pos+1 >= len(b) {
					return h
				}
				if b[pos] == 0xff {
					next := b[pos+1]
					if next != 0x00 && !(next >= 0xd0 && next <= 0xd7) && next != 0xff {
						break
					}
					if next == 0xff {
						pos++
						continue
					}
					pos += 2
					continue
				}
				pos++
			}
		}
	}
}

// exifOrientation reads tag 0x0112 from IFD0 of a TIFF-structured Exif
// block; 0 means absent or unreadable.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	ifd := int(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 0
	}
	count := int(bo.Uint16(t[ifd:]))
	for i := 0; i < count; i++ {
		e := ifd + 2 + 12*i
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		if bo.Uint16(t[e+2:]) != 3 { // SHORT
			return 0
		}
		v := int(bo.Uint16(t[e+8:]))
		if v < 1 || v > 8 {
			return 0
		}
		return v
	}
	return 0
}

// parsePNG walks the PNG chunks: IHDR gives the size, an eXIf chunk before
// the first IDAT the orientation (OpenCV 4.6 reads it through libpng's
// png_get_eXIf_1 after png_read_info, which stops at IDAT, so a later eXIf
// is ignored by the decoder and here too), and the walk must reach IEND for
// the file to count as complete.
func parsePNG(b []byte) imageHeader {
	var h imageHeader
	if len(b) < 8 || string(b[:8]) != "\x89PNG\r\n\x1a\n" {
		return h
	}
	h.parsed = true
	pos := 8
	seenIDAT := false
	for pos+8 <= len(b) {
		n := int(binary.BigEndian.Uint32(b[pos:]))
		typ := string(b[pos+4 : pos+8])
		end := pos + 8 + n + 4
		if n < 0 || end > len(b) || end < pos {
			return h
		}
		if typ == "IHDR" && n >= 8 {
			h.width = int(binary.BigEndian.Uint32(b[pos+8:]))
			h.height = int(binary.BigEndian.Uint32(b[pos+12:]))
		}
		if typ == "IDAT" {
			seenIDAT = true
		}
		if typ == "eXIf" && !seenIDAT && h.orientation == 0 {
			h.orientation = exifOrientation(b[pos+8 : pos+8+n])
		}
		if typ == "IEND" {
			h.complete = true
			return h
		}
		pos = end
	}
	return h
}
