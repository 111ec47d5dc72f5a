package app

import (
	"testing"

	"facemirror/app/worker"
	"facemirror/internal/sharedtest"
)

// BenchmarkDetectFirstFrame measures a detect request for v01's first frame
// through a running helper: open the video, decode, MTCNN on ONNX Runtime
// (CPU, one thread), stream the result.
func BenchmarkDetectFirstFrame(b *testing.B) {
	useRealHelpers(b)
	ctx := b.Context()
	c, err := worker.Start(ctx, HelperConfig{EP: "cpu"}.Options())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := DetectRequest{Path: sharedtest.Media(b, "videos/v01_talking_frontal_glasses_480x360.mp4")}
	for b.Loop() {
		if res, err := Detect(ctx, c, req, nil); err != nil || res.Analysed != 1 {
			b.Fatal(err, res)
		}
	}
}
