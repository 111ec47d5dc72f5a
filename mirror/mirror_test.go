package mirror

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// coordImage returns a w×h image whose pixels are all distinct: B = x,
// G = y, R a mix of both (w, h ≤ 256).
func coordImage(w, h, stride int) Image {
	m := Image{Pix: make([]byte, (h-1)*stride+3*w), Width: w, Height: h, Stride: stride}
	for y := range h {
		for x := range w {
			i := y*stride + 3*x
			m.Pix[i], m.Pix[i+1], m.Pix[i+2] = byte(x), byte(y), byte(x*31+y*17)
		}
	}
	return m
}

func randomImage(rng *rand.Rand, w, h, stride int) Image {
	m := Image{Pix: make([]byte, (h-1)*stride+3*w), Width: w, Height: h, Stride: stride}
	for i := range m.Pix {
		m.Pix[i] = byte(rng.IntN(256))
	}
	return m
}

func at(m Image, x, y int) []byte {
	i := y*m.Stride + 3*x
	return m.Pix[i : i+3]
}

func clampInt(v, lo, hi int) int { return max(lo, min(v, hi)) }

// signedDist is the s of the package documentation, in float64.
func signedDist(l Line, x, y float64) float64 {
	dx, dy := l.Chin.X-l.Glabella.X, l.Chin.Y-l.Glabella.Y
	n := math.Hypot(dx, dy)
	return ((x-l.Glabella.X)*-dy + (y-l.Glabella.Y)*dx) / n
}

// keptWeight is the documented weight, in 1/256, of the original pixel at
// signed distance s in the picture that keeps side keep.
func keptWeight(s float64, keep Side) int {
	a := clampInt(128+int(math.Floor(256*s/BlendWidth+0.5)), 0, 256)
	if keep == Left {
		a = 256 - a
	}
	return a
}

