package pdm

import (
	"errors"
	"fmt"
	"math"

	"facemirror/internal/exactmath"
)

// ErrNoLandmarks is returned when every landmark is missing (x == 0).
var ErrNoLandmarks = errors.New("pdm: no landmark present")

// maxFitIterations is CalcParams' iteration cap.
const maxFitIterations = 1000

// CalcParams fits global and local parameters to 2D landmarks (2n values:
// x of every point, then y) exactly as OpenFace's
// PDM::CalcParams(global, local, landmarks, rotation) does: a point whose x
// is 0 is missing and left out; the start is the landmarks' bounding box
// (scale from the model's box, translation at the box centre, rotation rot);
// then Gauss–Newton steps regularised by 1/eigenvalue, damped by 0.75 and
// not clamped, until the error (measured, as in OpenFace, with the 3D shape
// from before the step) has failed three times in all to drop by 0.1%, or
// after 1000 steps.
func (md *Model) CalcParams(landmarks []float32, rot Euler) (Params, error) {
	n, m := md.n, md.m
	if len(landmarks) != 2*n {
		return Params{}, fmt.Errorf("pdm: %d landmark values, want %d", len(landmarks), 2*n)
	}
	for _, v := range landmarks {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return Params{}, fmt.Errorf("pdm: landmark value %v is not finite", v)
		}
	}
	vis := make([]int, 0, n)
	for i := 0; i < n; i++ {
		if landmarks[i] != 0 {
			vis = append(vis, i)
		}
	}
	k := len(vis)
	if k == 0 {
		return Params{}, ErrNoLandmarks
	}
	// The model reduced to the present points, as OpenFace builds it.
	mean := make([]float32, 3*k)
	pc := make([]float32, 3*k*m)
	for b := 0; b < 3; b++ {
		for j, i := range vis {
			mean[b*k+j] = md.Mean[b*n+i]
			copy(pc[(b*k+j)*m:(b*k+j+1)*m], md.PrincComp[(b*n+i)*m:(b*n+i+1)*m])
		}
	}
	target := make([]float32, 2*k)
	for j, i := range vis {
		target[j] = landmarks[i]
		target[k+j] = landmarks[n+i]
	}
	f := fitter{k: k, m: m, mean: mean, pc: pc, eig: md.EigenValues, target: target}
	g, local := f.run(rot)
	return Params{Global: g, Local: local}, nil
}

// fitter holds the reduced model and the working buffers of one CalcParams.
type fitter struct {
	k, m   int
	mean   []float32 // 3k
	pc     []float32 // 3k×m
	eig    []float32
	target []float32 // 2k

	shape3D, blas3D, cur, resid, grad, hess, jac, jt []float32
	// hs keeps the Hessian product's buffers from step to step.
	hs exactmath.HessianScratch
}

func (f *fitter) run(rot Euler) (Global, []float32) {
	k, m := f.k, f.m
	p := 6 + m
	f.shape3D = make([]float32, 3*k)
	f.blas3D = make([]float32, 3*k)
	f.cur = make([]float32, 2*k)
	f.resid = make([]float32, 2*k)
	f.grad = make([]float32, p)
	f.hess = make([]float32, p*p)
	f.jac = make([]float32, 2*k*p)
	f.jt = make([]float32, p*2*k)

	minX, maxX, minY, maxY := boundingBox(f.target)
	width := abs32(minX - maxX)
	height := abs32(minY - maxY)
	// The model's own box at unit scale and no rotation.
	local := make([]float32, m)
	exactmath.MatVecBLAS(f.blas3D, f.pc, m, local, f.mean)
	project(f.cur, f.blas3D, k, Global{Scale: 1})
	mMinX, mMaxX, mMinY, mMaxY := boundingBox(f.cur)
	scaling := (width/abs32(mMinX-mMaxX) + height/abs32(mMinY-mMaxY)) / 2
	g := Global{Scale: scaling, Rx: rot.X, Ry: rot.Y, Rz: rot.Z, Tx: (minX + maxX) / 2, Ty: (minY + maxY) / 2}

	f.product3D(local)
	project(f.cur, f.shape3D, k, g)
	currErr := f.errorNorm()

	reg := make([]float32, m)
	for i, ev := range f.eig {
		reg[i] = 1 / ev
	}
	notImproved := 0
	for iter := 0; iter < maxFitIterations; iter++ {
		f.product3D(local)
		f.projectCV(g)
		for i := range f.resid {
			f.resid[i] = f.target[i] - f.cur[i]
		}
		// The Jacobian takes its 3D shape from PDM::CalcShape3D (OpenBLAS),
		// which equals shape3D when cv::gemm went through OpenBLAS too.
		s3 := f.shape3D
		if 3*k < 100 {
			exactmath.MatVecBLAS(f.blas3D, f.pc, m, local, f.mean)
			s3 = f.blas3D
		}
		fillJacobian(f.jac, s3, k, m, f.pc, g, true)
		for r := 0; r < 2*k; r++ {
			for c := 0; c < p; c++ {
				f.jt[c*2*k+r] = f.jac[r*p+c]
			}
		}
		exactmath.MatVecCV(f.grad, f.jt, 2*k, f.resid, 1, nil)
		for i := 0; i < m; i++ {
			f.grad[6+i] = float32(float64(f.grad[6+i]) - float64(reg[i])*float64(local[i]))
		}
		for i := range f.hess {
			f.hess[i] = 0
		}
		for i := 0; i < m; i++ {
			f.hess[(6+i)*p+6+i] = reg[i]
		}
		f.hs.AddHessian(f.hess, f.jt, f.jt, p, 2*k)
		if !exactmath.CholeskySolve(f.hess, p, f.grad) {
			for i := range f.grad {
				f.grad[i] = 0
			}
		}
		for i := range f.grad {
			f.grad[i] *= 0.75
		}
		updateParams(f.grad, &g, local)
		// The error is measured with the shape from before the update.
		f.projectCV(g)
		e := f.errorNorm()
		if 0.999*float64(currErr) < float64(e) {
			notImproved++
			if notImproved == 3 {
				break
			}
		}
		currErr = e
	}
	return g, local
}

