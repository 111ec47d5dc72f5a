package encode

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"facemirror/internal/sharedtest"
	"facemirror/pipeline/video"
)

// Frames queued prepared (Prepare on one goroutine, WriteFrame on
// another) make the same file, byte for byte, as Write: even and odd
// sizes, both codecs. Frames are prepared into two Frames in turn, as a
// queue reuses them.
func TestPrepareMatchesWrite(t *testing.T) {
	rate := video.Rational{Num: 30000, Den: 1001}
	for _, codec := range codecs {
		for _, size := range [][2]int{{64, 48}, {65, 49}} {
			t.Run(fmt.Sprintf("%s/%dx%d", codec, size[0], size[1]), func(t *testing.T) {
				t.Parallel()
				const n = 8
				dir := t.TempDir()
				opts := Options{Codec: codec, Width: size[0], Height: size[1], Rate: rate}
				direct := filepath.Join(dir, "direct"+codec.Ext())
				writeVideo(t, direct, opts, cfrTimes(n, rate), sharpFrame)

				queued := filepath.Join(dir, "queued"+codec.Ext())
				w, err := Create(context.Background(), queued, opts)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Abort()
				prepared := make(chan *Frame)
				errs := make(chan error, 1)
				go func() {
					var pool [2]Frame
					for i := range n {
						f := &pool[i%2]
						if err := w.Prepare(f, sharpFrame(opts.Width, opts.Height, i)); err != nil {
							errs <- err
							close(prepared)
							return
						}
						prepared <- f
					}
					close(prepared)
					errs <- nil
				}()
				times := cfrTimes(n, rate)
				i := 0
				for f := range prepared {
					if err := w.WriteFrame(f, times[i]); err != nil {
						t.Fatal(err)
					}
					i++
				}
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
				if err := w.Commit(); err != nil {
					t.Fatal(err)
				}
				a, err := os.ReadFile(direct)
				if err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(queued)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a, b) {
					t.Errorf("Prepare+WriteFrame wrote %d bytes, Write %d, and they differ", len(b), len(a))
				}
			})
		}
	}
}

// Prepare refuses a frame of the wrong size without harming the Writer;
// WriteFrame refuses a Frame prepared for another size, finally.
func TestPrepareWrongSize(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rate := video.Rational{Num: 25, Den: 1}
	w, err := Create(ctx, filepath.Join(dir, "a.mp4"), Options{Codec: H264, Width: 64, Height: 48, Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	var f Frame
	if err := w.Prepare(&f, make([]byte, 10)); err == nil || !strings.Contains(err.Error(), "has 10 bytes, want 9216") {
		t.Errorf("Prepare of 10 bytes: %v", err)
	}
	if err := w.Prepare(&f, sharpFrame(64, 48, 0)); err != nil {
		t.Fatalf("Prepare after a refused frame: %v", err)
	}
	other, err := Create(ctx, filepath.Join(dir, "b.mp4"), Options{Codec: H264, Width: 32, Height: 32, Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Abort()
	if err := other.WriteFrame(&f, 0); err == nil || !strings.Contains(err.Error(), "prepared frame of 4608 bytes, want 1536") {
		t.Errorf("WriteFrame of another Writer's frame: %v", err)
	}
	if entries := dirEntries(t, dir); len(entries) != 1 {
		t.Errorf("after the failed Writer the folder holds %v, want only a's temporary file", entries)
	}
}

// One PlanAudio serves several Writers: the audio comes out as with
// AudioFrom. A plan made for the other codec is refused.
func TestPlanAudioShared(t *testing.T) {
	ctx := context.Background()
	src := sharedtest.Media(t, "videos/v10_grid_talking_frontal_mpeg1_360x288.mpg")
	a, err := PlanAudio(ctx, "", src, H264)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rate := video.Rational{Num: 25, Den: 1}
	for _, name := range []string{"left.mp4", "right.mp4"} {
		path := filepath.Join(dir, name)
		writeVideo(t, path, Options{Codec: H264, Width: 64, Height: 48, Rate: rate, Audio: a}, cfrTimes(10, rate), smoothFrame)
		audio := streamsOfType(ffprobeStreams(t, path), "audio")
		if len(audio) != 1 || audio[0].CodecName != "aac" {
			t.Errorf("%s: audio streams %+v, want one AAC (MPEG-1 Layer II converted for .mp4)", name, audio)
		}
	}
	_, err = Create(ctx, filepath.Join(dir, "x.mkv"), Options{Codec: FFV1, Width: 64, Height: 48, Rate: rate, Audio: a})
	if err == nil || !strings.Contains(err.Error(), "planned for h264, not ffv1") {
		t.Errorf("FFV1 with an H.264 plan: %v", err)
	}
	if _, err := PlanAudio(ctx, "", src, Codec("vp9")); err == nil {
		t.Error("PlanAudio accepted codec vp9")
	}
	if _, err := PlanAudio(ctx, "", filepath.Join(dir, "missing.mp4"), H264); err == nil || !strings.Contains(err.Error(), "missing.mp4") {
		t.Errorf("PlanAudio of a missing file: %v", err)
	}
}
