package video

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"facemirror/internal/sharedtest"
)

// damageSource is the healthy video the damaged copies are made of: H.264
// in MP4 with its index (moov) before the data, 472 frames.
const damageSource = "videos/v02_emotions_sad_to_laughing_640x360_pexels.mp4"

// decoded is one frame as a test keeps it.
type decoded struct {
	index int
	time  int64
	pix   []byte
}

// readAll reads every frame of path, and returns them with the Reader's
// gaps and end.
func readAll(t *testing.T, path string) (frames []decoded, gaps []Gap, end int) {
	t.Helper()
	withinLimit(t, path, func(ctx context.Context) {
		r, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for {
			f, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			frames = append(frames, decoded{index: f.Index, time: int64(f.Time), pix: f.Mat.ToBytes()})
			f.Mat.Close()
		}
		gaps = r.Gaps()
		end, _ = r.End()
	})
	return frames, gaps, end
}

// A damaged copy decodes on past the damage, as FFmpeg does: every frame
// that decodes is read, at its own index and time (those of the healthy
// file), the lost ones are listed as gaps, and the frames after the damage
// that FFmpeg decodes cleanly again are the healthy file's pixels. A
// cut-off copy reads up to the cut and lists the rest of its container's
// frames as a lost tail; Probe agrees with the Reader in both. A copy
// whose index is gone is refused with a specific error.
func TestDamagedVideos(t *testing.T) {
	src := sharedtest.Media(t, damageSource)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	healthy, gaps, _ := readAll(t, src)
	if len(healthy) != 472 || len(gaps) != 0 {
		t.Fatalf("%s: %d frames, gaps %v; want 472 and none", damageSource, len(healthy), gaps)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// overwritten is the file with n random bytes at each fraction of its
	// length.
	overwritten := func(n int, at ...float64) []byte {
		b := bytes.Clone(data)
		rng := rand.New(rand.NewPCG(1, 2))
		for _, a := range at {
			off := int(a * float64(len(b)))
			for i := off; i < off+n; i++ {
				b[i] = byte(rng.Uint32())
			}
		}
		return b
	}

	for _, tc := range []struct {
		name string
		data []byte
		// wantLost is how many frames are lost inside the file, wantTail
		// how many at its end; wantRead how many decode.
		wantRead, wantLost, wantTail int
	}{
		// wantRead is what FFmpeg itself decodes of each copy (ffprobe
		// -count_frames).
		{name: "middle overwritten", data: overwritten(100_000, 0.5), wantRead: 436, wantLost: 36},
		{name: "overwritten in two places", data: overwritten(20_000, 0.3, 0.7), wantRead: 459, wantLost: 13},
		{name: "cut at 30%", data: data[:len(data)*3/10], wantRead: 139, wantTail: 333},
		{name: "cut at 60%", data: data[:len(data)*6/10], wantRead: 288, wantTail: 184},
		{name: "cut at 90%", data: data[:len(data)*9/10], wantRead: 431, wantTail: 41},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := write(tc.name+".mp4", tc.data)
			frames, gaps, end := readAll(t, path)
			lost, tail := 0, 0
			for _, g := range gaps {
				if g.Tail {
					tail += g.Frames()
				} else {
					lost += g.Frames()
				}
			}
			if len(frames) != tc.wantRead || lost != tc.wantLost || tail != tc.wantTail {
				t.Errorf("read %d frames, %d lost inside, %d at the end (gaps %+v); want %d, %d and %d",
					len(frames), lost, tail, gaps, tc.wantRead, tc.wantLost, tc.wantTail)
			}
			if end+tail != len(healthy) {
				t.Errorf("End %d and a tail of %d; the container lists %d frames", end, tail, len(healthy))
			}
			inGap := map[int]bool{}
			for _, g := range gaps {
				for i := g.From; i < g.To; i++ {
					inGap[i] = true
				}
			}
			last := -1
			for _, f := range frames {
				switch {
				case f.index <= last:
					t.Fatalf("frame index %d after %d", f.index, last)
				case inGap[f.index]:
					t.Errorf("frame %d was read but is listed as lost", f.index)
				case f.time != healthy[f.index].time:
					t.Errorf("frame %d at %d ns, the healthy file has it at %d ns", f.index, f.time, healthy[f.index].time)
				}
				for i := last + 1; i < f.index; i++ {
					if !inGap[i] {
						t.Errorf("frame %d neither read nor listed as lost", i)
					}
				}
				last = f.index
			}
			// The last frame is past any damage and a keyframe: FFmpeg
			// decodes it as in the healthy file.
			if tc.wantTail == 0 && !bytes.Equal(frames[len(frames)-1].pix, healthy[len(healthy)-1].pix) {
				t.Errorf("the last frame's pixels differ from the healthy file's")
			}
			if tc.wantTail > 0 {
				for _, f := range frames {
					if !bytes.Equal(f.pix, healthy[f.index].pix) {
						t.Fatalf("frame %d before the cut differs from the healthy file's", f.index)
					}
				}
			}

			var info Info
			withinLimit(t, path, func(ctx context.Context) {
				if info, err = Probe(ctx, path); err != nil {
					t.Fatal(err)
				}
			})
			if info.Decodable() != tc.wantRead || info.Listed() != len(healthy) || len(info.Gaps) != len(gaps) || len(info.Timestamps) != info.Frames {
				t.Errorf("Probe: %d decodable of %d listed, %d gaps, %d timestamps for %d frames; want %d of %d, %d gaps, one each",
					info.Decodable(), info.Listed(), len(info.Gaps), len(info.Timestamps), info.Frames, tc.wantRead, len(healthy), len(gaps))
			}
			for _, f := range frames {
				if int64(info.Timestamps[f.index]) != f.time {
					t.Fatalf("Probe: frame %d at %v, the Reader has %v", f.index, info.Timestamps[f.index], f.time)
				}
			}

			// Seeking into the damage lands on the first frame after it
			// that decodes.
			for _, g := range gaps {
				if g.Tail || g.Frames() == 0 {
					continue
				}
				withinLimit(t, path, func(ctx context.Context) {
					r, err := OpenAt(ctx, path, g.From)
					if err != nil {
						t.Fatal(err)
					}
					defer r.Close()
					f, err := r.Read()
					if err != nil {
						t.Fatal(err)
					}
					defer f.Mat.Close()
					if f.Index != g.To || int64(f.Time) != healthy[g.To].time {
						t.Errorf("OpenAt(%d) in a gap: read frame %d at %v, want frame %d", g.From, f.Index, f.Time, g.To)
					}
				})
			}
		})
	}

	t.Run("index gone", func(t *testing.T) {
		// The moov box (the index) follows the 32-byte ftyp box.
		i := bytes.Index(data, []byte("moov")) - 4
		n := int(binary.BigEndian.Uint32(data[i:]))
		path := write("no-index.mp4", append(bytes.Clone(data[:i]), data[i+n:]...))
		withinLimit(t, path, func(ctx context.Context) {
			_, err := Open(ctx, path)
			var fe *Error
			if !errors.As(err, &fe) || !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "no index") {
				t.Errorf("Open: %v, want an *Error wrapping ErrTruncated that says the index is missing", err)
			}
		})
	})
}
