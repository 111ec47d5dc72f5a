package video

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"time"
)

// This file reads just enough of an ISO base media file (MP4, MOV, M4V,
// 3GP) to tell the user precisely what is wrong when FFmpeg refuses it
// (index missing, sound only) and to give every frame its exact
// presentation time from the sample tables, which OpenCV 4.6 does not
// report for the frames the decoder hands out after the end of the file
// (see frameClock).

// isoFile is the result of walking the top-level boxes.
type isoFile struct {
	brand   string // major brand from ftyp
	hasMoov bool   // a complete moov box was read
	// cutBox names the top-level box that claims more bytes than the file
	// holds ("" when none): the file was cut off.
	cutBox string
	tracks []isoTrack
}

// isoTrack is one trak of the moov box.
type isoTrack struct {
	handler   string // "vide", "soun", ...
	codec     string // sample entry type, e.g. "avc1", "hvc1"
	timescale uint32 // mdhd timescale: ticks per second
	// movieTimescale is mvhd's timescale, the clock of edit durations.
	movieTimescale uint32
	stts           []sampleRun
	ctts           []sampleRun // value is a signed composition offset
	edits          []edit
}

type sampleRun struct {
	count uint32
	value int64
}

type edit struct {
	duration  uint64 // in movie timescale
	mediaTime int64  // in track timescale; -1 marks an empty edit
	rate      int32  // 16.16 fixed point
}

// Limits that keep hostile files from making us allocate without bound.
const (
	maxMoovBytes  = 256 << 20
	maxIsoSamples = 20_000_000
	maxBoxDepth   = 16
)

var topLevelBoxes = map[string]bool{
	"ftyp": true, "moov": true, "mdat": true, "free": true, "skip": true,
	"wide": true, "pnot": true, "uuid": true, "styp": true, "sidx": true,
	"moof": true, "mfra": true, "meta": true, "pdin": true,
}

// readISO walks f's top-level boxes. ok is false when the file does not
// start like an ISO base media file; read errors are returned as err.
func readISO(f *os.File, size int64) (iso *isoFile, ok bool, err error) {
	iso = &isoFile{}
	var off int64
	for first := true; off+8 <= size; first = false {
		var hdr [16]byte
		n, rerr := f.ReadAt(hdr[:], off)
		if n < 8 {
			if rerr != nil && rerr != io.EOF {
				return nil, false, rerr
			}
			break
		}
		boxSize := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:8])
		headerLen := int64(8)
		switch boxSize {
		case 0:
			boxSize = size - off
		case 1:
			if n < 16 {
				iso.cutBox = typ
				return iso, !first || topLevelBoxes[typ], nil
			}
			boxSize = int64(binary.BigEndian.Uint64(hdr[8:16]))
			headerLen = 16
		}
		if first && !topLevelBoxes[typ] {
			return nil, false, nil
		}
		if !printableType(typ) || boxSize < headerLen {
			// Not a box any more: either garbage appended after a valid
			// file or a damaged one. Report what was read so far.
			break
		}
		if off+boxSize > size || off+boxSize < off {
			iso.cutBox = typ
		}
		avail := min(boxSize, size-off) - headerLen
		switch typ {
		case "ftyp":
			if avail >= 4 {
				var b [4]byte
				if _, err := f.ReadAt(b[:], off+headerLen); err != nil {
					return nil, false, err
				}
				iso.brand = string(b[:])
			}
		case "moov":
			if iso.cutBox != "moov" && avail <= maxMoovBytes {
				b := make([]byte, avail)
				if _, err := f.ReadAt(b, off+headerLen); err != nil {
					return nil, false, err
				}
				iso.hasMoov = true
				iso.tracks = parseMoov(b)
			}
		}
		if iso.cutBox != "" {
			break
		}
		off += boxSize
	}
	return iso, true, nil
}

func printableType(t string) bool {
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c < 0x20 || c > 0x7e {
			if c != 0xa9 { // '©' starts QuickTime metadata atoms
				return false
			}
		}
	}
	return true
}

