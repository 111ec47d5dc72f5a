package mirror

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestRateYaw(t *testing.T) {
	tests := []struct {
		deg  float64
		want YawRating
	}{
		{0, YawOptimal}, {2.9, YawOptimal}, {3, YawOptimal}, {-3, YawOptimal},
		{3.0001, YawAcceptable}, {-4, YawAcceptable}, {5, YawAcceptable}, {-5, YawAcceptable},
		{5.0001, YawExcessive}, {-30, YawExcessive}, {math.Inf(1), YawExcessive}, {math.NaN(), YawExcessive},
	}
	for _, tc := range tests {
		if got := RateYaw(tc.deg); got != tc.want {
			t.Errorf("RateYaw(%v) = %v, want %v", tc.deg, got, tc.want)
		}
	}
	for r, want := range map[YawRating]string{
		YawOptimal: "optimal", YawAcceptable: "acceptable", YawExcessive: "excessive head rotation", YawRating(9): "YawRating(9)",
	} {
		if got := r.String(); got != want {
			t.Errorf("YawRating(%d).String() = %q, want %q", int(r), got, want)
		}
	}
}

func TestBannerText(t *testing.T) {
	tests := []struct {
		d    Debug
		want string
	}{
		{Debug{Face: true, YawDeg: 2.14}, "Yaw 2.1°  optimal"},
		{Debug{Face: true, YawDeg: -4.5}, "Yaw -4.5°  acceptable"},
		{Debug{Face: true, YawDeg: 12}, "Yaw 12.0°  excessive head rotation"},
		{Debug{Face: false, YawDeg: 1}, "no face in this frame"},
	}
	for _, tc := range tests {
		if got := bannerText(tc.d); got != tc.want {
			t.Errorf("bannerText(%+v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func greyImage(w, h int) Image {
	m := NewImage(w, h)
	for i := range m.Pix {
		m.Pix[i] = 128
	}
	return m
}

func bgr(c color.RGBA) [3]byte { return [3]byte{c.B, c.G, c.R} }

func pixel(m Image, x, y int) [3]byte {
	p := at(m, x, y)
	return [3]byte{p[0], p[1], p[2]}
}

// faceLandmarks returns 68 points spread over a face-sized ellipse.
func faceLandmarks(cx, cy, r float64) []Point {
	pts := make([]Point, 68)
	for i := range pts {
		a := 2 * math.Pi * float64(i) / 68
		k := 0.4 + 0.6*float64(i%5)/4
		pts[i] = Point{cx + k*0.8*r*math.Cos(a), cy + k*r*math.Sin(a)}
	}
	return pts
}

func TestDrawDebugBanner(t *testing.T) {
	for _, h := range []int{360, 1080} {
		w := h * 16 / 9
		for _, d := range []Debug{
			{Face: true, YawDeg: 1},
			{Face: true, YawDeg: -4},
			{Face: true, YawDeg: 9},
			{Face: false, YawDeg: 1},
		} {
			img := greyImage(w, h)
			d.Line = Line{Point{float64(w) / 2, 10}, Point{float64(w) / 2, 20}}
			DrawDebug(img, d)
			b := bannerFor(d)
			// The far right of the banner has no text.
			if got, want := pixel(img, w-2, 1), bgr(b.bg); got != want {
				t.Errorf("%dp, %+v: banner is %v, want %v", h, d, got, want)
			}
			// Some of its left part is text.
			text := 0
			for y := range h / 20 {
				for x := range w / 4 {
					if pixel(img, x, y) == bgr(b.fg) {
						text++
					}
				}
			}
			if text < h/2 {
				t.Errorf("%dp, %+v: only %d text pixels", h, d, text)
			}
			// Below the banner the frame is untouched away from the line.
			if got := pixel(img, 5, h/2); got != [3]byte{128, 128, 128} {
				t.Errorf("%dp: frame below the banner changed to %v", h, got)
			}
		}
	}
	// Each rating has its own colour.
	seen := map[color.RGBA]bool{}
	for _, d := range []Debug{{Face: true, YawDeg: 0}, {Face: true, YawDeg: 4}, {Face: true, YawDeg: 6}, {}} {
		seen[bannerFor(d).bg] = true
	}
	if len(seen) != 4 {
		t.Errorf("banner colours are not distinct: %v", seen)
	}
}

func TestDrawDebugLine(t *testing.T) {
	const w, h = 200, 120
	lc := lineColour
	tests := []struct {
		name string
		line Line
		// pixels on the line at the frame's edges
		edges [][2]int
	}{
		// Through (100, 50) and (110, 70): x = 100 + (y − 50)/2.
		{"steep, crossing top and bottom", Line{Point{100, 50}, Point{110, 70}}, [][2]int{{75, 0}, {135, 119}}},
		// Chin above the glabella: the same line.
		{"steep, reversed", Line{Point{110, 70}, Point{100, 50}}, [][2]int{{75, 0}, {135, 119}}},
		// y = 60 + (x − 100)/4: crosses the left and right edges.
		{"flat", Line{Point{100, 60}, Point{140, 70}}, [][2]int{{0, 35}, {199, 85}}},
		// Glabella and chin both outside the frame.
		// x = (y + 300)/4, through (0, −300) and (10, −260).
		{"points outside", Line{Point{0, -300}, Point{10, -260}}, [][2]int{{75, 0}, {105, 119}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := greyImage(w, h)
			DrawDebug(img, Debug{Line: tc.line})
			for _, e := range tc.edges {
				if got := pixel(img, e[0], e[1]); got != lc {
					t.Errorf("pixel %v on the line is %v, want %v", e, got, lc)
				}
			}
			// Every row (or column) of the frame is crossed.
			for y := range h {
				found := false
				for x := range w {
					found = found || pixel(img, x, y) == lc
				}
				if !found && tc.name != "flat" {
					t.Errorf("row %d has no line pixel", y)
				}
			}
		})
	}
}

func TestDrawDebugLandmarks(t *testing.T) {
	const w, h = 320, 180
	lm := []Point{{100, 100}, {150, 120}, {200, 90}}
	for _, face := range []bool{true, false} {
		img := greyImage(w, h)
		DrawDebug(img, Debug{Face: face, Line: Line{Point{10, 0}, Point{10, 10}}, Landmarks: lm})
		for _, p := range lm {
			got := pixel(img, int(p.X), int(p.Y))
			if face && got != landmarkColour {
				t.Errorf("landmark %v is %v, want %v", p, got, landmarkColour)
			}
			if !face && got != [3]byte{128, 128, 128} {
				t.Errorf("frame without a face: landmark %v drawn (%v)", p, got)
			}
		}
	}
}

// TestDrawDebugNoPanic draws on tiny frames, padded strides, invalid
// images and degenerate or far-away lines and landmarks.
func TestDrawDebugNoPanic(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	lines := []Line{
		{Point{4, 0}, Point{4, 8}},
		{Point{0, 0}, Point{0, 0}},
		{Point{nan, 0}, Point{1, 1}},
		{Point{inf, 0}, Point{1, 1}},
		{Point{-1e308, -1e308}, Point{1e308, 1e308}},
		{Point{1e12, 0}, Point{1e12 + 1, 1e6}},
		{Point{0, 5}, Point{1e-300, 5}},
	}
	pts := []Point{{0, 0}, {-5, 3}, {1e300, 1e300}, {nan, 2}, {3, inf}, {7.9, 7.9}}
	images := []Image{
		NewImage(8, 8), NewImage(1, 1), NewImage(2, 1), NewImage(1, 3), NewImage(0, 0),
		{Pix: make([]byte, 40), Width: 3, Height: 3, Stride: 13},
		{Pix: make([]byte, 5), Width: 3, Height: 3, Stride: 9},
		{Pix: nil, Width: -1, Height: 4, Stride: 0},
		{Pix: make([]byte, 30), Width: math.MaxInt / 2, Height: math.MaxInt / 8, Stride: 3},
		{Pix: make([]byte, 30), Width: 2, Height: math.MaxInt / 16, Stride: 1 << 10},
	}
	for _, img := range images {
		for _, l := range lines {
			for _, face := range []bool{true, false} {
				DrawDebug(img, Debug{Face: face, Line: l, Landmarks: pts, YawDeg: nan})
			}
		}
	}
}

// TestDrawDebugNarrowFrame checks that the text shrinks to fit a portrait
// frame rather than being cut off.
func TestDrawDebugNarrowFrame(t *testing.T) {
	img := greyImage(240, 640)
	d := Debug{Face: true, YawDeg: 20, Line: Line{Point{-50, 0}, Point{-50, 1}}}
	DrawDebug(img, d)
	fg := bgr(bannerFor(d).fg)
	last := -1
	for x := range img.Width {
		for y := range 50 {
			if pixel(img, x, y) == fg {
				last = x
			}
		}
	}
	if last < 0 || last > img.Width-5 {
		t.Errorf("text ends at x = %d on a %d-pixel-wide frame", last, img.Width)
	}
}

func toRGBA(m Image) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, m.Width, m.Height))
	for y := range m.Height {
		for x := range m.Width {
			p := at(m, x, y)
			out.Set(x, y, color.RGBA{p[2], p[1], p[0], 255})
		}
	}
	return out
}

