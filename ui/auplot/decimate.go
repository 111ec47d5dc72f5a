package auplot

import "math"

// point is a point of a reduced curve; a NaN y marks a gap.
type point struct{ x, y float64 }

// decimate appends to dst the curve given by times t and values v (indexed
// by frame, NaN time for an absent frame, NaN value for a gap), reduced to
// at most two points per pixel column of the x range [x0, x1] split into
// cols columns: the minimum and the maximum of the values in the column,
// in time order, so that a one-frame peak keeps its height. Absent frames
// are skipped, so the line bridges frames that have not arrived yet; a NaN
// value ends the current line and appends a gap point.
func decimate(dst []point, t []float64, v []float32, x0, x1 float64, cols int) []point {
	if cols < 1 || !(x1 > x0) {
		return dst
	}
	scale := float64(cols) / (x1 - x0)
	r := reducer{dst: dst, gapped: true}
	for f := range min(len(t), len(v)) {
		tf, vf := t[f], v[f]
		switch {
		case math.IsNaN(tf):
			continue
		case math.IsNaN(float64(vf)):
			r.gap()
			continue
		}
		col := max(0, min(int((tf-x0)*scale), cols-1))
		r.add(col, f, tf, vf)
	}
	r.flush()
	return r.dst
}

// reducer accumulates the extremes of the current pixel column.
type reducer struct {
	dst    []point
	open   bool // the current column has values not yet in dst
	gapped bool // dst holds nothing of this curve or ends with a gap
	col    int
	loF    int // frame of the minimum
	hiF    int // frame of the maximum
	loT    float64
	hiT    float64
	loV    float32
	hiV    float32
}

func (r *reducer) add(col, f int, t float64, v float32) {
	if r.open && col != r.col {
		r.flush()
	}
	if !r.open {
		r.open, r.col = true, col
		r.loF, r.loT, r.loV = f, t, v
		r.hiF, r.hiT, r.hiV = f, t, v
		return
	}
	if v < r.loV {
		r.loF, r.loT, r.loV = f, t, v
	}
	if v > r.hiV {
		r.hiF, r.hiT, r.hiV = f, t, v
	}
}

// flush appends the extremes of the current column in time order.
func (r *reducer) flush() {
	if !r.open {
		return
	}
	r.open, r.gapped = false, false
	lo := point{r.loT, float64(r.loV)}
	hi := point{r.hiT, float64(r.hiV)}
	switch {
	case r.loF == r.hiF:
		r.dst = append(r.dst, lo)
	case r.loF < r.hiF:
		r.dst = append(r.dst, lo, hi)
	default:
		r.dst = append(r.dst, hi, lo)
	}
}

// gap ends the current line. Consecutive gaps collapse into one point.
func (r *reducer) gap() {
	r.flush()
	if !r.gapped {
		r.dst = append(r.dst, point{math.NaN(), math.NaN()})
		r.gapped = true
	}
}
