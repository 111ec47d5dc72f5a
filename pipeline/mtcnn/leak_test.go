//go:build matprofile

package mtcnn

import (
	"context"
	"testing"

	"facemirror/internal/sharedtest"

	"gocv.io/x/gocv"
)

// TestDetectClosesMats runs with `go test -tags matprofile`: gocv then
// counts live Mats, and Detect must leave none behind, whether it finds a
// face, finds none or rejects the image.
func TestDetectClosesMats(t *testing.T) {
	det := newTestDetector(t)
	inputs := []string{
		sharedtest.Media(t, mediaPath["v01_talking_frontal_glasses_480x360"]),
		sharedtest.Media(t, "bad/b06_valid_no_face_testsrc_640x480_5s.mp4"),
		sharedtest.Media(t, "bad/b07_tiny_32x32_real_face_3s.mp4"),
	}
	for _, path := range inputs {
		forEachFrame(t, path, []int{0}, func(_ int, img gocv.Mat) {
			before := gocv.MatProfile.Count()
			if _, err := det.Detect(context.Background(), img); err != nil {
				t.Logf("%s: %v", path, err)
			}
			if after := gocv.MatProfile.Count(); after != before {
				t.Errorf("%s: %d Mats open after Detect, %d before", path, after, before)
			}
		})
	}
}
