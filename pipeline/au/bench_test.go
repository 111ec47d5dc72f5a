package au

import (
	"context"
	"math/rand/v2"
	"testing"
)

// BenchmarkPredictFrame measures the 17 SVR and 18 SVM predictions of one
// frame (35 dot products of 4702 values, plus the input vectors).
func BenchmarkPredictFrame(b *testing.B) {
	a := newTestAnalyser(b)
	rng := rand.New(rand.NewPCG(1, 2))
	f := syntheticFrame(rng)
	x := make([]float64, FeatureLen)
	for i, v := range f.HOG {
		x[i] = float64(v)
	}
	a.geom.fill(x[HOGLen:], f.Local)
	out := [][]float64{make([]float64, a.nI+a.nO)}
	xs := [][]float64{x}
	for b.Loop() {
		a.scorer.score(out, xs, a.med, a.scratch)
	}
}

// BenchmarkAddFrame measures Analyser.Add per frame: geometry, the
// running-median update on every other frame, and the predictions.
func BenchmarkAddFrame(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	frames := make([]Frame, 64)
	for i := range frames {
		frames[i] = syntheticFrame(rng)
	}
	a := newTestAnalyser(b)
	i := 0
	for b.Loop() {
		if a.Frames() == 2*MaxRepredicted {
			b.StopTimer()
			a = newTestAnalyser(b)
			b.StartTimer()
		}
		if _, err := a.Add(frames[i%len(frames)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPostprocess900 measures the offline post-processing of a
// 900-frame video (30 s at 30 fps): re-prediction of every frame with the
// final medians, offsets, clamping and smoothing.
func BenchmarkPostprocess900(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	a := newTestAnalyser(b)
	for f := 0; f < 900; f++ {
		fr := syntheticFrame(rng)
		if f%97 == 50 {
			fr = Frame{}
		}
		if _, err := a.Add(fr); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := a.Postprocess(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
