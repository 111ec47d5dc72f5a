package openface

import (
	"math"
	"strconv"

	"facemirror/pipeline/pdm"
)

// Recovering what the CSV's rounding removed.
//
// OpenFace's 2D landmarks are exactly the projection of its landmark
// detector's parameters (PDM::CalcShape2D of params_global and
// params_local), and the CSV prints both: x_i and y_i to 0.1 px, p_* to
// 0.001. The parameters that produced a row therefore lie in the set of
// parameters that round to the printed p_* and whose projection rounds to
// the printed x_i, y_i. Over a box as small as the parameters' rounding
// intervals the projection is linear to within 0.0001 px, so that
// set is a polytope. Its analytic centre (the point that maximises the
// product of all the slacks) is taken as the detector's rigid parameters,
// and their projection as its landmarks.
//
// The rounding of the 34 local parameters moves a landmark by at most
// 0.003 px (0.0002 px RMS) at the largest faces here, so they are kept as
// printed and that reach is added to each landmark's interval, which keeps
// the true parameters inside; the polytope then has 6 unknowns bounded by
// 12 parameter and 272 landmark inequalities. Fitting all 40 parameters
// gave 3–9 % less landmark error at 50 times the cost.
//
// On the reference videos the recovered landmarks are 0.0020–0.0024 px RMS
// from OpenFace's (the printed ones 0.029 px, the uniform rounding noise).
// A row whose printed landmarks no parameters inside the printed intervals
// can reproduce (the all-zero landmarks of a frame before any face was
// found, values edited by hand) is used as printed.

// Half-widths of the rounding intervals of the CSV's x_i, y_i (1 decimal)
// and p_* (3 decimals).
const (
	landmarkHalfStep = 0.05
	paramHalfStep    = 0.0005
)

// Decimals the CSV prints landmarks and parameters with.
const (
	landmarkDecimals = 1
	paramDecimals    = 3
)

// Newton iterations stop when the Newton decrement (twice the predicted
// gain of the barrier) falls below newtonTolerance: the Hessian-scaled
// distance to the centre is then below 1e-6 of the polytope's extent.
// Phase one starts widenSlack beyond the worst violation and raises its
// weight on s tenfold per stage.
const (
	newtonTolerance  = 1e-12
	newtonSteps      = 30
	centreIterations = 50
	phaseOneStages   = 12
	widenSlack       = 1e-3
)

// precisionFit is the landmark detector's PDM in float64, for recovering
// rounded CSV rows. It is read-only and safe for concurrent use.
type precisionFit struct {
	md       *pdm.Model
	n, m     int
	mean, pc []float64
}

func newPrecisionFit(md *pdm.Model) *precisionFit {
	f := &precisionFit{md: md, n: md.NumPoints(), m: md.NumModes()}
	f.mean = make([]float64, len(md.Mean))
	for i, v := range md.Mean {
		f.mean[i] = float64(v)
	}
	f.pc = make([]float64, len(md.PrincComp))
	for i, v := range md.PrincComp {
		f.pc[i] = float64(v)
	}
	return f
}

// rotation returns R = Rx·Ry·Rz and its derivatives by the three angles.
func rotation(rx, ry, rz float64) (r, dx, dy, dz [3][3]float64) {
	sx, cx := math.Sincos(rx)
	sy, cy := math.Sincos(ry)
	sz, cz := math.Sincos(rz)
	x := [3][3]float64{{1, 0, 0}, {0, cx, -sx}, {0, sx, cx}}
	y := [3][3]float64{{cy, 0, sy}, {0, 1, 0}, {-sy, 0, cy}}
	z := [3][3]float64{{cz, -sz, 0}, {sz, cz, 0}, {0, 0, 1}}
	dX := [3][3]float64{{0, 0, 0}, {0, -sx, -cx}, {0, cx, -sx}}
	dY := [3][3]float64{{-sy, 0, cy}, {0, 0, 0}, {-cy, 0, -sy}}
	dZ := [3][3]float64{{-sz, -cz, 0}, {cz, -sz, 0}, {0, 0, 0}}
	yz := mul3(y, z)
	return mul3(x, yz), mul3(dX, yz), mul3(x, mul3(dY, z)), mul3(x, mul3(y, dZ))
}

