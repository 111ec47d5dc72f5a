package video

import (
	"bytes"
	"os"
	"testing"

	"facemirror/internal/sharedtest"
)

func TestSniff(t *testing.T) {
	bmp := append([]byte("BM"), make([]byte, 16)...)
	bmp[14] = 40 // BITMAPINFOHEADER
	for head, want := range map[string]imageFormat{
		"\xff\xd8\xff\xe0\x00\x10JFIF":           formatJPEG,
		"\x89PNG\r\n\x1a\n\x00\x00":              formatPNG,
		string(bmp):                              formatBMP,
		"BM" + string(make([]byte, 16)):          "", // no valid DIB header size
		"II*\x00\x08\x00":                        formatTIFF,
		"RIFF\x00\x00\x00\x00WEBPVP8 ":           formatWebP,
		"RIFF\x00\x00\x00\x00AVI LIST":           "",
		"P6\n640 480\n255\n":                     formatPNM,
		"GIF89a":                                 "",
		"not an image in any way":                "",
		"\x00\x00\x00\x0cjP  \r\n\x87\n\x00\x00": formatJPEG2000,
	} {
		if got := sniffImage([]byte(head)); got != want {
			t.Errorf("sniffImage(%q) = %q, want %q", head, got, want)
		}
	}
	for head, want := range map[string]bool{
		"ID3\x04\x00": true, "fLaC": true, "RIFF\x00\x00\x00\x00WAVEfmt ": true, "\xff\xf1\x50\x80": true,
		"RIFF\x00\x00\x00\x00AVI ": false, "\x00\x00\x00\x20ftypisom": false, "text": false,
	} {
		if got := sniffAudio([]byte(head)); got != want {
			t.Errorf("sniffAudio(%q) = %v, want %v", head, got, want)
		}
	}
	ts := make([]byte, 189)
	ts[0], ts[188] = 0x47, 0x47
	for head, want := range map[string]string{
		"\x1a\x45\xdf\xa3\x01": "Matroska/WebM", "RIFF\x00\x00\x00\x00AVI LIST": "AVI",
		"\x00\x00\x01\xba\x44": "MPEG", string(ts): "MPEG-TS", "OggS\x00": "Ogg", "hello": "",
	} {
		if got := sniffVideoContainer([]byte(head)); got != want {
			t.Errorf("sniffVideoContainer(%q) = %q, want %q", head, got, want)
		}
	}
}

// TestParseJPEG walks generated and shared JPEGs: size, orientation and
// completeness, including an entropy-coded scan that contains stuffed
// 0xFF00 bytes and a cut inside the scan.
func TestParseJPEG(t *testing.T) {
	data := jpegWithOrientation(t, 6)
	h := parseJPEG(data)
	if !h.parsed || !h.complete || h.width != 64 || h.height != 32 || h.orientation != 6 {
		t.Errorf("parseJPEG(generated) = %+v", h)
	}
	if h := parseJPEG(data[:len(data)-1]); !h.parsed || h.complete {
		t.Errorf("JPEG without its last byte: %+v, want parsed and incomplete", h)
	}
	sos := bytes.Index(data, []byte{0xff, 0xda})
	if h := parseJPEG(data[:sos+20]); h.complete {
		t.Errorf("JPEG cut inside the scan counted complete")
	}
	i01, err := os.ReadFile(sharedtest.Media(t, "images/i01_single_face_smile_572x562.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if h := parseJPEG(i01); !h.complete || h.width != 572 || h.height != 562 {
		t.Errorf("parseJPEG(i01) = %+v", h)
	}
	b12, err := os.ReadFile(sharedtest.Media(t, "bad/b12_truncated_jpeg_skimage_400B.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if h := parseJPEG(b12); !h.parsed || h.complete {
		t.Errorf("parseJPEG(b12) = %+v, want parsed and incomplete", h)
	}
	// A marker where none can be is malformed, not truncated.
	if h := parseJPEG([]byte{0xff, 0xd8, 0x12, 0x34}); h.parsed {
		t.Errorf("garbage after SOI parsed: %+v", h)
	}
}

func TestParsePNG(t *testing.T) {
	data := pngWithOrientation(t, 8)
	if h := parsePNG(data); !h.complete || h.width != 64 || h.height != 32 || h.orientation != 8 {
		t.Errorf("parsePNG(generated) = %+v", h)
	}
	if h := parsePNG(data[:len(data)-5]); !h.parsed || h.complete {
		t.Errorf("PNG cut in IEND: %+v", h)
	}
}

func TestExifOrientation(t *testing.T) {
	for o := uint16(1); o <= 8; o++ {
		if got := exifOrientation(exifTIFF(o)); got != int(o) {
			t.Errorf("orientation %d read as %d", o, got)
		}
	}
	big := exifTIFF(6)
	big[0], big[1] = 'M', 'M' // now every field is read big-endian: nonsense
	if got := exifOrientation(big); got != 0 {
		t.Errorf("misread byte order gave %d", got)
	}
	if exifOrientation([]byte("II*")) != 0 || exifOrientation(nil) != 0 {
		t.Error("short TIFF")
	}
}
