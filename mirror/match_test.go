package mirror

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// matchLine returns a midline for a w×h frame drawn from the kinds that
// stress the fast paths differently: any angle, exactly axis-aligned,
// nearly horizontal or vertical (tiny but nonzero steps), through pixel
// centres or half-pixels, far outside the frame, or with a tiny or huge
// direction vector.
func matchLine(rng *rand.Rand, w, h int) Line {
	fw, fh := float64(w), float64(h)
	g := Point{rng.Float64()*(fw+40) - 20, rng.Float64()*(fh+40) - 20}
	dir := func(a, r float64) Line { return Line{g, Point{g.X + r*math.Cos(a), g.Y + r*math.Sin(a)}} }
	tiny := func() float64 { return (rng.Float64() - 0.5) * math.Pow(10, -1-9*rng.Float64()) }
	switch rng.IntN(12) {
	case 0:
		return Line{Point{math.Round(g.X), 0}, Point{math.Round(g.X), 1}}
	case 1:
		return Line{Point{0, math.Round(g.Y*2) / 2}, Point{-3, math.Round(g.Y*2) / 2}}
	case 2:
		return dir(tiny(), 1+rng.Float64()*100) // near horizontal
	case 3:
		return dir(math.Pi/2+tiny(), 1+rng.Float64()*100) // near vertical
	case 4:
		return dir(float64(rng.IntN(8))*math.Pi/4, 1+float64(rng.IntN(50)))
	case 5: // beyond the frame, up to thousands of pixels away
		off := (rng.Float64()*2 - 1) * math.Pow(10, 1+3*rng.Float64())
		g = Point{g.X + off, g.Y - off*rng.Float64()}
		return dir(rng.Float64()*2*math.Pi, 10+rng.Float64()*100)
	case 6:
		return dir(rng.Float64()*2*math.Pi, 1e-6+rng.Float64()*1e-3) // tiny direction
	case 7:
		return dir(rng.Float64()*2*math.Pi, 1e6*(1+rng.Float64())) // huge direction
	case 8:
		return dir(math.Pi/2+(rng.Float64()-0.5)*0.3, 5+rng.Float64()*200) // face-like
	case 9: // half-pixel glabella
		g = Point{math.Round(g.X*2) / 2, math.Round(g.Y*2) / 2}
		return dir(float64(rng.IntN(16))*math.Pi/8, 1+float64(rng.IntN(30)))
	}
	return dir(rng.Float64()*2*math.Pi, 0.5+rng.Float64()*300)
}

// matchImage returns a source image: random bytes, or only 0s and 255s,
// which make the intermediate sums as large or as negative as they get.
func matchImage(rng *rand.Rand, w, h, stride int) Image {
	m := randomImage(rng, w, h, stride)
	if rng.IntN(3) == 0 {
		for i := range m.Pix {
			m.Pix[i] = -(m.Pix[i] >> 7) // 0 or 255
		}
	}
	return m
}

// checkMatch runs Mirror (both sides) and MirrorBoth against their frozen
// reference on one case. The outputs have their own strides and start with
// the same random bytes, so untouched padding must match too.
func checkMatch(t *testing.T, rng *rand.Rand, src Image, l Line) {
	t.Helper()
	w, h := src.Width, src.Height
	out := func() (Image, Image) {
		stride := 3*w + rng.IntN(3)*rng.IntN(40)
		a := Image{Pix: make([]byte, (h-1)*stride+3*w+rng.IntN(4)), Width: w, Height: h, Stride: stride}
		for i := range a.Pix {
			a.Pix[i] = byte(rng.Uint32())
		}
		b := a
		b.Pix = bytes.Clone(a.Pix)
		return a, b
	}
	errString := func(err error) string {
		if err == nil {
			return "<nil>"
		}
		return err.Error()
	}
	fail := func(what string, got, want Image) {
		t.Helper()
		for i := range got.Pix {
			if got.Pix[i] != want.Pix[i] {
				t.Fatalf("%dx%d stride %d/%d, line %#v: %s: byte %d (pixel (%d, %d)) is %d, reference %d",
					w, h, src.Stride, got.Stride, l, what, i, i%got.Stride/3, i/got.Stride, got.Pix[i], want.Pix[i])
			}
		}
	}
	for _, keep := range []Side{Right, Left} {
		got, want := out()
		err, refErr := Mirror(got, src, l, keep), refMirror(want, src, l, keep)
		if errString(err) != errString(refErr) {
			t.Fatalf("%dx%d, line %#v, keep %v: error %v, reference %v", w, h, l, keep, err, refErr)
		}
		if !bytes.Equal(got.Pix, want.Pix) {
			fail("Mirror keep "+keep.String(), got, want)
		}
	}
	gotR, wantR := out()
	gotL, wantL := out()
	err, refErr := MirrorBoth(gotR, gotL, src, l), refMirrorBoth(wantR, wantL, src, l)
	if errString(err) != errString(refErr) {
		t.Fatalf("%dx%d, line %#v: MirrorBoth error %v, reference %v", w, h, l, err, refErr)
	}
	if !bytes.Equal(gotR.Pix, wantR.Pix) {
		fail("MirrorBoth right", gotR, wantR)
	}
	if !bytes.Equal(gotL.Pix, wantL.Pix) {
		fail("MirrorBoth left", gotL, wantL)
	}
}

