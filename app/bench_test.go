package app

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"facemirror/app/helper"
	"facemirror/app/worker"
	"facemirror/internal/sharedtest"
	"facemirror/pipeline/openface"
)

// BenchmarkDetectFirstFrame measures a detect request for v01's first frame
// through a running helper: open the video, decode, MTCNN on ONNX Runtime
// (CPU, one thread), stream the result.
func BenchmarkDetectFirstFrame(b *testing.B) {
	useRealHelpers(b)
	ctx := b.Context()
	c, err := worker.Start(ctx, helper.Config{EP: "cpu"}.Options())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := helper.DetectRequest{Path: sharedtest.Media(b, "videos/v01_talking_frontal_glasses_480x360.mp4")}
	for b.Loop() {
		if res, err := helper.Detect(ctx, c, req, nil); err != nil || res.Analysed != 1 {
			b.Fatal(err, res)
		}
	}
}

// syntheticFrameResult is a successful frame's result with the sizes of a
// real one (68 landmarks, 34 modes, 4,464 HOG values) and values of
// realistic magnitude.
func syntheticFrameResult() openface.FrameResult {
	rng := rand.New(rand.NewPCG(1, 2))
	vals := func(n int, scale float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = scale * rng.Float32()
		}
		return v
	}
	return openface.FrameResult{
		Success: true, Confidence: 0.98, AUSuccess: true,
		Landmarks: vals(136, 500), Local: vals(34, 20), Landmarks3D: vals(204, 600),
		AULocal: vals(34, 20), HOG: vals(4464, 0.3),
		Global: [6]float32{1.2, 0.1, 0.2, 0.05, 250, 180}, AUGlobal: [6]float32{1.1, 0.1, 0.2, 0.05, 250, 180},
		Pose: [6]float32{28, -44, 580, -0.03, 0.08, 0.01},
	}
}

// BenchmarkFrameWire measures what carrying one frame's result from a
// helper costs on each side: the binary encoding in its binary event's
// framing (what KindAnalyse sends), against plain JSON numbers.
func BenchmarkFrameWire(b *testing.B) {
	fr := syntheticFrameResult()
	b.Run("binary", func(b *testing.B) {
		var size int
		for b.Loop() {
			enc, err := fr.MarshalBinary()
			if err != nil {
				b.Fatal(err)
			}
			data, err := helper.AnalysedFrame{Index: 7, Result: enc}.MarshalBinary()
			if err != nil {
				b.Fatal(err)
			}
			size = len(data)
			var back helper.AnalysedFrame
			if err := back.UnmarshalBinary(data); err != nil {
				b.Fatal(err)
			}
			var got openface.FrameResult
			if err := got.UnmarshalBinary(back.Result); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(size), "bytes/frame")
	})
	b.Run("json-numbers", func(b *testing.B) {
		var size int
		for b.Loop() {
			data, err := json.Marshal(fr)
			if err != nil {
				b.Fatal(err)
			}
			size = len(data)
			var got openface.FrameResult
			if err := json.Unmarshal(data, &got); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(size), "bytes/frame")
	})
}
