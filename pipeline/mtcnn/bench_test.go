package mtcnn

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"facemirror/internal/sharedtest"
	"facemirror/models/cnn"

	"gocv.io/x/gocv"
)

// benchFrame returns frame 0 of a shared video, which the caller closes.
func benchFrame(b *testing.B, rel string) gocv.Mat {
	b.Helper()
	var out gocv.Mat
	forEachFrame(b, sharedtest.Media(b, rel), []int{0}, func(_ int, img gocv.Mat) { out = img.Clone() })
	return out
}

func benchDetect(b *testing.B, rel string, w, h int) {
	img := benchFrame(b, rel)
	defer img.Close()
	if img.Cols() != w || img.Rows() != h {
		b.Fatalf("%s is %dx%d, want %dx%d", rel, img.Cols(), img.Rows(), w, h)
	}
	det := newTestDetector(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		faces, err := det.Detect(ctx, img)
		if err != nil {
			b.Fatal(err)
		}
		if len(faces) == 0 {
			b.Fatal("no face")
		}
	}
}

// BenchmarkDetect640x360 is one v02 frame with the plain-Go networks.
func BenchmarkDetect640x360(b *testing.B) {
	benchDetect(b, mediaPath["v02_emotions_sad_to_laughing_640x360_pexels"], 640, 360)
}

// BenchmarkDetect1920x1080 is one d04 frame with the plain-Go networks.
func BenchmarkDetect1920x1080(b *testing.B) {
	benchDetect(b, "derived/d04_emotions_upscaled_1920x1080_19.7s.mp4", 1920, 1080)
}

// replay is a Runner that returns outputs recorded from a real network, in
// call order, so a benchmark can time everything except the networks.
type replay struct {
	mu   sync.Mutex
	outs []cnn.Tensor
	next int
}

func (r *replay) Run(_ context.Context, in cnn.Tensor) (cnn.Tensor, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.outs) == 0 {
		return cnn.Tensor{}, fmt.Errorf("replay: nothing recorded")
	}
	out := r.outs[r.next%len(r.outs)]
	r.next++
	return out, nil
}

// recorder wraps a Runner and keeps its outputs for a replay.
type recorder struct {
	net  cnn.Runner
	outs []cnn.Tensor
}

func (r *recorder) Run(ctx context.Context, in cnn.Tensor) (cnn.Tensor, error) {
	out, err := r.net.Run(ctx, in)
	if err == nil {
		r.outs = append(r.outs, out)
	}
	return out, err
}

// BenchmarkDetectOverhead1920x1080 times the detector without the networks
// (their outputs on the same d04 frame are replayed): float conversion,
// pyramid resizes, OpenCV exp, box arithmetic, NMS and the RNet/ONet crops.
func BenchmarkDetectOverhead1920x1080(b *testing.B) {
	img := benchFrame(b, "derived/d04_emotions_upscaled_1920x1080_19.7s.mp4")
	defer img.Close()
	p, r, o := loadNets(b)
	rec := [3]*recorder{{net: p}, {net: r}, {net: o}}
	ctx := context.Background()
	if _, err := New(rec[0], rec[1], rec[2], DefaultOptions()).Detect(ctx, img); err != nil {
		b.Fatal(err)
	}
	det := New(&replay{outs: rec[0].outs}, &replay{outs: rec[1].outs}, &replay{outs: rec[2].outs}, DefaultOptions())
	b.ResetTimer()
	for b.Loop() {
		faces, err := det.Detect(ctx, img)
		if err != nil {
			b.Fatal(err)
		}
		if len(faces) == 0 {
			b.Fatal("no face")
		}
	}
}