func mustMirror(t *testing.T, src Image, l Line, keep Side) Image {
	t.Helper()
	dst := NewImage(src.Width, src.Height)
	if err := Mirror(dst, src, l, keep); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestMirrorPixelCentres uses midlines whose reflection maps pixel centres
// onto pixel centres, so that the expected bytes follow from the definition
// with integer arithmetic only: outside the band the kept side is src and
// the other side is src at the reflected pixel; inside it, the rounded mix.
func TestMirrorPixelCentres(t *testing.T) {
	const w, h = 41, 37
	tests := []struct {
		name    string
		line    Line
		reflect func(x, y int) (int, int)
	}{
		{"vertical through pixel centres x=20", Line{Point{20, 3}, Point{20, 30}}, func(x, y int) (int, int) { return 40 - x, y }},
		{"vertical between pixels x=17.5", Line{Point{17.5, 0}, Point{17.5, 1}}, func(x, y int) (int, int) { return 35 - x, y }},
		{"vertical upside down x=20", Line{Point{20, 30}, Point{20, 3}}, func(x, y int) (int, int) { return 40 - x, y }},
		{"45° through (5, 0)", Line{Point{5, 0}, Point{25, 20}}, func(x, y int) (int, int) { return y + 5, x - 5 }},
		{"-45° through (30, 0)", Line{Point{30, 0}, Point{10, 20}}, func(x, y int) (int, int) { return 30 - y, 30 - x }},
	}
	src := coordImage(w, h, 3*w)
	for _, tc := range tests {
		for _, keep := range []Side{Right, Left} {
			t.Run(tc.name+" keep "+keep.String(), func(t *testing.T) {
				got := mustMirror(t, src, tc.line, keep)
				bad := 0
				for y := range h {
					for x := range w {
						qx, qy := tc.reflect(x, y)
						refl := at(src, clampInt(qx, 0, w-1), clampInt(qy, 0, h-1))
						orig := at(src, x, y)
						s := signedDist(tc.line, float64(x), float64(y))
						kept := s >= 0 == (keep == Right)
						var want []byte
						switch {
						case math.Abs(s) >= BlendWidth/2 && kept:
							want = orig
						case math.Abs(s) >= BlendWidth/2:
							want = refl
						default:
							a := keptWeight(s, keep)
							want = make([]byte, 3)
							for c := range want {
								// round(a/256·orig + (1 − a/256)·refl), half up
								want[c] = byte((a*int(orig[c]) + (256-a)*int(refl[c]) + 128) >> 8)
							}
						}
						if g := at(got, x, y); !bytes.Equal(g, want) && bad < 5 {
							bad++
							t.Errorf("pixel (%d, %d), s=%.3f: got %v, want %v", x, y, s, g, want)
						}
					}
				}
			})
		}
	}
}

// TestMirrorHalfPixel checks the bilinear weights: the line x = 10.25 maps
// pixel x to 20.5 − x, halfway between two pixels.
func TestMirrorHalfPixel(t *testing.T) {
	src := coordImage(30, 5, 90)
	l := Line{Point{10.25, 0}, Point{10.25, 4}}
	got := mustMirror(t, src, l, Right)
	for y := range 5 {
		for x := 15; x < 20; x++ { // outside the band, on the reflected side
			a, b := at(src, 20-x, y), at(src, 21-x, y)
			for c := range 3 {
				// (a + b)/2, rounded half up
				if want := byte((int(a[c]) + int(b[c]) + 1) / 2); at(got, x, y)[c] != want {
					t.Errorf("pixel (%d, %d) channel %d: got %d, want %d", x, y, c, at(got, x, y)[c], want)
				}
			}
		}
	}
}

// TestMirrorSides paints the two sides of a 20°-tilted midline in two
// colours: the picture keeping the right half must be all of the s >= 0
// colour outside the band, the one keeping the left half all of the other.
func TestMirrorSides(t *testing.T) {
	const w, h = 160, 120
	tilt := 20 * math.Pi / 180
	l := Line{Point{80, 20}, Point{80 - 100*math.Sin(tilt), 20 + 100*math.Cos(tilt)}}
	rightColour, leftColour := []byte{10, 200, 30}, []byte{220, 40, 90}
	src := NewImage(w, h)
	for y := range h {
		for x := range w {
			if signedDist(l, float64(x), float64(y)) >= 0 {
				copy(at(src, x, y), rightColour)
			} else {
				copy(at(src, x, y), leftColour)
			}
		}
	}
	// The s >= 0 side must be the image's left for an upright face.
	if signedDist(l, 10, 60) < 0 {
		t.Fatal("test line: image left is not s >= 0")
	}
	for _, tc := range []struct {
		keep Side
		want []byte
	}{{Right, rightColour}, {Left, leftColour}} {
		got := mustMirror(t, src, l, tc.keep)
		checked := 0
		for y := range h {
			for x := range w {
				s := signedDist(l, float64(x), float64(y))
				qx := float64(x) - 2*s*-math.Cos(tilt)
				qy := float64(y) - 2*s*-math.Sin(tilt)
				inside := qx >= 0 && qx <= w-1 && qy >= 0 && qy <= h-1
				if math.Abs(s) < BlendWidth/2 || !inside {
					continue
				}
				checked++
				if g := at(got, x, y); !bytes.Equal(g, tc.want) {
					t.Fatalf("keep %v: pixel (%d, %d), s=%.2f, is %v, want %v", tc.keep, x, y, s, g, tc.want)
				}
			}
		}
		if checked < w*h/2 {
			t.Errorf("keep %v: only %d pixels checked", tc.keep, checked)
		}
	}
}

// TestMirrorFaceLike draws a feature on the image's left (the patient's
// right) only: keeping the right half copies it onto the image's right,
// keeping the left half loses it.
func TestMirrorFaceLike(t *testing.T) {
	const w, h = 100, 60
	src := NewImage(w, h)
	for i := range src.Pix {
		src.Pix[i] = 128
	}
	feature := func(x, y int) bool { return x >= 20 && x < 30 && y >= 10 && y < 40 && (x+y)%3 != 0 }
	for y := range h {
		for x := range w {
			if feature(x, y) {
				copy(at(src, x, y), []byte{0, 0, 255})
			}
		}
	}
	l := Line{Point{49.5, 0}, Point{49.5, 50}} // maps x to 99 − x
	right := mustMirror(t, src, l, Right)
	left := mustMirror(t, src, l, Left)
	for y := range h {
		for x := range w {
			want := []byte{128, 128, 128}
			if feature(x, y) || feature(w-1-x, y) {
				want = []byte{0, 0, 255}
			}
			if g := at(right, x, y); !bytes.Equal(g, want) {
				t.Fatalf("keep right: pixel (%d, %d) is %v, want %v", x, y, g, want)
			}
			if g := at(left, x, y); !bytes.Equal(g, []byte{128, 128, 128}) {
				t.Fatalf("keep left: pixel (%d, %d) is %v, want grey", x, y, g)
			}
		}
	}
}

// TestMirrorClamp uses midlines near or beyond the frame's edges, so that
// the reflected positions leave the frame: they take the edge pixels.
func TestMirrorClamp(t *testing.T) {
	const w, h = 21, 15
	src := coordImage(w, h, 3*w)
	tests := []struct {
		name string
		line Line
		keep Side
		want func(x, y int) (int, int) // source pixel of the expected value
	}{
		// x = 2: keeping the right half (x <= 2), pixel x > 4 reflects to 4 − x < 0.
		{"near left edge", Line{Point{2, 0}, Point{2, 1}}, Right, func(x, y int) (int, int) {
			if x <= 2 {
				return x, y
			}
			return max(0, 4-x), y
		}},
		// x = -50: no pixel is on the kept side; all reflect far left.
		{"beyond left edge", Line{Point{-50, 0}, Point{-50, 1}}, Right, func(x, y int) (int, int) { return 0, y }},
		// y = x + 10 near the bottom-left corner: (x, y) reflects to (y − 10, x + 10).
		{"45° near a corner", Line{Point{0, 10}, Point{5, 15}}, Left, func(x, y int) (int, int) {
			if y-x-10 <= 0 { // kept side (s <= 0) or on the line
				return x, y
			}
			return clampInt(y-10, 0, w-1), clampInt(x+10, 0, h-1)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustMirror(t, src, tc.line, tc.keep)
			for y := range h {
				for x := range w {
					if math.Abs(signedDist(tc.line, float64(x), float64(y))) < BlendWidth/2 {
						continue
					}
					sx, sy := tc.want(x, y)
					if g, want := at(got, x, y), at(src, sx, sy); !bytes.Equal(g, want) {
						t.Errorf("pixel (%d, %d) is %v, want %v from (%d, %d)", x, y, g, want, sx, sy)
					}
				}
			}
		})
	}
}

// referenceMirror computes every pixel from the documented definition in
// float64, independently of the fixed-point stepping.
func referenceMirror(src Image, l Line, keep Side) Image {
	out := NewImage(src.Width, src.Height)
	dx, dy := l.Chin.X-l.Glabella.X, l.Chin.Y-l.Glabella.Y
	n := math.Hypot(dx, dy)
	nx, ny := -dy/n, dx/n
	pos := func(q float64, size int) (int, int) {
		p := clampInt(int(math.Floor(q*256+0.5)), 0, (size-1)*256)
		return p / 256, p % 256
	}
	for y := range src.Height {
		for x := range src.Width {
			s := (float64(x)-l.Glabella.X)*nx + (float64(y)-l.Glabella.Y)*ny
			ix, fx := pos(float64(x)-2*s*nx, src.Width)
			iy, fy := pos(float64(y)-2*s*ny, src.Height)
			ix1, iy1 := min(ix+1, src.Width-1), min(iy+1, src.Height-1)
			a := keptWeight(s, keep)
			for c := range 3 {
				v := (256-fx)*(256-fy)*int(at(src, ix, iy)[c]) + fx*(256-fy)*int(at(src, ix1, iy)[c]) +
					(256-fx)*fy*int(at(src, ix, iy1)[c]) + fx*fy*int(at(src, ix1, iy1)[c])
				at(out, x, y)[c] = byte((a*int(at(src, x, y)[c])<<16 + (256-a)*v + 1<<23) >> 24)
			}
		}
	}
	return out
}

// randomLine returns a midline roughly through a w×h frame, sometimes
// steep, sometimes far off or nearly horizontal.
func randomLine(rng *rand.Rand, w, h int) Line {
	g := Point{rng.Float64()*float64(w+40) - 20, rng.Float64()*float64(h+40) - 20}
	a := rng.Float64() * 2 * math.Pi
	if rng.IntN(4) == 0 {
		a = math.Pi/2 + (rng.Float64()-0.5)*0.2 // near upright
	}
	r := 5 + rng.Float64()*200
	return Line{g, Point{g.X + r*math.Cos(a), g.Y + r*math.Sin(a)}}
}

// TestMirrorReference compares random midlines on random frames with the
// float64 reference: the fixed-point coefficients may round a sampling
// position that lies within 1e-5 px of a 1/256 step the other way, so a
// handful of bytes may differ by 1; none by more.
func TestMirrorReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var total, off int
	thin := [][2]int{{1, 1}, {1, 7}, {7, 1}, {2, 2}, {2, 9}, {9, 2}}
	for i := range 200 {
		w, h := 1+rng.IntN(60), 1+rng.IntN(60)
		if i < len(thin) {
			w, h = thin[i][0], thin[i][1]
		}
		src := randomImage(rng, w, h, 3*w+rng.IntN(7))
		l := randomLine(rng, w, h)
		for _, keep := range []Side{Right, Left} {
			got := mustMirror(t, src, l, keep)
			want := referenceMirror(src, l, keep)
			for y := range h {
				for x := range w {
					for c := range 3 {
						d := int(at(got, x, y)[c]) - int(at(want, x, y)[c])
						total++
						if d != 0 {
							off++
						}
						if d < -1 || d > 1 {
							t.Fatalf("%dx%d, line %+v, keep %v: pixel (%d, %d) channel %d is %d, reference %d",
								w, h, l, keep, x, y, c, at(got, x, y)[c], at(want, x, y)[c])
						}
					}
				}
			}
		}
	}
	t.Logf("%d of %d bytes differ by 1 from the float64 reference", off, total)
	if off*10000 > total {
		t.Errorf("%d of %d bytes differ from the reference", off, total)
	}
}

