package clnf

import "math"

// kdeStep is the grid step of the precomputed kernel, in response pixels.
const kdeStep float32 = 0.1

// kdeTable is the Gaussian kernel of NonVectorisedMeanShift_precalc_kde,
// evaluated once for every position on a 0.1-pixel grid over a ws×ws
// response map.
type kdeTable struct {
	ws int
	// stride is the number of grid positions along one axis.
	stride int
	// data holds one row of ws·ws kernel values (response row outer,
	// column inner) per grid position x·stride + y, where the position is
	// (x·0.1, y·0.1) in (column, row) response coordinates.
	data []float32
}

// kdeCoefficient is NU_RLMS' a = −0.5/σ² (σ² in float, the quotient in
// double, rounded to float).
func kdeCoefficient(sigma float32) float32 {
	return float32(-0.5 / float64(sigma*sigma))
}

// newKDETable evaluates exp(a·d²) on the grid as OpenFace does: float
// squared distances, a double exp rounded to float.
func newKDETable(ws int, a float32) *kdeTable {
	extent := float32(ws) / kdeStep
	t := &kdeTable{ws: ws, stride: int(float64(extent) + 0.5)}
	t.data = make([]float32, 0, int(extent*extent)*ws*ws)
	for x := 0; float32(x) < extent; x++ {
		dx := float32(x) * kdeStep
		for y := 0; float32(y) < extent; y++ {
			dy := float32(y) * kdeStep
			for ii := 0; ii < ws; ii++ {
				ry := dy - float32(ii)
				vx := float32(ry * ry)
				for jj := 0; jj < ws; jj++ {
					rx := dx - float32(jj)
					vy := float32(rx * rx)
					t.data = append(t.data, float32(math.Exp(float64(float32(a*(vx+vy))))))
				}
			}
		}
	}
	return t
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
	k := t.data[(row*t.stride+col)*ws*ws:]
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
