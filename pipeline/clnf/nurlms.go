package clnf

import (
	"fmt"
	"math"

	"facemirror/internal/exactmath"
	"facemirror/pipeline/pdm"
)

// scaleInput is what one patch scale hands to both NU-RLMS passes: the
// response maps computed around base, the similarity transforms between
// the image and the reference frame of the patch experts, and the settings
// in effect.
type scaleInput struct {
	// ws is the response window size and view the patch experts' view.
	ws, view int
	// resp[i] is landmark i's ws×ws response map (row-major); only visible
	// landmarks are read.
	resp [][]float32
	// visible[i] tells whether landmark i has an expert in the view.
	visible []bool
	// base is the shape (2n: x block, y block) the responses were
	// computed at.
	base []float32
	// imgToRef and refToImg map image offsets to response pixels and
	// back.
	imgToRef, refToImg pdm.Mat2
	// weights are the 2n diagonal entries of NU-RLMS' W, nil for W = I.
	weights []float32
	// kde is the kernel table for ws, and set the scale's settings.
	kde *kdeTable
	set scaleSettings
	// work is the NU-RLMS scratch memory; nil means fresh buffers.
	work *nurlmsWork
}

// nurlmsWork holds the buffers of NU-RLMS iterations, reused from
// iteration to iteration and, through a tracker's fitWork, from pass to
// pass.
type nurlmsWork struct {
	reg, shape, shape3D, prev, dx, dy, ms, jt, grad, hess, factor, delta []float32
	jac                                                                  pdm.Jacobian
	hs                                                                   exactmath.HessianScratch
}

// buf returns b resliced to n zeros, reallocated when its capacity is too
// small.
func buf(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	b = b[:n]
	clear(b)
	return b
}

