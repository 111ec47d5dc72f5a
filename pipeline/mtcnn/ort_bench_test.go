package mtcnn

import (
	"context"
	"path/filepath"
	"testing"

	"facemirror/internal/sharedtest"
	"facemirror/models/cnn"
	"facemirror/models/onnxconv"
	"facemirror/pipeline/onnxrt"
)

// ortDetector builds the detector the helpers run: the three networks
// converted to ONNX and run by ONNX Runtime on one thread.
func ortDetector(b *testing.B) *Detector {
	b.Helper()
	rt, err := onnxrt.Open(onnxrt.Options{Library: filepath.Join(sharedtest.Root(), ".ort", onnxrt.LibraryName()), EP: onnxrt.EPCPU, Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(sharedtest.Models(b), "model", "mtcnn_detector")
	var runners [3]cnn.Runner
	for i, name := range []string{"PNet", "RNet", "ONet"} {
		net, err := cnn.Load(filepath.Join(dir, name+".dat"))
		if err != nil {
			b.Fatal(err)
		}
		model, err := onnxconv.Convert(net, name)
		if err != nil {
			b.Fatal(err)
		}
		s, err := rt.NewSession(model, name)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		runners[i] = s
	}
	return New(runners[0], runners[1], runners[2], DefaultOptions())
}

func benchDetectORT(b *testing.B, rel string) {
	img := benchFrame(b, rel)
	defer img.Close()
	det := ortDetector(b)
	ctx := context.Background()
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

// BenchmarkDetectORT640x360 is one v02 frame through ONNX Runtime (one
// thread): the detector as the helpers run it.
func BenchmarkDetectORT640x360(b *testing.B) {
	benchDetectORT(b, mediaPath["v02_emotions_sad_to_laughing_640x360_pexels"])
}

// BenchmarkDetectORT1920x1080 is one d04 frame through ONNX Runtime.
func BenchmarkDetectORT1920x1080(b *testing.B) {
	benchDetectORT(b, "derived/d04_emotions_upscaled_1920x1080_19.7s.mp4")
}