// TestWritePreviews writes debug frames and a mirrored frame as PNG, into
// the folder named by MIRROR_PREVIEW_DIR to look at by eye, else into a
// temporary folder (the drawing still runs at both sizes).
func TestWritePreviews(t *testing.T) {
	dir := os.Getenv("MIRROR_PREVIEW_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	save := func(name string, m Image) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := png.Encode(f, toRGBA(m)); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range []int{360, 1080} {
		w := h * 16 / 9
		s := float64(h) / 360
		line := Line{Point{325 * s, 100 * s}, Point{315 * s, 280 * s}}
		for i, d := range []Debug{
			{Face: true, YawDeg: 2.1},
			{Face: true, YawDeg: -4.4},
			{Face: true, YawDeg: 7.8},
			{Face: false},
		} {
			img := greyImage(w, h)
			d.Line, d.Landmarks = line, faceLandmarks(320*s, 190*s, 100*s)
			DrawDebug(img, d)
			name := fmt.Sprintf("mirror_debug_%d_%d.png", h, i)
			if h == 360 && i == 0 {
				name = "mirror_debug.png"
			}
			save(name, img)
		}
	}
	// A synthetic face: features on the image's left (patient's right).
	const w, h = 640, 360
	src := greyImage(w, h)
	for y := range h {
		for x := range w {
			dx, dy := float64(x-320)/110, float64(y-190)/150
			if dx*dx+dy*dy < 1 {
				copy(at(src, x, y), []byte{150, 180, 220})
			}
			if ex, ey := float64(x-270)/25, float64(y-160)/10; ex*ex+ey*ey < 1 {
				copy(at(src, x, y), []byte{60, 40, 30})
			}
			if x > 250 && x < 300 && y > 240 && y < 250 {
				copy(at(src, x, y), []byte{60, 60, 200})
			}
		}
	}
	tilt := 8 * math.Pi / 180
	l := Line{Point{320, 120}, Point{320 - 180*math.Sin(tilt), 120 + 180*math.Cos(tilt)}}
	right, left := NewImage(w, h), NewImage(w, h)
	if err := MirrorBoth(right, left, src, l); err != nil {
		t.Fatal(err)
	}
	save("mirror_source.png", src)
	save("mirror_mirrored.png", right)
	save("mirror_mirrored_left.png", left)
}

