package auplot

import (
	"math"
	"slices"
	"testing"
)

// flat returns n frames at 30 fps whose values are all v.
func flat(n int, v float32) (t []float64, vs []float32) {
	t = make([]float64, n)
	vs = make([]float32, n)
	for i := range n {
		t[i] = float64(i) / 30
		vs[i] = v
	}
	return t, vs
}

func TestDecimateKeepsExtremes(t *testing.T) {
	const (
		n    = 18000
		cols = 900
	)
	tests := []struct {
		name  string
		frame int
		value float32
	}{
		{"blink in the middle", 9001, 4.7},
		{"blink at the start", 0, 4.7},
		{"blink at the end", n - 1, 4.7},
		{"dip", 4321, -0.3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, vs := flat(n, 0.1)
			vs[tt.frame] = tt.value
			pts := decimate(nil, ts, vs, 0, ts[n-1], cols)

			if len(pts) > 2*cols {
				t.Errorf("got %d points, want at most %d", len(pts), 2*cols)
			}
			lo, hi := math.Inf(1), math.Inf(-1)
			for i, p := range pts {
				lo, hi = min(lo, p.y), max(hi, p.y)
				if i > 0 && p.x < pts[i-1].x {
					t.Fatalf("point %d at %v s comes after %v s", i, p.x, pts[i-1].x)
				}
			}
			want := float64(tt.value)
			if tt.value > 0.1 && hi != want {
				t.Errorf("max = %v, want the spike %v", hi, want)
			}
			if tt.value < 0.1 && lo != want {
				t.Errorf("min = %v, want the dip %v", lo, want)
			}
			if !slices.Contains(pts, point{ts[tt.frame], want}) {
				t.Errorf("spike at %v s not kept at its time", ts[tt.frame])
			}
		})
	}
}

func TestDecimateFewFrames(t *testing.T) {
	ts := []float64{0, 0.5, 1}
	vs := []float32{1, 3, 2}
	got := decimate(nil, ts, vs, 0, 5, 100)
	want := []point{{0, 1}, {0.5, 3}, {1, 2}}
	if !slices.Equal(got, want) {
		t.Errorf("decimate = %v, want %v", got, want)
	}
}

func TestDecimateGaps(t *testing.T) {
	nan := float32(math.NaN())
	ts := []float64{0, 1, math.NaN(), 3, 4, 5, 6, 7}
	vs := []float32{1, 1, nan, 2, nan, nan, 3, 3}
	got := decimate(nil, ts, vs, 0, 10, 100)

	// Frame 2 is absent, so frames 1 and 3 join; NaN values at frames 4
	// and 5 make one gap.
	want := []float64{1, 1, 2, math.NaN(), 3, 3}
	if len(got) != len(want) {
		t.Fatalf("decimate = %v, want values %v", got, want)
	}
	for i, p := range got {
		if p.y != want[i] && !(math.IsNaN(p.y) && math.IsNaN(want[i])) {
			t.Errorf("point %d = %v, want value %v", i, p, want[i])
		}
	}
}

func TestDecimateDegenerate(t *testing.T) {
	ts, vs := flat(10, 1)
	tests := []struct {
		name   string
		x0, x1 float64
		cols   int
	}{
		{"no columns", 0, 1, 0},
		{"empty range", 1, 1, 10},
		{"reversed range", 1, 0, 10},
	}
	for _, tt := range tests {
		if got := decimate(nil, ts, vs, tt.x0, tt.x1, tt.cols); len(got) != 0 {
			t.Errorf("%s: decimate = %v, want nothing", tt.name, got)
		}
	}
	if got := decimate(nil, nil, nil, 0, 1, 10); len(got) != 0 {
		t.Errorf("decimate of no frames = %v, want nothing", got)
	}
}
