package clnf

import (
	"math"
	"slices"
	"sync"
	"testing"
)

// TestScaleSettings checks the per-scale refinement against the values
// CLNF::Fit computes (docs/CLNF_FACTS.md §2).
func TestScaleSettings(t *testing.T) {
	s := mainSettings()
	cases := []struct {
		scaling  float64
		reg, sig float32
		a        float32
	}{
		{0.25, 25, 1.5, -0.222222224},
		{0.35, 17.7185974, 1.62135673, -0.190201029},
		{0.5, 10, 1.75, -0.163265303},
	}
	for _, c := range cases {
		got := s.atScale(c.scaling)
		if got.reg != c.reg || got.sigma != c.sig || got.weightFactor != 0 {
			t.Errorf("scaling %v: reg %.9g sigma %.9g wf %v, want %.9g %.9g 0", c.scaling, got.reg, got.sigma, got.weightFactor, c.reg, c.sig)
		}
		if a := kdeCoefficient(got.sigma); a != c.a {
			t.Errorf("scaling %v: a = %.9g, want %.9g", c.scaling, a, c.a)
		}
	}
	inner, _ := partSettings("inner")
	if got := inner.atScale(1); got != (scaleSettings{reg: 2.5, sigma: 1.75, weightFactor: 2.5}) {
		t.Errorf("inner part at scale 1: %+v", got)
	}
	if _, ok := partSettings("mouth"); ok {
		t.Errorf("partSettings accepted a part this model family does not use")
	}
}

// TestKDETable checks the table layout: the row for grid point (x, y) is
// exp(a·((y·0.1 − row)² + (x·0.1 − col)²)).
func TestKDETable(t *testing.T) {
	a := kdeCoefficient(1.75)
	tb := newKDETable(7, a)
	if tb.stride != 70 || len(tb.rows) != 70*70 {
		t.Fatalf("stride %d, %d rows", tb.stride, len(tb.rows))
	}
	x, y, ii, jj := 23, 41, 5, 2
	dx, dy := float32(x)*kdeStep, float32(y)*kdeStep
	ry, rx := dy-float32(ii), dx-float32(jj)
	want := float32(math.Exp(float64(a * (ry*ry + rx*rx))))
	if got := tb.row(x, y)[ii*7+jj]; got != want {
		t.Errorf("kernel value %v, want %v", got, want)
	}
	// A peak in the response pulls the mean shift towards it.
	resp := make([]float32, 49)
	resp[3*7+5] = 1
	mx, my := tb.meanShift(resp, 3, 3)
	if mx != 2 || my != 0 {
		t.Errorf("mean shift towards a single peak at (5, 3) from (3, 3): (%v, %v), want (2, 0)", mx, my)
	}
}

// TestKDETableRows checks every row of the tables the models use against
// the grid as OpenFace fills it up front (positions x outer, y inner, as
// long as x·0.1 and y·0.1 stay inside the window), read by several
// goroutines at once as trackers sharing a model do.
func TestKDETableRows(t *testing.T) {
	for _, c := range []struct {
		ws    int
		sigma float32
	}{{3, 1.0}, {5, 1.0}, {7, 1.75}, {9, 1.5}, {11, 1.25}} {
		a := kdeCoefficient(c.sigma)
		var want [][]float32
		extent := float32(c.ws) / kdeStep
		for x := 0; float32(x) < extent; x++ {
			dx := float32(x) * kdeStep
			for y := 0; float32(y) < extent; y++ {
				dy := float32(y) * kdeStep
				var row []float32
				for ii := 0; ii < c.ws; ii++ {
					ry := dy - float32(ii)
					for jj := 0; jj < c.ws; jj++ {
						rx := dx - float32(jj)
						row = append(row, float32(math.Exp(float64(float32(a*(float32(ry*ry)+float32(rx*rx)))))))
					}
				}
				want = append(want, row)
			}
		}
		tb := newKDETable(c.ws, a)
		if len(want) != tb.stride*tb.stride {
			t.Fatalf("ws %d: OpenFace's grid has %d positions, the table %d×%d", c.ws, len(want), tb.stride, tb.stride)
		}
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range want {
					// Each goroutine walks the grid from elsewhere.
					k := (i + g*len(want)/4) % len(want)
					if got := tb.row(k/tb.stride, k%tb.stride); !slices.Equal(got, want[k]) {
						t.Errorf("ws %d: row %d differs from OpenFace's", c.ws, k)
						return
					}
				}
			})
		}
		wg.Wait()
	}
}
