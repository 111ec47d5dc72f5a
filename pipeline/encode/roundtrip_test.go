package encode

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"facemirror/internal/sharedtest"
	"facemirror/pipeline/video"
)

// TestConstantRate writes constant-rate videos and reads them back through
// pipeline/video: frame count, size, the exact frame rate (also from the
// header alone), timestamps, and the pictures (bit-exact for FFV1, close
// for H.264).
func TestConstantRate(t *testing.T) {
	rates := []video.Rational{{Num: 30000, Den: 1001}, {Num: 24000, Den: 1001}, {Num: 25, Den: 1}, {Num: 30, Den: 1}}
	sizes := []struct{ w, h int }{{64, 48}, {65, 49}}
	type tc struct {
		codec Codec
		rate  video.Rational
		w, h  int
	}
	var cases []tc
	for _, c := range codecs {
		for _, r := range rates {
			for _, s := range sizes {
				cases = append(cases, tc{c, r, s.w, s.h})
			}
		}
	}
	cases = append(cases, tc{FFV1, video.Rational{Num: 30000, Den: 1001}, 480, 360}, tc{H264, video.Rational{Num: 30000, Den: 1001}, 480, 360})
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s/%dx%d", c.codec, c.rate, c.w, c.h), func(t *testing.T) {
			t.Parallel()
			const n = 12
			gen := sharpFrame
			if c.codec == H264 {
				gen = smoothFrame
			}
			path := filepath.Join(t.TempDir(), "out"+c.codec.Ext())
			opts := Options{Codec: c.codec, Width: c.w, Height: c.h, Rate: c.rate}
			// The times given are deliberately wrong: a constant-rate
			// Writer must ignore them.
			bogus := make([]time.Duration, n)
			for i := range bogus {
				bogus[i] = time.Duration(i*i) * time.Millisecond
			}
			writeVideo(t, path, opts, bogus, gen)

			info, err := video.Probe(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			wantW, wantH := c.w, c.h
			if c.codec == H264 {
				// yuv420p cannot crop to an odd size: see the package doc.
				wantW, wantH = c.w+c.w%2, c.h+c.h%2
			}
			if info.Frames != n || info.Width != wantW || info.Height != wantH {
				t.Errorf("read back %d frames of %dx%d, want %d of %dx%d", info.Frames, info.Width, info.Height, n, wantW, wantH)
			}
			if info.FPS != c.rate {
				t.Errorf("Probe FPS = %s, want exactly %s", info.FPS, c.rate)
			}
			hdr, err := video.ProbeHeader(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			if hdr.FPS != c.rate {
				t.Errorf("ProbeHeader FPS = %s, want exactly %s", hdr.FPS, c.rate)
			}
			checkTimes(t, info.Timestamps, cfrTimes(n, c.rate), tolerance(c.codec))

			frames, fw, fh := readFrames(t, path)
			if len(frames) != n || fw != wantW || fh != wantH {
				t.Fatalf("Read gave %d frames of %dx%d", len(frames), fw, fh)
			}
			worst := 0.0
			for i, got := range frames {
				want := gen(c.w, c.h, i)
				if c.codec == FFV1 {
					if !bytes.Equal(got, want) {
						t.Errorf("frame %d differs from the frame written (mean abs diff %.3f)", i, meanAbsDiff(want, c.w, c.h, got, fw))
					}
					continue
				}
				d := meanAbsDiff(want, c.w, c.h, got, fw)
				if d > 2 {
					t.Errorf("frame %d: mean abs diff %.2f levels, want <= 2", i, d)
				}
				worst = max(worst, d)
			}
			if c.codec == H264 {
				t.Logf("largest mean abs diff of a frame: %.2f levels", worst)
			}
		})
	}
}

// tolerance is how far a read-back timestamp may lie from the time
// written: Matroska as ffmpeg writes it counts whole milliseconds; MP4
// uses 1/Rate or 1/90000 s, so only float rounding remains.
func tolerance(c Codec) time.Duration {
	if c == FFV1 {
		return time.Millisecond / 2
	}
	return 20 * time.Microsecond
}

func checkTimes(t *testing.T, got, want []time.Duration, tol time.Duration) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d timestamps, want %d", len(got), len(want))
		return
	}
	for i := range got {
		if d := got[i] - want[i]; d > tol || d < -tol {
			t.Errorf("frame %d at %v, want %v (off by %v, tolerance %v)", i, got[i], want[i], d, tol)
		}
	}
}

