package video

import (
	"context"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"facemirror/internal/sharedtest"
)

// haarCascadePath finds OpenCV's frontal-face Haar cascade: Debian's
// opencv-data package if installed, else the copy inside the gocv module
// this test is built with (always present in the module cache, which `go
// test` has just used).
func haarCascadePath(t *testing.T) string {
	t.Helper()
	const name = "haarcascade_frontalface_default.xml"
	candidates := []string{
		"/usr/share/opencv4/haarcascades/" + name,
		"/usr/share/opencv/haarcascades/" + name,
	}
	// The go command knows where the gocv module this test builds with
	// lives; its data folder ships the cascades.
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "gocv.io/x/gocv")
	cmd.Dir = sharedtest.Root()
	if out, err := cmd.Output(); err == nil {
		candidates = append(candidates, filepath.Join(strings.TrimSpace(string(out)), "data", name))
	} else {
		t.Logf("go list gocv.io/x/gocv: %v", err)
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	t.Fatalf("no %s in %v", name, candidates)
	return ""
}

// strongFaceNeighbors is the minNeighbors for a detection to count. On d01
// the upright face survives 20 neighbouring hits in every sampled frame
// while the upside-down face draws weaker, smaller hits (up to 10
// neighbours in 3 of 15 frames, 5 in 8 of 15), so 20 separates the two
// with room to spare.
const strongFaceNeighbors = 20

// faceCount runs the Haar detector on a BGR frame and counts strong faces
// at least a fifth of the frame's short side.
func faceCount(cascade *gocv.CascadeClassifier, bgr gocv.Mat) int {
	gray := gocv.NewMat()
	defer gray.Close()
	gocv.CvtColor(bgr, &gray, gocv.ColorBGRToGray)
	gocv.EqualizeHist(gray, &gray)
	minSize := min(bgr.Cols(), bgr.Rows()) / 5
	faces := cascade.DetectMultiScaleWithParams(gray, 1.1, strongFaceNeighbors, 0, image.Pt(minSize, minSize), image.Point{})
	return len(faces)
}

// TestPhoneVideoIsUpright proves d01 comes out upright: OpenCV's Haar
// frontal-face detector, trained on upright faces, finds a strong face in
// every sampled frame we return and in none of the same frames turned by
// 180 degrees (which is what OpenCV's own auto-rotation produces, see
// TestOpenCVAutoRotationIsUpsideDown).
func TestPhoneVideoIsUpright(t *testing.T) {
	path := sharedtest.Media(t, "derived/d01_portrait_rot90_meta_h264_stored1280x720.mp4")
	cascade := gocv.NewCascadeClassifier()
	defer cascade.Close()
	if !cascade.Load(haarCascadePath(t)) {
		t.Fatal("cannot load the Haar cascade")
	}

	r, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if info := r.Info(); info.Rotation != 270 || info.Width != 720 || info.Height != 1280 {
		t.Fatalf("rotation %d size %dx%d, want 270 and 720x1280", info.Rotation, info.Width, info.Height)
	}
	sampled, upright, flipped := 0, 0, 0
	for {
		f, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Index%25 == 0 {
			sampled++
			if faceCount(&cascade, f.Mat) > 0 {
				upright++
			}
			turned := gocv.NewMat()
			gocv.Rotate(f.Mat, &turned, gocv.Rotate180Clockwise)
			if faceCount(&cascade, turned) > 0 {
				flipped++
			}
			turned.Close()
		}
		f.Mat.Close()
	}
	t.Logf("faces found in %d of %d sampled frames upright, %d turned by 180°", upright, sampled, flipped)
	if sampled != 15 || upright != sampled || flipped != 0 {
		t.Errorf("face found in %d/%d upright frames and %d/%d turned frames; want all and none",
			upright, sampled, flipped, sampled)
	}
}

// TestOpenCVAutoRotationIsUpsideDown pins the defect the package works
// around: OpenCV 4.6's own orientation handling yields exactly our frame
// turned by 180 degrees.
func TestOpenCVAutoRotationIsUpsideDown(t *testing.T) {
	path := sharedtest.Media(t, "derived/d01_portrait_rot90_meta_h264_stored1280x720.mp4")
	c, err := gocv.VideoCaptureFileWithAPI(path, gocv.VideoCaptureFFmpeg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	auto := gocv.NewMat()
	defer auto.Close()
	if !c.Read(&auto) {
		t.Fatal("cannot read frame 0")
	}
	r, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Mat.Close()
	turned := gocv.NewMat()
	defer turned.Close()
	gocv.Rotate(f.Mat, &turned, gocv.Rotate180Clockwise)
	if auto.Cols() != 720 || auto.Rows() != 1280 {
		t.Fatalf("OpenCV's auto-rotated frame is %dx%d", auto.Cols(), auto.Rows())
	}
	if !sameMat(auto, turned) {
		t.Error("OpenCV's auto-rotated frame is not our frame turned by 180°: re-check the rotation direction")
	}
}

// sameMat reports whether two Mats hold identical bytes.
func sameMat(a, b gocv.Mat) bool {
	if a.Cols() != b.Cols() || a.Rows() != b.Rows() || a.Type() != b.Type() {
		return false
	}
	ab, err1 := a.DataPtrUint8()
	bb, err2 := b.DataPtrUint8()
	if err1 != nil || err2 != nil || !a.IsContinuous() || !b.IsContinuous() {
		return false
	}
	return string(ab) == string(bb)
}