func mul3(a, b [3][3]float64) [3][3]float64 {
	var c [3][3]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			c[i][j] = a[i][0]*b[0][j] + a[i][1]*b[1][j] + a[i][2]*b[2][j]
		}
	}
	return c
}

// polytope is one row's linearised problem: landmark k moves from r[k]
// (projection minus printed value) by jac[k]·q and must stay within
// ±bound[k]; each rigid parameter offset q[a] within ±paramHalfStep.
type polytope struct {
	r     []float64
	jac   [][6]float64
	bound []float64
}

// linearise builds the polytope of a printed row: landmarks u (x block,
// then y block), rigid parameters g0 and local parameters local.
//
// The local parameters are held at their printed values. Their rounding
// moves a landmark by at most Σ|∂x/∂p_k|·0.0005 (below 0.003 px at the
// largest faces here, 0.0002 px RMS), which is added to that landmark's
// bound so that the true parameters stay inside the polytope; fitting
// them too would multiply the work by 40 for no measurable gain.
func (f *precisionFit) linearise(u []float64, g0 [6]float64, local []float64) polytope {
	n, m := f.n, f.m
	p := polytope{r: make([]float64, 2*n), jac: make([][6]float64, 2*n), bound: make([]float64, 2*n)}
	rot, dx, dy, dz := rotation(g0[1], g0[2], g0[3])
	s := g0[0]
	for i := 0; i < n; i++ {
		var x [3]float64
		for a := 0; a < 3; a++ {
			row := f.pc[(i+a*n)*m : (i+a*n+1)*m]
			v := f.mean[i+a*n]
			for k, c := range row {
				v += c * local[k]
			}
			x[a] = v
		}
		for d := 0; d < 2; d++ {
			rx := rot[d][0]*x[0] + rot[d][1]*x[1] + rot[d][2]*x[2]
			k := i + d*n
			p.r[k] = s*rx + g0[4+d] - u[k]
			j := &p.jac[k]
			j[0] = rx
			j[1] = s * (dx[d][0]*x[0] + dx[d][1]*x[1] + dx[d][2]*x[2])
			j[2] = s * (dy[d][0]*x[0] + dy[d][1]*x[1] + dy[d][2]*x[2])
			j[3] = s * (dz[d][0]*x[0] + dz[d][1]*x[1] + dz[d][2]*x[2])
			j[4+d] = 1
			var reach float64
			for c := 0; c < m; c++ {
				reach += math.Abs(s * (rot[d][0]*f.pc[i*m+c] + rot[d][1]*f.pc[(i+n)*m+c] + rot[d][2]*f.pc[(i+2*n)*m+c]))
			}
			p.bound[k] = landmarkHalfStep + reach*paramHalfStep
		}
	}
	return p
}

// estimate estimates the rigid parameters and the landmarks behind one
// printed row (landmarks u, x block then y block; rigid parameters g0;
// local parameters local, used as printed). ok is false when no
// parameters inside the printed intervals reproduce the printed landmarks,
// or when the estimate would not print as the row does.
func (f *precisionFit) estimate(u []float64, g0 [6]float64, local []float64) (points []float32, g [6]float32, ok bool) {
	if !finite64(u) || !finite64(g0[:]) || !finite64(local) {
		return nil, g, false
	}
	p := f.linearise(u, g0, local)
	// A landmark further from its interval than the parameter box can
	// move it proves the row is no projection of parameters in theirs.
	for k, j := range p.jac {
		var reach float64
		for _, v := range j {
			reach += math.Abs(v) * paramHalfStep
		}
		if !(math.Abs(p.r[k])-reach < p.bound[k]) {
			return nil, g, false
		}
	}
	q, ok := p.feasiblePoint()
	if !ok {
		return nil, g, false
	}
	p.centre(&q)

	for a := range g {
		g[a] = float32(g0[a] + q[a])
	}
	loc := make([]float32, len(local))
	for a, v := range local {
		loc[a] = float32(v)
	}
	points, err := f.md.Shape2D(pdm.Global{Scale: g[0], Rx: g[1], Ry: g[2], Rz: g[3], Tx: g[4], Ty: g[5]}, loc, nil)
	if err != nil {
		return nil, g, false
	}
	// The fitted parameters lie inside their intervals, but their float32
	// rounding can put one a hair outside, and the local parameters' share
	// of a landmark's bound can put a landmark outside its interval.
	// Both intervals are known to hold the true value, so such values are
	// moved to the nearest one that prints as the row did.
	for k, v := range points {
		points[k] = intoInterval(v, u[k], landmarkHalfStep, landmarkDecimals)
	}
	for a, v := range g {
		g[a] = intoInterval(v, g0[a], paramHalfStep, paramDecimals)
	}
	return points, g, true
}