// forBoxes calls fn for each complete child box in b.
func forBoxes(b []byte, fn func(typ string, payload []byte)) {
	for len(b) >= 8 {
		size := uint64(binary.BigEndian.Uint32(b))
		typ := string(b[4:8])
		hl := uint64(8)
		if size == 1 {
			if len(b) < 16 {
				return
			}
			size = binary.BigEndian.Uint64(b[8:])
			hl = 16
		} else if size == 0 {
			size = uint64(len(b))
		}
		if size < hl || size > uint64(len(b)) {
			return
		}
		fn(typ, b[hl:size])
		b = b[size:]
	}
}

func parseMoov(moov []byte) []isoTrack {
	var tracks []isoTrack
	var movieTimescale uint32
	forBoxes(moov, func(typ string, p []byte) {
		switch typ {
		case "mvhd":
			// Same layout as mdhd up to the timescale.
			movieTimescale = parseMdhdTimescale(p)
		case "trak":
			tracks = append(tracks, parseTrak(p))
		}
	})
	for i := range tracks {
		tracks[i].movieTimescale = movieTimescale
	}
	return tracks
}

func parseTrak(trak []byte) isoTrack {
	var t isoTrack
	var walk func(b []byte, parent string, depth int)
	walk = func(b []byte, parent string, depth int) {
		if depth > maxBoxDepth {
			return
		}
		forBoxes(b, func(typ string, p []byte) {
			switch typ {
			case "edts", "mdia", "minf", "stbl":
				walk(p, typ, depth+1)
			case "elst":
				t.edits = parseElst(p)
			case "mdhd":
				t.timescale = parseMdhdTimescale(p)
			case "hdlr":
				// Only the media handler under mdia names the track type;
				// QuickTime also puts a data handler ("alis") under minf.
				if parent == "mdia" && len(p) >= 12 {
					t.handler = string(p[8:12])
				}
			case "stsd":
				// full box header (4), entry count (4), first entry's
				// size (4) and type (4)
				if len(p) >= 16 {
					t.codec = string(p[12:16])
				}
			case "stts":
				t.stts = parseRuns(p, false)
			case "ctts":
				t.ctts = parseRuns(p, true)
			}
		})
	}
	walk(trak, "trak", 0)
	return t
}

func parseMdhdTimescale(p []byte) uint32 {
	if len(p) < 4 {
		return 0
	}
	if p[0] == 1 { // 64-bit creation and modification times
		if len(p) < 24 {
			return 0
		}
		return binary.BigEndian.Uint32(p[20:])
	}
	if len(p) < 16 {
		return 0
	}
	return binary.BigEndian.Uint32(p[12:])
}

// parseRuns reads stts (unsigned deltas) or ctts (offsets, read as signed
// whatever the box version, as FFmpeg does) run-length tables.
func parseRuns(p []byte, signed bool) []sampleRun {
	if len(p) < 8 {
		return nil
	}
	n := int(binary.BigEndian.Uint32(p[4:]))
	p = p[8:]
	if n > len(p)/8 {
		n = len(p) / 8
	}
	runs := make([]sampleRun, n)
	for i := range runs {
		runs[i].count = binary.BigEndian.Uint32(p[8*i:])
		v := binary.BigEndian.Uint32(p[8*i+4:])
		if signed {
			runs[i].value = int64(int32(v))
		} else {
			runs[i].value = int64(v)
		}
	}
	return runs
}

func parseElst(p []byte) []edit {
	if len(p) < 8 {
		return nil
	}
	version := p[0]
	n := int(binary.BigEndian.Uint32(p[4:]))
	p = p[8:]
	entry := 12
	if version == 1 {
		entry = 20
	}
	if n > len(p)/entry {
		n = len(p) / entry
	}
	edits := make([]edit, n)
	for i := range edits {
		e := p[entry*i:]
		if version == 1 {
			edits[i] = edit{binary.BigEndian.Uint64(e), int64(binary.BigEndian.Uint64(e[8:])), int32(binary.BigEndian.Uint32(e[16:]))}
		} else {
			edits[i] = edit{uint64(binary.BigEndian.Uint32(e)), int64(int32(binary.BigEndian.Uint32(e[4:]))), int32(binary.BigEndian.Uint32(e[8:]))}
		}
	}
	return edits
}