// TestDebugPainterReuse draws a video's frames with one painter, sizes and
// texts changing between them, and compares each with a fresh drawing: what
// the painter keeps must never show through.
func TestDebugPainterReuse(t *testing.T) {
	var p DebugPainter
	frames := []struct {
		w, h int
		d    Debug
	}{
		{640, 360, Debug{Face: true, YawDeg: 1.2}},
		{640, 360, Debug{Face: false}},
		{640, 360, Debug{Face: true, YawDeg: -17.5}},
		{120, 360, Debug{Face: true, YawDeg: 42}}, // text shrunk to fit
		{1920, 1080, Debug{Face: true, YawDeg: 4}},
		{640, 360, Debug{Face: true, YawDeg: 1.2}},
	}
	for i, f := range frames {
		line := Line{Point{float64(f.w) / 2, 0}, Point{float64(f.w)/2 + 3, float64(f.h)}}
		f.d.Line = line
		f.d.Landmarks = faceLandmarks(float64(f.w)/2, float64(f.h)/2, float64(f.h)/4)
		got, want := greyImage(f.w, f.h), greyImage(f.w, f.h)
		p.Draw(got, f.d)
		DrawDebug(want, f.d)
		if !bytes.Equal(got.Pix, want.Pix) {
			t.Errorf("frame %d (%dx%d, %+v): the reused painter drew something else", i, f.w, f.h, f.d)
		}
	}
}
