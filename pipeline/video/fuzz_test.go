package video

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzContainerParsers feeds arbitrary bytes to every parser that reads
// untrusted file structure; none may panic or run away. The seeds are the
// generated images and an MP4 moov box.
func FuzzContainerParsers(f *testing.F) {
	f.Add(jpegWithOrientation(f, 6))
	f.Add(pngWithOrientation(f, 8))
	f.Add(exifTIFF(3))
	f.Add(seedMoov(512, 1000))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		parseJPEG(b)
		parsePNG(b)
		exifOrientation(b)
		sniffImage(b)
		sniffAudio(b)
		sniffVideoContainer(b)
		for _, tr := range parseMoov(b) {
			tr.presentationTimes()
		}
		path := filepath.Join(t.TempDir(), "f.mp4")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		readISO(fh, int64(len(b)))
	})
}

// seedMoov builds the payload of a moov box (movie timescale 1000) with
// one video track (timescale 15360): two samples of 512 ticks decoded at 0
// and 512 with composition offsets 1024 and 0, so presented at 1024 and
// 512, and one edit starting at mediaTime lasting editMs.
func seedMoov(mediaTime, editMs uint32) []byte {
	box := func(typ string, payload ...[]byte) []byte {
		n := 8
		for _, p := range payload {
			n += len(p)
		}
		b := []byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
		b = append(b, typ...)
		for _, p := range payload {
			b = append(b, p...)
		}
		return b
	}
	u32 := func(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	mdhd := box("mdhd", cat(u32(0), u32(0), u32(0), u32(15360), u32(1024)))
	hdlr := box("hdlr", cat(u32(0), u32(0), []byte("vide"), make([]byte, 12)))
	stts := box("stts", cat(u32(0), u32(1), u32(2), u32(512)))
	ctts := box("ctts", cat(u32(0), u32(2), u32(1), u32(1024), u32(1), u32(0)))
	elst := box("elst", cat(u32(0), u32(1), u32(editMs), u32(mediaTime), u32(1<<16)))
	stbl := box("stbl", stts, ctts)
	minf := box("minf", stbl)
	mdia := box("mdia", mdhd, hdlr, minf)
	trak := box("trak", box("edts", elst), mdia)
	return box("moov", box("mvhd", cat(u32(0), u32(0), u32(0), u32(1000))), trak)[8:]
}

func TestPresentationTimes(t *testing.T) {
	cases := []struct {
		mediaTime, editMs uint32
		times             []time.Duration
		end               time.Duration
	}{
		// Both samples shown; the later one (cts 1024) ends at 1536.
		{512, 1000, []time.Duration{0, 33333333}, 66666667},
		// The edit starts at 1024: the sample at 512 is trimmed.
		{1024, 1000, []time.Duration{0}, 33333333},
		// A 40 ms edit from 512 stops at tick 1126, before the last
		// sample's own end.
		{512, 40, []time.Duration{0, 33333333}, 39973958},
	}
	for _, tc := range cases {
		tracks := parseMoov(seedMoov(tc.mediaTime, tc.editMs))
		if len(tracks) != 1 || tracks[0].handler != "vide" || tracks[0].timescale != 15360 || tracks[0].movieTimescale != 1000 {
			t.Fatalf("parseMoov: %+v", tracks)
		}
		times, end, err := tracks[0].presentationTimes()
		if err != nil || fmt.Sprint(times) != fmt.Sprint(tc.times) || end != tc.end {
			t.Errorf("edit %d+%dms: times %v end %v (%v), want %v end %v", tc.mediaTime, tc.editMs, times, end, err, tc.times, tc.end)
		}
	}
}