// TestMirrorRowSplit checks that splitting rows into copied, reflected and
// blended parts changes no byte: the whole row through the per-pixel
// definition must give the same picture.
func TestMirrorRowSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 300 {
		w, h := 1+rng.IntN(80), 1+rng.IntN(50)
		src := randomImage(rng, w, h, 3*w)
		l := randomLine(rng, w, h)
		r, err := newReflection(l)
		if err != nil {
			t.Fatal(err)
		}
		right, left := NewImage(w, h), NewImage(w, h)
		r.mirror(&right, &left, src)
		wantR, wantL := NewImage(w, h), NewImage(w, h)
		for y := range h {
			r.blendSpan(wantR.Pix[y*wantR.Stride:], wantL.Pix[y*wantL.Stride:], src, y, 0, w)
		}
		if !bytes.Equal(right.Pix, wantR.Pix) || !bytes.Equal(left.Pix, wantL.Pix) {
			t.Fatalf("%dx%d, line %+v: split rows differ from the per-pixel definition", w, h, l)
		}
	}
}

// TestMirrorBothMatchesMirror holds MirrorBoth to two Mirror calls, byte for
// byte, on odd sizes and padded strides, and checks that the padding
// between rows is left alone.
func TestMirrorBothMatchesMirror(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 100 {
		w, h := 1+rng.IntN(70), 1+rng.IntN(70)
		if i == 0 {
			w, h = 1, 1
		}
		src := randomImage(rng, w, h, 3*w+rng.IntN(9))
		l := randomLine(rng, w, h)
		padded := func() Image {
			m := Image{Pix: make([]byte, (h-1)*(3*w+5)+3*w), Width: w, Height: h, Stride: 3*w + 5}
			for i := range m.Pix {
				m.Pix[i] = 0xEE
			}
			return m
		}
		oneR, oneL, bothR, bothL := padded(), padded(), padded(), padded()
		if err := Mirror(oneR, src, l, Right); err != nil {
			t.Fatal(err)
		}
		if err := Mirror(oneL, src, l, Left); err != nil {
			t.Fatal(err)
		}
		if err := MirrorBoth(bothR, bothL, src, l); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(oneR.Pix, bothR.Pix) || !bytes.Equal(oneL.Pix, bothL.Pix) {
			t.Fatalf("%dx%d, line %+v: MirrorBoth differs from Mirror", w, h, l)
		}
		for y := range h - 1 {
			for _, b := range oneR.Pix[y*oneR.Stride+3*w : (y+1)*oneR.Stride] {
				if b != 0xEE {
					t.Fatalf("%dx%d: row %d padding overwritten", w, h, y)
				}
			}
		}
	}
}