// videoTrack returns the first track with a video handler, the one FFmpeg's
// first video stream (and so OpenCV's) is made from, or nil.
func (iso *isoFile) videoTrack() *isoTrack {
	for i := range iso.tracks {
		if iso.tracks[i].handler == "vide" {
			return &iso.tracks[i]
		}
	}
	return nil
}

// hasHandler reports whether a track of the given handler type exists.
func (iso *isoFile) hasHandler(h string) bool {
	for _, t := range iso.tracks {
		if t.handler == h {
			return true
		}
	}
	return false
}

// presentationTimes returns the presentation time of every frame the
// decoder will output, in output order, relative to the first one: the
// samples' composition times (decode time + composition offset), less those
// that the edit list trims from the start, sorted. It returns an error when
// the track uses features whose effect on FFmpeg's output it does not model
// (several non-empty edits, a playback rate other than 1, no samples in the
// moov, as in fragmented MP4); the caller then relies on the decoder's
// own timestamps.
//
// end is when the last presented frame stops showing: its composition time
// plus its sample duration, or the end of the edit when that comes first.
func (t *isoTrack) presentationTimes() (times []time.Duration, end time.Duration, err error) {
	if t.timescale == 0 {
		return nil, 0, fmt.Errorf("track has no timescale")
	}
	var total uint64
	for _, r := range t.stts {
		total += uint64(r.count)
	}
	if total == 0 {
		return nil, 0, fmt.Errorf("no samples in the sample table (fragmented file?)")
	}
	if total > maxIsoSamples {
		return nil, 0, fmt.Errorf("%d samples exceed the limit of %d", total, maxIsoSamples)
	}
	var mediaStart, mediaEnd int64
	var nonEmpty int
	for _, e := range t.edits {
		if e.mediaTime == -1 {
			if nonEmpty > 0 {
				return nil, 0, fmt.Errorf("empty edit after media")
			}
			continue // a leading empty edit delays the whole track alike
		}
		nonEmpty++
		if e.rate != 1<<16 {
			return nil, 0, fmt.Errorf("edit with playback rate %#x", e.rate)
		}
		mediaStart = e.mediaTime
		if e.duration > 0 && t.movieTimescale > 0 && e.duration <= math.MaxInt32 {
			// < 2^31 * 2^32: no overflow
			mediaEnd = e.mediaTime + int64(e.duration)*int64(t.timescale)/int64(t.movieTimescale)
		}
	}
	if nonEmpty > 1 {
		return nil, 0, fmt.Errorf("%d edits", nonEmpty)
	}
	cts := make([]int64, 0, total)
	var dts, endTicks int64
	ci, cLeft := 0, uint32(0)
	if len(t.ctts) > 0 {
		cLeft = t.ctts[0].count
	}
	for _, r := range t.stts {
		for k := uint32(0); k < r.count; k++ {
			var off int64
			for ci < len(t.ctts) && cLeft == 0 {
				ci++
				if ci < len(t.ctts) {
					cLeft = t.ctts[ci].count
				}
			}
			if ci < len(t.ctts) {
				off = t.ctts[ci].value
				cLeft--
			}
			if c := dts + off; c >= mediaStart {
				cts = append(cts, c)
				endTicks = max(endTicks, c+r.value)
			}
			dts += r.value
		}
	}
	if len(cts) == 0 {
		return nil, 0, fmt.Errorf("the edit list trims every sample")
	}
	sort.Slice(cts, func(i, j int) bool { return cts[i] < cts[j] })
	// The edit may stop showing the last frame before its sample ends.
	if mediaEnd > cts[len(cts)-1] && mediaEnd < endTicks {
		endTicks = mediaEnd
	}
	times = make([]time.Duration, len(cts))
	for i, c := range cts {
		times[i] = ticksToDuration(c-cts[0], int64(t.timescale))
	}
	return times, ticksToDuration(endTicks-cts[0], int64(t.timescale)), nil
}

// ticksToDuration converts ticks of a 1/scale s clock to the nearest
// nanosecond without overflowing int64 for any realistic media length.
func ticksToDuration(ticks, scale int64) time.Duration {
	q, r := ticks/scale, ticks%scale
	return time.Duration(q*int64(time.Second) + (r*int64(time.Second)+scale/2)/scale)
}
