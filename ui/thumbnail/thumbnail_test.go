package thumbnail

import (
	"image"
	"image/color"
	"testing"

	"facemirror/ui/backend"
)

func TestRenderSize(t *testing.T) {
	tests := []struct {
		w, h         int
		wantW, wantH int
	}{
		{1920, 1080, 320, 180}, // landscape, width-bound
		{480, 360, 320, 240},   // 4:3 fits exactly
		{720, 1280, 135, 240},  // phone portrait, height-bound
		{100, 50, 100, 50},     // small frames are not enlarged
		{5000, 1, 320, 1},      // a degenerate strip keeps one row
	}
	for _, tc := range tests {
		got := Render(image.NewRGBA(image.Rect(0, 0, tc.w, tc.h)), nil, 320, 240).Bounds()
		if got != image.Rect(0, 0, tc.wantW, tc.wantH) {
			t.Errorf("%dx%d -> %v, want %dx%d", tc.w, tc.h, got, tc.wantW, tc.wantH)
		}
	}
	if Render(image.NewRGBA(image.Rect(0, 0, 0, 10)), nil, 320, 240) != nil {
		t.Error("an empty frame gave an image")
	}
}

func TestShrinkAverages(t *testing.T) {
	// A 4x2 checkerboard of black and white, shrunk to 2x1, averages to
	// mid grey: (0+255+255+0)/4 = 127.5, rounded half up to 128.
	src := image.NewRGBA(image.Rect(0, 0, 4, 2))
	for y := 0; y < 2; y++ {
		for x := 0; x < 4; x++ {
			v := uint8(0)
			if (x+y)%2 == 1 {
				v = 255
			}
			src.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	got := shrink(src, 2, 1)
	for x := 0; x < 2; x++ {
		if c := got.RGBAAt(x, 0); c != (color.RGBA{128, 128, 128, 255}) {
			t.Errorf("pixel %d = %v, want grey 128", x, c)
		}
	}
}

func TestShrinkOffsetAndGenericImages(t *testing.T) {
	// The RGBA fast path and the generic path (here a grey image with
	// non-zero origin) must agree.
	gray := image.NewGray(image.Rect(10, 20, 70, 60))
	rgba := image.NewRGBA(image.Rect(10, 20, 70, 60))
	for y := 20; y < 60; y++ {
		for x := 10; x < 70; x++ {
			v := uint8((x*7 + y*13) % 256)
			gray.SetGray(x, y, color.Gray{v})
			rgba.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	a, b := shrink(gray, 17, 11), shrink(rgba, 17, 11)
	for i := range a.Pix {
		if a.Pix[i] != b.Pix[i] {
			t.Fatalf("byte %d: generic %d, fast %d", i, a.Pix[i], b.Pix[i])
		}
	}
	// Pixel (0,0) averages source rows 20..22 and columns 10..12.
	var sum int
	for y := 20; y < 23; y++ {
		for x := 10; x < 13; x++ {
			sum += (x*7 + y*13) % 256
		}
	}
	if want := uint8((sum + 4) / 9); a.Pix[0] != want {
		t.Errorf("pixel (0,0) = %d, want %d", a.Pix[0], want)
	}
}

func TestRenderDrawsFaceBox(t *testing.T) {
	frame := image.NewRGBA(image.Rect(0, 0, 640, 480))
	face := &backend.FaceBox{X: 100, Y: 50, Width: 200, Height: 300, Confidence: 0.99}
	img := Render(frame, face, 320, 240)
	// Scale 0.5: the box is (50,25)-(150,175); lines are 4 px (240/50).
	if lw := LineWidth(320, 240); lw != 4 {
		t.Fatalf("LineWidth(320, 240) = %d, want 4", lw)
	}
	black := color.RGBA{0, 0, 0, 0}
	for _, tc := range []struct {
		x, y int
		want color.RGBA
	}{
		{50, 25, faceColor}, {149, 174, faceColor}, // corners
		{53, 100, faceColor}, {54, 100, black}, // left edge: 4 px thick
		{100, 28, faceColor}, {100, 29, black}, // top edge
		{146, 100, faceColor}, {145, 100, black}, // right edge
		{49, 100, black}, {150, 100, black}, {100, 175, black}, // just outside
		{100, 100, black}, // inside the face is untouched
	} {
		if got := img.RGBAAt(tc.x, tc.y); got != tc.want {
			t.Errorf("pixel (%d,%d) = %v, want %v", tc.x, tc.y, got, tc.want)
		}
	}
}

func TestRenderClipsFaceBox(t *testing.T) {
	// A face cut by the frame's edge is drawn as far as the frame goes.
	frame := image.NewRGBA(image.Rect(0, 0, 320, 240))
	img := Render(frame, &backend.FaceBox{X: -40, Y: 200, Width: 100, Height: 100}, 320, 240)
	if got := img.RGBAAt(0, 200); got != faceColor {
		t.Errorf("top edge at x=0: %v, want face colour", got)
	}
	if got := img.RGBAAt(59, 239); got != faceColor {
		t.Errorf("right edge at the bottom row: %v, want face colour", got)
	}
	if got := img.RGBAAt(0, 239); got == faceColor {
		t.Error("the clipped-off left edge was drawn at x=0")
	}
}

// BenchmarkRender1080p measures preparing one thumbnail from a full-HD
// frame, which happens once per added video, off the UI goroutine.
func BenchmarkRender1080p(b *testing.B) {
	frame := image.NewRGBA(image.Rect(0, 0, 1920, 1080))
	for i := range frame.Pix {
		frame.Pix[i] = uint8(i)
	}
	face := &backend.FaceBox{X: 800, Y: 300, Width: 300, Height: 400}
	b.ReportAllocs()
	for b.Loop() {
		Render(frame, face, 320, 240)
	}
}
