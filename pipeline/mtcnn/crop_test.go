package mtcnn

import (
	"testing"

	"gocv.io/x/gocv"
)

// testImage returns a w×h CV_32FC3 image with distinct integer values per
// pixel and channel, and its pixels.
func testImage(t *testing.T, w, h int) (gocv.Mat, []float32) {
	t.Helper()
	img := make([]float32, w*h*3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := (y*w + x) * 3
			img[i] = float32((x + 10*y) % 256)        // B
			img[i+1] = float32((100 + x + 7*y) % 256) // G
			img[i+2] = float32((200 + 3*x + y) % 256) // R
		}
	}
	m, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV32FC3, floatBytes(img))
	if err != nil {
		t.Fatal(err)
	}
	return m, img
}

// TestCropCanvas checks the RNet/ONet canvas: (w+1)×(h+1), column j is image
// column x−1+j, pixels outside the image are raw 0 (normalised to
// −0.99609375), planes in R, G, B order. A 23-px box gives a 24×24 canvas,
// which OpenCV's resize copies unchanged, so the canvas is seen directly.
func TestCropCanvas(t *testing.T) {
	const w, h, side = 40, 30, 24
	m, img := testImage(t, w, h)
	defer m.Close()
	c := newCropper(m, img)
	defer c.Close()
	norm := func(v float32) float32 { return float32(v-127.5) * 0.0078125 }

	// Inside the image (region path), on each border, beyond it, and fully outside.
	for _, box := range [][2]int{{2, 3}, {17, 7}, {-3, -5}, {30, 20}, {0, 0}, {1, 1}, {38, 2}, {-30, 0}, {41, 31}} {
		bx, by := box[0], box[1]
		dst := make([]float32, 3*side*side)
		if err := c.crop(dst, bx, by, side-1, side-1, side); err != nil {
			t.Fatalf("box (%d,%d): %v", bx, by, err)
		}
		for j := 0; j < side; j++ {
			for i := 0; i < side; i++ {
				ix, iy := bx-1+i, by-1+j
				var b, g, r float32
				if ix >= 0 && ix < w && iy >= 0 && iy < h {
					p := (iy*w + ix) * 3
					b, g, r = img[p], img[p+1], img[p+2]
				}
				k := j*side + i
				if dst[k] != norm(r) || dst[side*side+k] != norm(g) || dst[2*side*side+k] != norm(b) {
					t.Fatalf("box (%d,%d) canvas (%d,%d): got RGB %v %v %v, want %v %v %v", bx, by, i, j,
						dst[k], dst[side*side+k], dst[2*side*side+k], norm(r), norm(g), norm(b))
				}
			}
		}
	}
	if err := c.crop(make([]float32, 3*side*side), 0, 0, -2, 5, side); err == nil {
		t.Error("negative canvas: no error")
	}
}

// TestCropRegionEqualsCanvas: for boxes inside the image the region
// shortcut must give exactly what the zero canvas gives, for shrinking,
// enlarging and the exact 2× shrink OpenCV handles as INTER_AREA.
func TestCropRegionEqualsCanvas(t *testing.T) {
	m, img := testImage(t, 200, 150)
	defer m.Close()
	c := newCropper(m, img)
	defer c.Close()
	for _, side := range []int{rnetSide, onetSide} {
		for _, b := range [][3]int{{1, 1, 47}, {5, 9, 95}, {20, 10, 60}, {3, 4, 13}, {100, 50, 99}, {150, 100, 50}, {7, 3, 146}} {
			x, y, s := b[0], b[1], b[2]
			a, want := make([]float32, 3*side*side), make([]float32, 3*side*side)
			if err := c.crop(a, x, y, s, s, side); err != nil {
				t.Fatal(err)
			}
			if err := c.cropCanvas(want, x, y, s, s, side); err != nil {
				t.Fatal(err)
			}
			for k := range a {
				if a[k] != want[k] {
					t.Fatalf("side %d box (%d,%d,%d): value %d region %v, canvas %v", side, x, y, s, k, a[k], want[k])
				}
			}
		}
	}
}

func TestScoreFromLogits(t *testing.T) {
	tests := []struct {
		nonFace, face float32
		want          float32
	}{
		{0, 0, 0.5},
		{-3, 4, float32(1 / (1 + 0.00091188196555451624))},
		{40, -40, float32(1 / (1 + float64(float32(5.540622384e34))))},
	}
	for _, tc := range tests {
		if got := scoreFromLogits(tc.nonFace, tc.face); got != tc.want {
			t.Errorf("score(%v,%v) = %.9g, want %.9g", tc.nonFace, tc.face, got, tc.want)
		}
	}
}
