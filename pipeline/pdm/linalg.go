package pdm

import (
	"fmt"
	"math"
)

// fmaf32Slow finishes a float32 FMA whose float64 sum s = p + cc may round
// differently from the exact sum: it settles the halfway case with the
// sum's exact rounding error.
func fmaf32Slow(p, cc, s float64) float32 {
	f := float32(s)
	if float64(f) == s || math.IsInf(s, 0) || math.IsNaN(s) {
		return f
	}
	lo, hi := f, f
	if float64(f) < s {
		hi = math.Nextafter32(f, float32(math.Inf(1)))
	} else {
		lo = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	if s != (float64(lo)+float64(hi))/2 {
		return f
	}
	// TwoSum: the exact error of s = p + cc.
	bv := s - p
	e := (p - (s - bv)) + (cc - bv)
	switch {
	case e > 0:
		return hi
	case e < 0:
		return lo
	}
	return f
}

// OpenFace's products through OpenBLAS (sgemm_ in PDM::CalcShape3D and the
// CalcParams Hessian; cv::gemm with 100 or more rows) all fall under
// OpenBLAS 0.3.21's small-matrix sgemm kernel for SkylakeX-class CPUs, the
// build the reference ran on. Seen column-major, that kernel computes C(i,j)
// in one of two ways:
//   - rows in blocks of 16 (and every row when K < 32 or more than 8 rows
//     remain): one float32 FMA chain over k = 0..K-1;
//   - the last (at most 8) rows when K ≥ 32: 16 FMA lanes over k mod 16,
//     reduced by a fixed tree that depends on how the columns are grouped.
//
// In both cases the result is then added to C with one rounding.
const blasDotMinK = 32

// Bit patterns of the fast-path test of fmaStep.
const (
	halfwayMask = 1<<29 - 1
	halfwayBits = 1 << 28
	expMask     = 0x7ff0000000000000
	minNormal32 = 0x3810000000000000
)

// blasChain is a float32 FMA chain over k.
func blasChain(x, y []float32) float32 {
	var acc float32
	y = y[:len(x)]
	for k, v := range x {
		p := float64(v) * float64(y[k])
		s := p + float64(acc)
		if b := math.Float64bits(s); b&halfwayMask == halfwayBits || (b&expMask < minNormal32 && b<<1 != 0) {
			acc = fmaf32Slow(p, float64(acc), s)
		} else {
			acc = float32(s)
		}
	}
	return acc
}

// fmaStep returns a·b + acc rounded once to float32, as the FMA instructions
// in OpenBLAS's kernels compute it, given p = a·b (exact in float64). The
// float64 sum is correctly rounded; rounding it again to float32 equals a
// single rounding except when it lies exactly halfway between two float32
// values (its 29 low mantissa bits are 1 followed by zeros) or in the
// float32 subnormal range, which take the slow path. The hot loops below
// repeat this body because the compiler does not inline it.
func fmaStep(p float64, acc float32) float32 {
	s := p + float64(acc)
	if bits := math.Float64bits(s); bits&halfwayMask == halfwayBits || (bits&expMask < minNormal32 && bits<<1 != 0) {
		return fmaf32Slow(p, float64(acc), s)
	}
	return float32(s)
}

// blasChain4 runs four FMA chains x_i·y side by side, which lets the CPU
// overlap their latencies.
func blasChain4(x0, x1, x2, x3, y []float32) (a0, a1, a2, a3 float32) {
	n := len(y)
	x0, x1, x2, x3 = x0[:n], x1[:n], x2[:n], x3[:n]
	for k, v := range y {
		yv := float64(v)
		p0, p1, p2, p3 := float64(x0[k])*yv, float64(x1[k])*yv, float64(x2[k])*yv, float64(x3[k])*yv
		s0, s1, s2, s3 := p0+float64(a0), p1+float64(a1), p2+float64(a2), p3+float64(a3)
		b0, b1, b2, b3 := math.Float64bits(s0), math.Float64bits(s1), math.Float64bits(s2), math.Float64bits(s3)
		if b0&halfwayMask == halfwayBits || b1&halfwayMask == halfwayBits ||
			b2&halfwayMask == halfwayBits || b3&halfwayMask == halfwayBits ||
			(b0&expMask < minNormal32 && b0<<1 != 0) || (b1&expMask < minNormal32 && b1<<1 != 0) ||
			(b2&expMask < minNormal32 && b2<<1 != 0) || (b3&expMask < minNormal32 && b3<<1 != 0) {
			a0, a1, a2, a3 = fmaStep(p0, a0), fmaStep(p1, a1), fmaStep(p2, a2), fmaStep(p3, a3)
			continue
		}
		a0, a1, a2, a3 = float32(s0), float32(s1), float32(s2), float32(s3)
	}
	return
}

// blasLanes accumulates x·y in 16 FMA lanes over k mod 16.
func blasLanes(x, y []float32) [16]float32 {
	var l [16]float32
	y = y[:len(x)]
	k16 := len(x) &^ 15
	for k := 0; k < k16; k += 16 {
		xs, ys := x[k:k+16], y[k:k+16]
		for j := range l {
			p := float64(xs[j]) * float64(ys[j])
			s := p + float64(l[j])
			if b := math.Float64bits(s); b&halfwayMask == halfwayBits || (b&expMask < minNormal32 && b<<1 != 0) {
				l[j] = fmaf32Slow(p, float64(l[j]), s)
			} else {
				l[j] = float32(s)
			}
		}
	}
	for j := 0; k16+j < len(x); j++ {
		l[j] = fmaStep(float64(x[k16+j])*float64(y[k16+j]), l[j])
	}
	return l
}

// reduceQuad is the lane reduction of the kernel's four-at-a-time stores.
func reduceQuad(l [16]float32) float32 {
	var q [4]float32
	for b := range q {
		q[b] = (l[4*b] + l[4*b+1]) + (l[4*b+2] + l[4*b+3])
	}
	return (q[0] + q[1]) + (q[2] + q[3])
}

// reduce512 is GCC's _mm512_reduce_add_ps, used for single stores.
func reduce512(l [16]float32) float32 {
	var t3 [8]float32
	for i := range t3 {
		t3[i] = l[i+8] + l[i]
	}
	var t6 [4]float32
	for i := range t6 {
		t6[i] = t3[i+4] + t3[i]
	}
	return (t6[0] + t6[2]) + (t6[1] + t6[3])
}

// matVecAddBLAS computes out[j] = c[j] + Σ_k a[j·cols+k]·x[k] as OpenBLAS
// computes a product with one output row (M = 1, N = len(out), K = cols).
func matVecAddBLAS(out, a []float32, cols int, x, c []float32) {
	n4 := len(out) &^ 3
	for j := range out {
		row := a[j*cols : j*cols+cols]
		var s float32
		switch {
		case cols < blasDotMinK:
			s = blasChain(row, x)
		case j < n4:
			s = reduceQuad(blasLanes(row, x))
		default:
			s = reduce512(blasLanes(row, x))
		}
		out[j] = c[j] + s
	}
}

// hessianBLAS adds Σ_k jt[c·kn+k]·wt[r·kn+k] to h[r·p+c] (p×p, row-major)
// as OpenBLAS computes sgemm(N, N, p, p, kn, 1, J, p, WT, kn, 1, H, p), the
// call in PDM::CalcParams and CLNF::NU_RLMS: with J the kn×p Jacobian (jt
// its transpose, p rows of length kn) and WT the weighted transpose (p×kn),
// H += (W·J)ᵀ·J. Seen column-major the kernel's row index is c.
func hessianBLAS(h, jt, wt []float32, p, kn int) {
	chainRows := p &^ 15
	if p-chainRows > 8 || kn < blasDotMinK {
		chainRows = p
	}
	m4, n4 := p&^3, p&^3
	// With W = I the chains are symmetric: an FMA chain does not depend on
	// the order of its factors.
	symmetric := &jt[0] == &wt[0]
	g := make([]float32, p*p)
	xrow := func(i int) []float32 { return jt[i*kn : i*kn+kn] }
	for r := 0; r < p; r++ {
		y := wt[r*kn : r*kn+kn]
		c := 0
		if symmetric && r < chainRows {
			for ; c < r; c++ {
				g[r*p+c] = g[c*p+r]
			}
		}
		for ; c+4 <= chainRows; c += 4 {
			g[r*p+c], g[r*p+c+1], g[r*p+c+2], g[r*p+c+3] = blasChain4(xrow(c), xrow(c+1), xrow(c+2), xrow(c+3), y)
		}
		for ; c < chainRows; c++ {
			g[r*p+c] = blasChain(xrow(c), y)
		}
		for ; c < p; c++ {
			if c < m4 || r < n4 {
				g[r*p+c] = reduceQuad(blasLanes(xrow(c), y))
			} else {
				g[r*p+c] = reduce512(blasLanes(xrow(c), y))
			}
		}
	}
	for i, v := range g {
		h[i] += v
	}
}

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
	hessianBLAS(h, jt, j.WT, p, kn)
	return nil
}

