package clnf

import (
	"math"
	"sync/atomic"
)

// kdeStep is the grid step of the precomputed kernel, in response pixels.
const kdeStep float32 = 0.1

// kdeTable is the Gaussian kernel of NonVectorisedMeanShift_precalc_kde,
// evaluated for positions on a 0.1-pixel grid over a ws×ws response map.
// OpenFace fills the whole grid up front: for ws 11 that is 1.5 million
// exponentials and 6 MB, most of a helper's start-up on the development
// machine (page faults there cost 12 µs per 4 KB), for rows a video mostly
// never reads. Here each row is computed the first time a mean shift
// needs it, with the same arithmetic, and kept. Trackers on several
// goroutines may share a table.
type kdeTable struct {
	ws int
	a  float32
	// stride is the number of grid positions along one axis.
	stride int
	// rows holds, once computed, the row of ws·ws kernel values (response
	// row outer, column inner) of grid position x·stride + y, the position
	// (x·0.1, y·0.1) in (column, row) response coordinates.
	rows []atomic.Pointer[[]float32]
}

// kdeCoefficient is NU_RLMS' a = −0.5/σ² (σ² in float, the quotient in
// double, rounded to float).
func kdeCoefficient(sigma float32) float32 {
	return float32(-0.5 / float64(sigma*sigma))
}

// newKDETable returns the (empty) table of exp(a·d²) for window size ws.
func newKDETable(ws int, a float32) *kdeTable {
	extent := float32(ws) / kdeStep
	stride := int(float64(extent) + 0.5)
	return &kdeTable{ws: ws, a: a, stride: stride, rows: make([]atomic.Pointer[[]float32], stride*stride)}
}

// row returns the kernel row of grid position (x, y), computing it as
// OpenFace does (float squared distances, a double exp rounded to float)
// the first time.
func (t *kdeTable) row(x, y int) []float32 {
	p := &t.rows[x*t.stride+y]
	if r := p.Load(); r != nil {
		return *r
	}
	ws := t.ws
	r := make([]float32, 0, ws*ws)
	dx := float32(x) * kdeStep
	dy := float32(y) * kdeStep
	for ii := 0; ii < ws; ii++ {
		ry := dy - float32(ii)
		vx := float32(ry * ry)
		for jj := 0; jj < ws; jj++ {
			rx := dx - float32(jj)
			vy := float32(rx * rx)
			r = append(r, float32(math.Exp(float64(float32(t.a*(vx+vy))))))
		}
	}
	// Another goroutine may have computed the same values meanwhile.
	if !p.CompareAndSwap(nil, &r) {
		return *p.Load()
	}
	return r
}

// meanShift returns the KDE mean shift of one response map (ws×ws,
// row-major) from the point (dx, dy) in response coordinates. The point
// is clamped into the map and the kernel taken from the nearest grid
// position, while the shift is measured from the clamped exact point.
func (t *kdeTable) meanShift(resp []float32, dx, dy float32) (msx, msy float32) {
	ws := t.ws
	if dx < 0 {
		dx = 0
	}
	if dy < 0 {
		dy = 0
	}
	if lim := float32(ws) - kdeStep; dx > lim {
		dx = lim
	}
	if lim := float32(ws) - kdeStep; dy > lim {
		dy = lim
	}
	col := int(float64(dy/kdeStep) + 0.5)
	row := int(float64(dx/kdeStep) + 0.5)
	k := t.row(row, col)
	var sum, mx, my float32
	for ii := 0; ii < ws; ii++ {
		fi := float32(ii)
		r := resp[ii*ws : ii*ws+ws]
		kr := k[ii*ws : ii*ws+ws]
		for jj, p := range r {
			v := float32(p * kr[jj])
			sum += v
			mx += float32(v * float32(jj))
			my += float32(v * fi)
		}
	}
	return mx/sum - dx, my/sum - dy
}

// landmarkLikelihood is the KDE response at (dx, dy) without clamping or
// grid: Σ R·exp(−0.5·d²/σ²), the exponent in double and each term rounded
// to float before it is summed.
func landmarkLikelihood(resp []float32, ws int, dx, dy, sigma float32) float32 {
	s2 := float64(sigma * sigma)
	var sum float32
	for ii := 0; ii < ws; ii++ {
		ry := dy - float32(ii)
		vx := float32(ry * ry)
		for jj := 0; jj < ws; jj++ {
			rx := dx - float32(jj)
			vy := float32(rx * rx)
			e := math.Exp(-0.5 * float64(vx+vy) / s2)
			sum += float32(float64(resp[ii*ws+jj]) * e)
		}
	}
	return sum
}