// TestVariableRate keeps irregular frame times.
func TestVariableRate(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	times := []time.Duration{0, ms(33.3), ms(133.3), ms(200), ms(233.4), ms(333.4), ms(340.1), ms(440.1), ms(1440.1), ms(1473.5)}
	for _, c := range codecs {
		for _, size := range []struct{ w, h int }{{64, 48}, {65, 49}} {
			t.Run(fmt.Sprintf("%s/%dx%d", c, size.w, size.h), func(t *testing.T) {
				t.Parallel()
				path := filepath.Join(t.TempDir(), "vfr"+c.Ext())
				opts := Options{Codec: c, Width: size.w, Height: size.h, Rate: video.Rational{Num: 30, Den: 1}, VariableRate: true}
				writeVideo(t, path, opts, times, sharpFrame)
				info, err := video.Probe(context.Background(), path)
				if err != nil {
					t.Fatal(err)
				}
				if info.Frames != len(times) {
					t.Errorf("%d frames, want %d", info.Frames, len(times))
				}
				checkTimes(t, info.Timestamps, times, tolerance(c))
				if c == FFV1 {
					frames, _, _ := readFrames(t, path)
					for i, got := range frames {
						if !bytes.Equal(got, sharpFrame(size.w, size.h, i)) {
							t.Errorf("frame %d differs from the frame written", i)
						}
					}
				}
			})
		}
	}
}

// TestVariableRateOffset: times are taken relative to the first frame.
func TestVariableRateOffset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "offset.mkv")
	opts := Options{Codec: FFV1, Width: 32, Height: 24, Rate: video.Rational{Num: 25, Den: 1}, VariableRate: true}
	base := 5 * time.Second
	writeVideo(t, path, opts, []time.Duration{base, base + 40*time.Millisecond, base + 120*time.Millisecond}, sharpFrame)
	info, err := video.Probe(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	checkTimes(t, info.Timestamps, []time.Duration{0, 40 * time.Millisecond, 120 * time.Millisecond}, tolerance(FFV1))
}

// TestVariableRateRealTimes replays the frame times of real
// variable-frame-rate sources (b09: 30, 10, 15 and 30 frames/s in turn;
// e02: a phone's HEVC with an average of 519168/19667).
func TestVariableRateRealTimes(t *testing.T) {
	for _, src := range []string{"bad/b09_vfr_real_face_30_10_15_30fps.mp4", "edge/e02_face_then_noface_hevc_vfr_audiofirst_960x540.mov"} {
		info, err := video.Probe(context.Background(), sharedtest.Media(t, src))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range codecs {
			t.Run(filepath.Base(src)+"/"+string(c), func(t *testing.T) {
				t.Parallel()
				path := filepath.Join(t.TempDir(), "vfr"+c.Ext())
				opts := Options{Codec: c, Width: 32, Height: 24, Rate: info.FPS, VariableRate: true}
				writeVideo(t, path, opts, info.Timestamps, sharpFrame)
				got, err := video.Probe(context.Background(), path)
				if err != nil {
					t.Fatal(err)
				}
				checkTimes(t, got.Timestamps, info.Timestamps, tolerance(c))
				t.Logf("%d frames; average rate read back %s (source %s)", got.Frames, got.FPS, info.FPS)
			})
		}
	}
}

// TestTinySizes: FFV1 is exact down to one pixel (level 1 below 320x240,
// level 3 with slices from there); H.264 pads to even.
func TestTinySizes(t *testing.T) {
	cases := []struct {
		codec        Codec
		w, h         int
		readW, readH int
	}{
		{FFV1, 1, 1, 1, 1}, {FFV1, 2, 2, 2, 2}, {FFV1, 3, 3, 3, 3}, {FFV1, 5, 3, 5, 3},
		{FFV1, 319, 241, 319, 241}, // just above ffv1SliceMinPixels
		{H264, 1, 1, 2, 2}, {H264, 3, 5, 4, 6},
	}
	rate := video.Rational{Num: 25, Den: 1}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%dx%d", c.codec, c.w, c.h), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "tiny"+c.codec.Ext())
			writeVideo(t, path, Options{Codec: c.codec, Width: c.w, Height: c.h, Rate: rate}, cfrTimes(4, rate), sharpFrame)
			frames, w, h := readFrames(t, path)
			if len(frames) != 4 || w != c.readW || h != c.readH {
				t.Fatalf("read %d frames of %dx%d, want 4 of %dx%d", len(frames), w, h, c.readW, c.readH)
			}
			for i, got := range frames {
				if c.codec == FFV1 && !bytes.Equal(got, sharpFrame(c.w, c.h, i)) {
					t.Errorf("frame %d differs from the frame written", i)
				}
			}
		})
	}
}