// matVecAddCV computes out[i] = alpha·(Σ_k a[i·cols+k]·x[k]) + c[i] the way
// OpenCV's own gemm does for a single output column (fewer than 100 rows):
// four float64 partial sums over k mod 4, combined, scaled and added to c
// in float64, rounded once. c may be nil.
func matVecAddCV(out, a []float32, cols int, x []float32, alpha float64, c []float32) {
	x = x[:cols]
	for i := range out {
		row := a[i*cols : i*cols+cols]
		var s0, s1, s2, s3 float64
		k := 0
		for ; k <= cols-4; k += 4 {
			s0 += float64(row[k]) * float64(x[k])
			s1 += float64(row[k+1]) * float64(x[k+1])
			s2 += float64(row[k+2]) * float64(x[k+2])
			s3 += float64(row[k+3]) * float64(x[k+3])
		}
		for ; k < cols; k++ {
			s0 += float64(row[k]) * float64(x[k])
		}
		s := (s0 + s1 + s2 + s3) * alpha
		if c != nil {
			s += float64(c[i])
		}
		out[i] = float32(s)
	}
}

// solveCholesky solves a·x = b in place (b becomes x) for a symmetric
// positive definite n×n float32 matrix with OpenCV's Cholesky (the
// algorithm cv::solve(DECOMP_CHOLESKY) runs for 4 ≤ n < 100): float64
// accumulators, float32 products of factor entries, reciprocal diagonal.
// Only the lower triangle of a is read; a is overwritten with the factor.
// It returns false, leaving b unspecified, when the matrix is not positive
// definite.
func solveCholesky(a []float32, n int, b []float32) bool {
	for i := 0; i < n; i++ {
		ai := a[i*n : i*n+n]
		for j := 0; j < i; j++ {
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
		if s < epsFloat32 {
			return false
		}
		ai[i] = float32(1 / math.Sqrt(s))
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
	if !solveCholesky(f, n, x) {
		for i := range x {
			x[i] = 0
		}
		return x, false
	}
	return x, true
}
