package app

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"facemirror/app/helper"
	"facemirror/internal/sharedtest"
)

// TestDesktopServesTheWindow checks what the window shows for a real video,
// a video too small for the detector and an unreadable file.
func TestDesktopServesTheWindow(t *testing.T) {
	useRealHelpers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d := NewDesktop(ctx, helper.Config{})
	defer d.Close()

	v01 := sharedtest.Media(t, "videos/v01_talking_frontal_glasses_480x360.mp4")
	info, err := d.Probe(ctx, v01)
	if err != nil || info.Frames != 300 || info.Width != 480 || info.Height != 360 {
		t.Fatalf("Probe(v01) = %d frames %dx%d, %v; want 300 frames 480x360", info.Frames, info.Width, info.Height, err)
	}
	frame, face, err := d.FirstFrame(ctx, v01)
	if err != nil || face == nil {
		t.Fatalf("FirstFrame(v01) = face %v, %v; want a face", face, err)
	}
	if b := frame.Bounds(); b.Dx() != 480 || b.Dy() != 360 {
		t.Fatalf("first frame is %v, want 480x360", b)
	}
	// OpenFace's corrected box on v01 frame 0 (reference/mtcnn/mtcnn_boxes.csv).
	ref := readMTCNNReference(t, "v01_talking_frontal_glasses_480x360")[0]
	for _, d := range []float32{face.Box.X - ref.box.X, face.Box.Y - ref.box.Y, face.Box.W - ref.box.W, face.Box.H - ref.box.H} {
		if math.Abs(float64(d)) > 1e-3 {
			t.Fatalf("box %+v, OpenFace %+v", face.Box, ref.box)
		}
	}

	b07 := sharedtest.Media(t, "bad/b07_tiny_32x32_real_face_3s.mp4")
	if _, _, err := d.FirstFrame(ctx, b07); err == nil || !strings.Contains(err.Error(), "too small") {
		t.Errorf("FirstFrame(b07) error = %v, want the detector's too-small message", err)
	}
	b03 := sharedtest.Media(t, "bad/b03_random_bytes_1MiB.mp4")
	if _, err := d.Probe(ctx, b03); err == nil || !strings.Contains(err.Error(), "not a video or image file") {
		t.Errorf("Probe(b03) error = %v, want 'not a video or image file'", err)
	}

	facts, err := d.About(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range facts {
		got[f.Name] = f.Value
	}
	if !strings.HasPrefix(got["ONNX Runtime"], "1.24.3;") || !strings.Contains(got["ONNX Runtime"], "in use: cpu") {
		t.Errorf("About ONNX Runtime = %q", got["ONNX Runtime"])
	}
	if !strings.Contains(got["OpenCV"], "4.6.0") || got["FaceMirror"] == "" {
		t.Errorf("About facts = %v", got)
	}
}
