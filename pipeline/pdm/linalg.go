package pdm

import (
	"fmt"

	"facemirror/internal/exactmath"
)

// OpenFace's products through OpenBLAS (sgemm_ in PDM::CalcShape3D and the
// CalcParams Hessian; cv::gemm with 100 or more rows) follow OpenBLAS
// 0.3.21's small-matrix kernel, and those cv::gemm computes itself (fewer
// rows) OpenCV's float64 sums; package exactmath reproduces both orders.

// AddHessian adds the Gauss–Newton Hessian (W·J)ᵀ·J (WT·J) to h, a
// Cols×Cols row-major matrix, summing in the order of OpenBLAS's sgemm as
// CLNF::NU_RLMS and PDM::CalcParams call it (h usually holds the
// regularisation already, as OpenFace's Hessian starts as a copy of it).
func (j Jacobian) AddHessian(h []float32) error {
	p, kn := j.Cols, j.Rows
	if p == 0 || len(h) != p*p || len(j.J) != p*kn || len(j.WT) != p*kn {
		return fmt.Errorf("pdm: Hessian of a %d×%d Jacobian into %d values", kn, p, len(h))
	}
	jt := make([]float32, p*kn)
	for r := 0; r < kn; r++ {
		for c := 0; c < p; c++ {
			jt[c*kn+r] = j.J[r*p+c]
		}
	}
	exactmath.AddHessian(h, jt, j.WT, p, kn)
	return nil
}

// SolveCholesky solves a·x = b for a symmetric positive definite n×n
// float32 matrix (row-major; only the lower triangle is read) exactly as
// cv::solve(…, DECOMP_CHOLESKY) does for 4 ≤ n < 100, the sizes of
// OpenFace's fits. a and b are not modified. When the factorisation fails
// it returns zeros and false, as cv::solve does.
func SolveCholesky(a []float32, n int, b []float32) ([]float32, bool) {
	if n <= 0 || len(a) < n*n || len(b) < n {
		return nil, false
	}
	f := append([]float32(nil), a[:n*n]...)
	x := append([]float32(nil), b[:n]...)
	if !exactmath.CholeskySolve(f, n, x) {
		for i := range x {
			x[i] = 0
		}
		return x, false
	}
	return x, true
}