func TestMirrorErrors(t *testing.T) {
	src := coordImage(10, 8, 30)
	good := Line{Point{5, 0}, Point{5, 7}}
	shared := make([]byte, 1000)
	view := func(off int) Image { return Image{Pix: shared[off:], Width: 10, Height: 8, Stride: 30} }
	tests := []struct {
		name        string
		right, left Image
		src         Image
		line        Line
		want        string
	}{
		{"output smaller", NewImage(9, 8), NewImage(10, 8), src, good, "right is 9x8"},
		{"output taller", NewImage(10, 8), NewImage(10, 9), src, good, "left is 10x9"},
		{"output is the source", src, NewImage(10, 8), src, good, "overlaps the source"},
		{"output inside the source", Image{Pix: src.Pix[3:], Width: 9, Height: 8, Stride: 30}, NewImage(9, 8),
			Image{Pix: src.Pix, Width: 9, Height: 8, Stride: 30}, good, "overlaps the source"},
		{"outputs overlap", view(0), view(200), src, good, "right and left overlap"},
		{"short buffer", Image{Pix: make([]byte, 100), Width: 10, Height: 8, Stride: 30}, NewImage(10, 8), src, good, "cannot hold"},
		{"short stride", Image{Pix: make([]byte, 240), Width: 10, Height: 8, Stride: 20}, NewImage(10, 8), src, good, "stride 20"},
		{"empty source", NewImage(0, 0), NewImage(0, 0), NewImage(0, 0), good, "source: empty"},
		{"nil source", NewImage(10, 8), NewImage(10, 8), Image{Width: 10, Height: 8, Stride: 30}, good, "source: 0 bytes cannot hold"},
		{"huge image", NewImage(10, 8), NewImage(10, 8), Image{Pix: make([]byte, 3*70000), Width: 70000, Height: 1, Stride: 3 * 70000}, good, "larger than 65536"},
		{"huge sizes", NewImage(10, 8), NewImage(10, 8), Image{Pix: src.Pix, Width: math.MaxInt / 2, Height: math.MaxInt / 8, Stride: 3}, good, "cannot hold a row"},
		{"huge height", NewImage(10, 8), NewImage(10, 8), Image{Pix: src.Pix, Width: 10, Height: math.MaxInt / 16, Stride: 1 << 10}, good, "cannot hold 10x"},
		{"huge stride", NewImage(10, 8), NewImage(10, 8), Image{Pix: src.Pix, Width: 10, Height: 8, Stride: math.MaxInt / 2}, good, "cannot hold"},
		{"point line", NewImage(10, 8), NewImage(10, 8), src, Line{Point{3, 3}, Point{3, 3}}, "no direction"},
		{"NaN line", NewImage(10, 8), NewImage(10, 8), src, Line{Point{math.NaN(), 3}, Point{3, 3}}, "not finite"},
		{"infinite line", NewImage(10, 8), NewImage(10, 8), src, Line{Point{0, 0}, Point{math.Inf(1), 3}}, "not finite"},
		{"far line", NewImage(10, 8), NewImage(10, 8), src, Line{Point{1e9, 0}, Point{1e9, 1}}, "from the frame's origin"},
		{"huge direction", NewImage(10, 8), NewImage(10, 8), src, Line{Point{0, 0}, Point{1e300, 1e300}}, "no direction"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := MirrorBoth(tc.right, tc.left, tc.src, tc.line)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("MirrorBoth: got error %v, want one containing %q", err, tc.want)
			}
			if err := Mirror(tc.right, tc.src, tc.line, Right); err == nil && !strings.Contains(tc.want, "left") {
				t.Fatalf("Mirror: no error, want one containing %q", tc.want)
			}
		})
	}
	if err := Mirror(NewImage(10, 8), src, good, Side(2)); err == nil {
		t.Error("Mirror accepted Side(2)")
	}
}