// TestMatchesReference holds Mirror and MirrorBoth to the frozen reference
// implementation (reference_test.go), byte for byte, on random sizes,
// strides and midlines, the thin frames that take the edge-only path, and
// the full-size frames whose long rows the fast loops are tuned for.
func TestMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(77, 78))
	sizes := [][2]int{
		{1, 1}, {1, 2}, {2, 1}, {1, 9}, {9, 1}, {2, 2}, {2, 3}, {3, 2}, {2, 40}, {40, 2}, {3, 3}, {4, 4}, {5, 3},
	}
	n := 1500
	if testing.Short() {
		n = 200
	}
	for range n {
		w, h := 1+rng.IntN(300), 1+rng.IntN(200)
		switch rng.IntN(4) {
		case 0:
			w, h = 1+rng.IntN(12), 1+rng.IntN(12)
		case 1:
			w, h = 1+rng.IntN(40), 1+rng.IntN(40)
		}
		sizes = append(sizes, [2]int{w, h})
	}
	for _, sz := range sizes {
		w, h := sz[0], sz[1]
		src := matchImage(rng, w, h, 3*w+rng.IntN(3)*rng.IntN(50))
		checkMatch(t, rng, src, matchLine(rng, w, h))
	}
	big := [][2]int{{481, 359}, {481, 359}, {481, 359}, {481, 359}, {1920, 1080}, {1920, 1080}}
	if testing.Short() {
		big = big[3:5]
	}
	for i, sz := range big {
		w, h := sz[0], sz[1]
		src := matchImage(rng, w, h, 3*w+[]int{0, 1, 7, 64}[i%4])
		l := matchLine(rng, w, h)
		if i%2 == 0 {
			l = uprightLine(w, h)
		}
		checkMatch(t, rng, src, l)
	}
}

// TestMatchesReferenceLines sweeps the midline's angle over a full turn in
// small steps on one frame, and its distance from the frame up to the
// limit, so that every octant of the source's stepping direction and every
// way a row can leave the frame is met.
func TestMatchesReferenceLines(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	src := matchImage(rng, 67, 43, 3*67+5)
	steps := 720
	if testing.Short() {
		steps = 90
	}
	for i := range steps {
		a := 2 * math.Pi * float64(i) / float64(steps)
		g := Point{20 + rng.Float64()*27, 10 + rng.Float64()*23}
		checkMatch(t, rng, src, Line{g, Point{g.X + 30*math.Cos(a), g.Y + 30*math.Sin(a)}})
	}
	for _, d := range []float64{-1 << 24, -1e6, -1000, -100, -60, -45, 45, 60, 100, 1000, 1e6, 1<<24 - 1, 1<<24 + 1} {
		for _, a := range []float64{0, 0.3, math.Pi / 2, 2, math.Pi} {
			n := Point{-math.Sin(a), math.Cos(a)}
			g := Point{33 - d*n.X, 21 - d*n.Y}
			checkMatch(t, rng, src, Line{g, Point{g.X + math.Cos(a), g.Y + math.Sin(a)}})
		}
	}
}

// FuzzMatchesReference explores sizes, strides and midlines beyond the
// random cases; its seeds run with go test.
func FuzzMatchesReference(f *testing.F) {
	f.Add(uint16(41), uint16(37), uint8(0), 20.0, 3.0, 20.0, 30.0, uint64(1))
	f.Add(uint16(1), uint16(1), uint8(5), 0.5, 0.5, 0.5, 1.5, uint64(2))
	f.Add(uint16(200), uint16(3), uint8(1), 0.0, 1.0, 199.0, 1.0000001, uint64(3))
	f.Add(uint16(2), uint16(150), uint8(9), -1e5, 40.0, -1e5, 41.0, uint64(4))
	f.Fuzz(func(t *testing.T, w, h uint16, pad uint8, gx, gy, cx, cy float64, seed uint64) {
		width, height := 1+int(w)%400, 1+int(h)%300
		rng := rand.New(rand.NewPCG(seed, 5))
		src := matchImage(rng, width, height, 3*width+int(pad))
		checkMatch(t, rng, src, Line{Point{gx, gy}, Point{cx, cy}})
	})
}