// product3D sets shape3D = mean + pc·local as cv::gemm computes it: through
// OpenBLAS from 100 rows on, with OpenCV's own float64 sums below.
func (f *fitter) product3D(local []float32) {
	if 3*f.k >= 100 {
		exactmath.MatVecBLAS(f.shape3D, f.pc, f.m, local, f.mean)
	} else {
		exactmath.MatVecCV(f.shape3D, f.pc, f.m, local, 1, f.mean)
	}
}

// projectCV projects shape3D as CalcParams does with cv::gemm
// (scale·Sᵀ·R₂ᵀ summed in float64, rounded once) plus the translation.
func (f *fitter) projectCV(g Global) {
	k := f.k
	r := RotationMatrix(g.Rotation())
	s := float64(g.Scale)
	for i := 0; i < k; i++ {
		x, y, z := float64(f.shape3D[i]), float64(f.shape3D[k+i]), float64(f.shape3D[2*k+i])
		px := x*float64(r[0][0]) + y*float64(r[0][1]) + z*float64(r[0][2])
		py := x*float64(r[1][0]) + y*float64(r[1][1]) + z*float64(r[1][2])
		f.cur[i] = float32(px*s) + g.Tx
		f.cur[k+i] = float32(py*s) + g.Ty
	}
}

// errorNorm is cv::norm(cur − target) narrowed to float32.
func (f *fitter) errorNorm() float32 {
	var s float64
	for i, v := range f.cur {
		d := float64(v - f.target[i])
		s += d * d
	}
	return float32(math.Sqrt(s))
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// Box is a face box in image pixels.
type Box struct{ X, Y, W, H float32 }

// CalcParamsBox returns the global parameters that place the shape given
// by local, rotated by rot, in the box (PDM::CalcParams(global, bbox,
// local, rotation)): the scale fits the rotated shape's 2D extent to the
// box and the translation centres it.
func (md *Model) CalcParamsBox(box Box, local []float32, rot Euler) (Global, error) {
	s3, err := md.Shape3D(local, nil)
	if err != nil {
		return Global{}, err
	}
	n := md.n
	r := RotationMatrix(rot)
	minX, maxX := math.Inf(1), math.Inf(-1)
	minY, maxY := math.Inf(1), math.Inf(-1)
	for i := 0; i < n; i++ {
		x, y, z := s3[i], s3[n+i], s3[2*n+i]
		// (3×3)·(3×n) through cv::gemm's small path: float32 sums.
		rx := float64(float32(float32(r[0][0]*x)+float32(r[0][1]*y)) + float32(r[0][2]*z))
		ry := float64(float32(float32(r[1][0]*x)+float32(r[1][1]*y)) + float32(r[1][2]*z))
		minX, maxX = math.Min(minX, rx), math.Max(maxX, rx)
		minY, maxY = math.Min(minY, ry), math.Max(maxY, ry)
	}
	width := float32(math.Abs(minX - maxX))
	height := float32(math.Abs(minY - maxY))
	scaling := (box.W/width + box.H/height) / 2
	tx := box.X + box.W/2
	ty := box.Y + box.H/2
	tx = float32(float64(tx) - float64(scaling)*(minX+maxX)/2)
	ty = float32(float64(ty) - float64(scaling)*(minY+maxY)/2)
	return Global{Scale: scaling, Rx: rot.X, Ry: rot.Y, Rz: rot.Z, Tx: tx, Ty: ty}, nil
}