func TestSideString(t *testing.T) {
	for s, want := range map[Side]string{Right: "right", Left: "left", Side(7): "Side(7)"} {
		if got := s.String(); got != want {
			t.Errorf("Side(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

// TestBlendSlope ties blendShift to BlendWidth: the weight must go from 1/2
// to 1 over BlendWidth/2 pixels.
func TestBlendSlope(t *testing.T) {
	if got := int64(BlendWidth) << (fracBits - blendShift); got != 256 {
		t.Fatalf("BlendWidth·slope = %d, want 256", got)
	}
	half := int64(BlendWidth/2) << fracBits
	for _, tc := range []struct {
		s    int64
		want uint64
	}{{0, 128}, {half, 256}, {-half, 0}, {2 * half, 256}, {-2 * half, 0}, {half / 2, 192}, {-half / 2, 64}} {
		if got := blendWeight(tc.s); got != tc.want {
			t.Errorf("blendWeight(%g px) = %d, want %d", float64(tc.s)/(1<<fracBits), got, tc.want)
		}
	}
}

// TestGolden pins the bytes of MirrorBoth and the bits of Smooth on fixed
// synthetic inputs (made with integer arithmetic only), so that a platform
// that computed them differently, e.g. by fusing float products into FMAs,
// fails here.
func TestGolden(t *testing.T) {
	rng := rand.New(rand.NewPCG(2024, 7))
	src := randomImage(rng, 97, 61, 3*97+5)
	right, left := NewImage(97, 61), NewImage(97, 61)
	if err := MirrorBoth(right, left, src, Line{Point{50.3, 3.7}, Point{41.9, 58.1}}); err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	h.Write(right.Pix)
	h.Write(left.Pix)
	if got, want := hex.EncodeToString(h.Sum(nil)), goldenMirror; got != want {
		t.Errorf("MirrorBoth bytes hash to %s, want %s", got, want)
	}

	obs := make([]Observation, 300)
	for i := range obs {
		c := func(base, slope int) float64 { return float64(base*100+slope*i+rng.IntN(200)-100) / 100 }
		obs[i] = Observation{Line: Line{Point{c(320, 3), c(100, 1)}, Point{c(318, 2), c(300, -1)}}, OK: rng.IntN(10) != 0}
	}
	lines, err := Smooth(obs)
	if err != nil {
		t.Fatal(err)
	}
	h.Reset()
	for _, l := range lines {
		for _, v := range []float64{l.Glabella.X, l.Glabella.Y, l.Chin.X, l.Chin.Y} {
			h.Write(binary.LittleEndian.AppendUint64(nil, math.Float64bits(v)))
		}
	}
	if got, want := hex.EncodeToString(h.Sum(nil)), goldenSmooth; got != want {
		t.Errorf("Smooth bits hash to %s, want %s", got, want)
	}
}

const (
	goldenMirror = "50031d293aa59d391c302888db0184a56ecb938008d345a2dcda18be84a5ad99"
	goldenSmooth = "51ffc6bbe08aa6a6d2abd0da0c420ea584c6f623226526e8b4c2ff1c3c3f7d58"
)