// nurlms runs one NU-RLMS pass (CLNF::NU_RLMS) from g and local, rigid or
// non-rigid, for at most iterations steps, updating g and local in place.
// With lhood it also returns the mean log KDE likelihood of the visible
// landmarks, evaluated at the offsets of the last executed iteration.
// hook, when not nil, sees the parameters after each step.
func nurlms(md *pdm.Model, g *pdm.Global, local []float32, in *scaleInput, rigid bool, iterations int, lhood bool, hook func(rigid bool, iter int)) (float32, error) {
	n, m := md.NumPoints(), md.NumModes()
	p := 6
	if !rigid {
		p += m
	}
	w := in.work
	if w == nil {
		w = new(nurlmsWork)
	}
	var reg []float32
	if !rigid {
		w.reg = buf(w.reg, m)
		reg = w.reg
		for i, ev := range md.EigenValues {
			reg[i] = in.set.reg / ev
		}
	}
	k := 2 * n
	ws := in.ws
	half := float32((ws - 1) / 2)
	a, b := in.imgToRef, in.refToImg

	shape, shape3D, prev := w.shape, w.shape3D, w.prev[:0]
	dx := buf(w.dx, n)
	dy := buf(w.dy, n)
	ms := buf(w.ms, k)
	grad := buf(w.grad, p)
	hess := buf(w.hess, p*p)
	factor := buf(w.factor, p*p)
	delta := buf(w.delta, p)
	// With W = I, JacobianInto's WT is Jᵀ exactly, the unweighted
	// transpose NU-RLMS needs; otherwise the transpose has a buffer of its
	// own.
	var jt []float32
	if in.weights != nil {
		jt = buf(w.jt, p*k)
		w.jt = jt
	}
	w.dx, w.dy, w.ms, w.grad, w.hess, w.factor, w.delta = dx, dy, ms, grad, hess, factor, delta
	jac := &w.jac
	defer func() { w.shape, w.shape3D, w.prev = shape, shape3D, prev }()
	for iter := 0; iter < iterations; iter++ {
		var err error
		// The 3D shape of the landmarks is also the Jacobian's
		// (PDM::ComputeJacobian's CalcShape3D of the same parameters).
		shape, shape3D, err = md.Shape2DAnd3D(*g, local, shape, shape3D)
		if err != nil {
			return 0, err
		}
		if iter > 0 && shapeDistance(shape, prev) < 0.01 {
			break
		}
		prev = append(prev[:0], shape...)

		if err := md.JacobianAt(jac, shape3D, *g, in.weights, !rigid); err != nil {
			return 0, err
		}

		// (shape − base)·Aᵀ: cv::gemm with the second factor transposed
		// (GEMM_2_T), which skips OpenCV's float 2×2 shortcut and sums
		// each output in double, rounded once.
		for i := 0; i < n; i++ {
			ox := shape[i] - in.base[i]
			oy := shape[i+n] - in.base[i+n]
			dx[i] = mulRow2T(ox, oy, a[0]) + half
			dy[i] = mulRow2T(ox, oy, a[1]) + half
		}
		for i := 0; i < n; i++ {
			if !in.visible[i] {
				ms[i], ms[i+n] = 0, 0
				continue
			}
			mx, my := in.kde.meanShift(in.resp[i], dx[i], dy[i])
			// Back to the image frame: (n×2)·(2×2)ᵀ, again a GEMM_2_T
			// product summed in double.
			ms[i] = mulRow2T(mx, my, b[0])
			ms[i+n] = mulRow2T(mx, my, b[1])
		}
		if in.weights != nil {
			for r := 0; r < k; r++ {
				for c, v := range jac.J[r*p : r*p+p] {
					jt[c*k+r] = v
				}
			}
		} else {
			jt = jac.WT
		}
		for i := 0; i < n; i++ {
			if in.visible[i] {
				continue
			}
			for c := 0; c < p; c++ {
				jt[c*k+i], jt[c*k+i+n] = 0, 0
				jac.WT[c*k+i], jac.WT[c*k+i+n] = 0, 0
			}
		}

		exactmath.MatVecCV(grad, jac.WT, k, ms, 1, nil)
		for i := range hess {
			hess[i] = 0
		}
		if !rigid {
			// g − reg·p is a single cv::gemm (alpha −1, beta 1): the
			// product and the difference in double, rounded once.
			for i := 0; i < m; i++ {
				grad[6+i] = float32(float64(grad[6+i]) - float64(reg[i])*float64(local[i]))
				hess[(6+i)*p+6+i] = reg[i]
			}
		}
		if in.weights == nil {
			// W = I: JᵀW is Jᵀ.
			w.hs.AddHessian(hess, jt, jt, p, k)
		} else {
			w.hs.AddHessian(hess, jt, jac.WT, p, k)
		}
		// pdm.SolveCholesky without its copies: the factor is formed in a
		// copy of the Hessian and a failed factorisation gives zeros.
		copy(factor, hess)
		copy(delta, grad)
		if !exactmath.CholeskySolve(factor, p, delta) {
			clear(delta)
		}
		if err := md.UpdateParams(delta, g, local); err != nil {
			return 0, err
		}
		if err := md.Clamp(local); err != nil {
			return 0, err
		}
		if hook != nil {
			hook(rigid, iter)
		}
	}
	if !lhood {
		return 0, nil
	}
	var ll float32
	visible := 0
	for i := 0; i < n; i++ {
		if !in.visible[i] {
			continue
		}
		visible++
		li := landmarkLikelihood(in.resp[i], ws, dx[i], dy[i], in.set.sigma)
		ll = float32(float64(ll) + math.Log(float64(li)+1e-8))
	}
	if visible == 0 {
		return 0, fmt.Errorf("clnf: no visible landmark in the view")
	}
	return float32(float64(ll) / float64(visible)), nil
}

// mulRow2T is one output of OpenCV's gemm of an (n×2) float matrix by a
// transposed 2×2 one: x·r0 + y·r1 with the products and their sum in
// double, rounded to float once (GEMMSingleMul<float, double>).
func mulRow2T(x, y float32, r [2]float32) float32 {
	return float32(float64(x)*float64(r[0]) + float64(y)*float64(r[1]))
}

// shapeDistance is cv::norm(a, b): the L2 norm of the float differences,
// summed in double.
func shapeDistance(a, b []float32) float64 {
	var s float64
	for i, v := range a {
		d := float64(v - b[i])
		s += d * d
	}
	return math.Sqrt(s)
}
