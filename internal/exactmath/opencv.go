package exactmath

import "math"

// DotCV returns Σ x[k]·y[k] (y at least as long as x) unrounded, summed as
// OpenCV 4.6's own gemm sums one output of a float or double product that
// it does not hand to BLAS (fewer than 100 result rows): four float64
// partial sums over k mod 4, the tail in the first, combined left to
// right. The products of float32 values are exact in float64.
func DotCV(x, y []float32) float64 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float64
	k := 0
	for ; k+4 <= len(x); k += 4 {
		s0 += float64(x[k]) * float64(y[k])
		s1 += float64(x[k+1]) * float64(y[k+1])
		s2 += float64(x[k+2]) * float64(y[k+2])
		s3 += float64(x[k+3]) * float64(y[k+3])
	}
	for ; k < len(x); k++ {
		s0 += float64(x[k]) * float64(y[k])
	}
	return s0 + s1 + s2 + s3
}

// MatVecCV sets out[i] = alpha·(Σ_k a[i·cols+k]·x[k]) + c[i] for every
// i < len(out) as OpenCV's gemm does for a single output column of fewer
// than 100 rows: DotCV, scaled and added to c in float64, rounded once to
// float32. c may be nil (β = 0).
func MatVecCV(out, a []float32, cols int, x []float32, alpha float64, c []float32) {
	x = x[:cols]
	for i := range out {
		s := DotCV(a[i*cols:i*cols+cols], x) * alpha
		if c != nil {
			s += float64(c[i])
		}
		out[i] = float32(s)
	}
}

// FltEpsilon is FLT_EPSILON, the threshold under which OpenCV's float
// Cholesky declares a pivot not positive.
const FltEpsilon = 0x1p-23

// choleskyFactor overwrites the lower triangle of the symmetric n×n matrix
// a with its Cholesky factor as OpenCV's float Cholesky computes it:
// float64 accumulators, float32 products of factor entries, and the
// reciprocal of each diagonal entry stored in its place. It returns false
// when a pivot falls below FltEpsilon (not positive definite).
func choleskyFactor(a []float32, n int) bool {
	for i := 0; i < n; i++ {
		ai := a[i*n : i*n+n]
		// Each off-diagonal entry is a serial float64 sum; four of them
		// run side by side so that the CPU overlaps their latencies. Entry
		// j+m needs the entries j..j+m−1 of row i, which end its sum, so
		// the common terms k < j come first and the rest in turn: every
		// sum keeps its order, k ascending.
		j := 0
		for ; j+4 <= i; j += 4 {
			a0, a1, a2, a3 := a[j*n:j*n+n], a[(j+1)*n:(j+1)*n+n], a[(j+2)*n:(j+2)*n+n], a[(j+3)*n:(j+3)*n+n]
			s0, s1, s2, s3 := float64(ai[j]), float64(ai[j+1]), float64(ai[j+2]), float64(ai[j+3])
			head := ai[:j]
			a0, a1, a2, a3 = a0[:len(head)+4], a1[:len(head)+4], a2[:len(head)+4], a3[:len(head)+4]
			for k, x := range head {
				s0 -= float64(x * a0[k])
				s1 -= float64(x * a1[k])
				s2 -= float64(x * a2[k])
				s3 -= float64(x * a3[k])
			}
			v := float32(s0 * float64(a0[j]))
			ai[j] = v
			s1 -= float64(v * a1[j])
			s2 -= float64(v * a2[j])
			s3 -= float64(v * a3[j])
			v = float32(s1 * float64(a1[j+1]))
			ai[j+1] = v
			s2 -= float64(v * a2[j+1])
			s3 -= float64(v * a3[j+1])
			v = float32(s2 * float64(a2[j+2]))
			ai[j+2] = v
			s3 -= float64(v * a3[j+2])
			ai[j+3] = float32(s3 * float64(a3[j+3]))
		}
		for ; j < i; j++ {
			aj := a[j*n : j*n+n]
			s := float64(ai[j])
			for k := 0; k < j; k++ {
				s -= float64(ai[k] * aj[k])
			}
			ai[j] = float32(s * float64(aj[j]))
		}
		s := float64(ai[i])
		for k := 0; k < i; k++ {
			t := float64(ai[k])
			s -= t * t
		}
		if s < FltEpsilon {
			return false
		}
		ai[i] = float32(1 / math.Sqrt(s))
	}
	return true
}

// CholeskySolve solves a·x = b in place (b becomes x) for a symmetric
// positive definite n×n float32 matrix (row-major; only the lower triangle
// is read) as cv::solve(…, DECOMP_CHOLESKY) does for 4 ≤ n < 100, the sizes
// of OpenFace's fits. a is overwritten with the factor. It returns false,
// leaving b unspecified, when the matrix is not positive definite.
func CholeskySolve(a []float32, n int, b []float32) bool {
	a, b = a[:n*n], b[:n]
	if !choleskyFactor(a, n) {
		return false
	}
	for i := 0; i < n; i++ {
		s := float64(b[i])
		for k := 0; k < i; k++ {
			s -= float64(a[i*n+k] * b[k])
		}
		b[i] = float32(s * float64(a[i*n+i]))
	}
	for i := n - 1; i >= 0; i-- {
		s := float64(b[i])
		for k := n - 1; k > i; k-- {
			s -= float64(a[k*n+i] * b[k])
		}
		b[i] = float32(s * float64(a[i*n+i]))
	}
	return true
}

// CholeskyInvert returns the inverse of the symmetric positive definite
// n×n float32 matrix a (row-major; only the lower triangle is read; a is
// overwritten with the factor) as cv::invert(…, DECOMP_CHOLESKY) computes
// it: the factorisation of CholeskySolve, then the identity solved for
// column by column with the same pattern. When the matrix is not positive
// definite it returns zeros, as OpenCV does. (OpenCV hands matrices of 100
// rows or more to LAPACK when it was built with it, which sums
// differently: CholeskyInvertLAPACK.)
func CholeskyInvert(a []float32, n int) []float32 {
	a = a[:n*n]
	b := make([]float32, n*n)
	if !choleskyFactor(a, n) {
		return b
	}
	for i := 0; i < n; i++ {
		b[i*n+i] = 1
	}
	for i := 0; i < n; i++ {
		li := a[i*n : i*n+n]
		for j := 0; j < n; j++ {
			s := float64(b[i*n+j])
			for k := 0; k < i; k++ {
				s -= float64(li[k] * b[k*n+j])
			}
			b[i*n+j] = float32(s * float64(li[i]))
		}
	}
	for i := n - 1; i >= 0; i-- {
		for j := 0; j < n; j++ {
			s := float64(b[i*n+j])
			for k := n - 1; k > i; k-- {
				s -= float64(a[k*n+i] * b[k*n+j])
			}
			b[i*n+j] = float32(s * float64(a[i*n+i]))
		}
	}
	return b
}
