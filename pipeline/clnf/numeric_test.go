package clnf

import (
	"math"
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
	if tb.stride != 70 || len(tb.data) != 70*70*49 {
		t.Fatalf("stride %d, %d values", tb.stride, len(tb.data))
	}
	x, y, ii, jj := 23, 41, 5, 2
	dx, dy := float32(x)*kdeStep, float32(y)*kdeStep
	ry, rx := dy-float32(ii), dx-float32(jj)
	want := float32(math.Exp(float64(a * (ry*ry + rx*rx))))
	if got := tb.data[(x*tb.stride+y)*49+ii*7+jj]; got != want {
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