func finite64(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// intoInterval returns v if it prints with the given decimals as printed
// does, else v clamped to the printed value's rounding interval and moved
// towards the printed value until it prints the same (a tie at the
// interval's edge takes a few float32 steps). A printed −0 stands for
// [−half, 0), which no positive v reaches by stepping; it becomes −0.
func intoInterval(v float32, printed, half float64, decimals int) float32 {
	if samePrint(v, printed, decimals) {
		return v
	}
	c := float32(math.Max(printed-half, math.Min(printed+half, float64(v))))
	toward := float32(printed)
	for range 64 {
		if samePrint(c, printed, decimals) {
			return c
		}
		c = math.Nextafter32(c, toward)
	}
	return toward
}

// samePrint reports whether v prints with the given decimals as printed
// does.
func samePrint(v float32, printed float64, decimals int) bool {
	var a, b [32]byte
	return string(strconv.AppendFloat(a[:0], float64(v), 'f', decimals, 64)) ==
		string(strconv.AppendFloat(b[:0], printed, 'f', decimals, 64))
}

// feasiblePoint finds q strictly inside the polytope by the phase-one
// barrier method: minimise s subject to |r + J·q| ≤ bound + s and the
// parameter box, stopping as soon as s < 0. It reports false when the
// polytope is empty.
func (p *polytope) feasiblePoint() ([6]float64, bool) {
	var q [6]float64
	s := math.Inf(-1)
	for k, v := range p.r {
		s = math.Max(s, math.Abs(v)-p.bound[k])
	}
	if s < 0 {
		return q, true
	}
	s += widenSlack
	e := append([]float64(nil), p.r...)
	et := make([]float64, len(e))
	// phi is the phase-one objective −t·s + Σ log(slack).
	phi := func(e []float64, q *[6]float64, s, t float64) float64 {
		return p.logBarrier(-t*s, e, q, s)
	}
	// Start t where the objective's pull on s matches the barrier's.
	var t float64
	for k, x := range e {
		t += 1/(p.bound[k]+s-x) + 1/(p.bound[k]+s+x)
	}
	nc := float64(2 * (len(e) + 6))
	for stage := 0; stage < phaseOneStages; stage++ {
		for it := 0; it < newtonSteps; it++ {
			var h [7][7]float64
			var g [7]float64
			g[6] = -t
			for k, x := range e {
				a, b := p.bound[k]+s-x, p.bound[k]+s+x
				ia, ib := 1/a, 1/b
				gq := ib - ia
				hq := ia*ia + ib*ib
				hs := ib*ib - ia*ia
				j := &p.jac[k]
				for c := 0; c < 6; c++ {
					g[c] += gq * j[c]
					for d := 0; d <= c; d++ {
						h[c][d] += hq * j[c] * j[d]
					}
					h[6][c] += hs * j[c]
				}
				g[6] += ia + ib
				h[6][6] += hq
			}
			for c := 0; c < 6; c++ {
				a, b := paramHalfStep-q[c], paramHalfStep+q[c]
				g[c] += 1/b - 1/a
				h[c][c] += 1/(a*a) + 1/(b*b)
			}
			d, dec, ok := newtonDirection7(h, g)
			if !ok {
				return q, false
			}
			f0 := phi(e, &q, s, t)
			moved := false
			for step := 1.0; step > 1e-10; step /= 2 {
				var qt [6]float64
				for c := range qt {
					qt[c] = q[c] + step*d[c]
				}
				st := s + step*d[6]
				p.residuals(&qt, et)
				if phi(et, &qt, st, t) > f0 {
					q, s = qt, st
					e, et = et, e
					moved = true
					break
				}
			}
			if s < 0 {
				return q, true
			}
			if !moved || dec < newtonTolerance {
				break
			}
		}
		// At the centre for t, the optimum s is at least s − nc/t.
		if s-nc/t > 0 {
			return q, false
		}
		t *= 10
	}
	return q, false
}

// residuals writes r + J·q into e.
func (p *polytope) residuals(q *[6]float64, e []float64) {
	for k, j := range p.jac {
		e[k] = p.r[k] + j[0]*q[0] + j[1]*q[1] + j[2]*q[2] + j[3]*q[3] + j[4]*q[4] + j[5]*q[5]
	}
}

// centre moves q, strictly inside the polytope, to its analytic centre by
// damped Newton steps on the log-barrier.
// logBarrier adds to v the log-barrier Σ log(slack) of the landmark
// constraints, each widened by s, and of the parameter intervals; −Inf
// outside the region.
func (p *polytope) logBarrier(v float64, e []float64, q *[6]float64, s float64) float64 {
	for k, x := range e {
		a, b := p.bound[k]+s-x, p.bound[k]+s+x
		if !(a > 0 && b > 0) {
			return math.Inf(-1)
		}
		v += math.Log(a * b)
	}
	for _, x := range q {
		a, b := paramHalfStep-x, paramHalfStep+x
		if !(a > 0 && b > 0) {
			return math.Inf(-1)
		}
		v += math.Log(a * b)
	}
	return v
}

func (p *polytope) centre(q *[6]float64) {
	e := make([]float64, len(p.r))
	et := make([]float64, len(p.r))
	p.residuals(q, e)
	phi := func(e []float64, q *[6]float64) float64 {
		return p.logBarrier(0, e, q, 0)
	}
	for it := 0; it < centreIterations; it++ {
		var h [7][7]float64
		var g [7]float64
		for k, x := range e {
			a, b := p.bound[k]-x, p.bound[k]+x
			ia, ib := 1/a, 1/b
			gq := ib - ia
			hq := ia*ia + ib*ib
			j := &p.jac[k]
			for c := 0; c < 6; c++ {
				g[c] += gq * j[c]
				for d := 0; d <= c; d++ {
					h[c][d] += hq * j[c] * j[d]
				}
			}
		}
		for c := 0; c < 6; c++ {
			a, b := paramHalfStep-q[c], paramHalfStep+q[c]
			g[c] += 1/b - 1/a
			h[c][c] += 1/(a*a) + 1/(b*b)
		}
		// The unused seventh variable gets a unit diagonal.
		h[6][6] = 1
		d, dec, ok := newtonDirection7(h, g)
		if !ok || dec < newtonTolerance {
			return
		}
		f0 := phi(e, q)
		moved := false
		for step := 1.0; step > 1e-10; step /= 2 {
			var qt [6]float64
			for c := range qt {
				qt[c] = q[c] + step*d[c]
			}
			p.residuals(&qt, et)
			if phi(et, &qt) > f0 {
				*q = qt
				e, et = et, e
				moved = true
				break
			}
		}
		if !moved {
			return
		}
	}
}

// newtonDirection7 solves h·d = g for the 7×7 symmetric positive definite
// h of which the lower triangle is filled, and returns d with the Newton
// decrement gᵀ·d. ok is false when h is not positive definite.
func newtonDirection7(h [7][7]float64, g [7]float64) (d [7]float64, dec float64, ok bool) {
	const n = 7
	var l [n][n]float64
	for j := 0; j < n; j++ {
		s := h[j][j]
		for k := 0; k < j; k++ {
			s -= l[j][k] * l[j][k]
		}
		if !(s > 0) {
			return d, 0, false
		}
		l[j][j] = math.Sqrt(s)
		for i := j + 1; i < n; i++ {
			t := h[i][j]
			for k := 0; k < j; k++ {
				t -= l[i][k] * l[j][k]
			}
			l[i][j] = t / l[j][j]
		}
	}
	d = g
	for i := 0; i < n; i++ {
		for k := 0; k < i; k++ {
			d[i] -= l[i][k] * d[k]
		}
		d[i] /= l[i][i]
	}
	for i := n - 1; i >= 0; i-- {
		for k := i + 1; k < n; k++ {
			d[i] -= l[k][i] * d[k]
		}
		d[i] /= l[i][i]
	}
	for i := range g {
		dec += g[i] * d[i]
	}
	return d, dec, true
}
