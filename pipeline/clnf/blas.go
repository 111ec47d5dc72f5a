package clnf

import "math"

// This file reproduces the summation orders of the two matrix products of
// NU-RLMS: the Hessian JᵀW·J through OpenBLAS 0.3.21's sgemm (the SkylakeX
// small-matrix kernel of the reference build, which uses float FMA), and
// the gradient JᵀW·v through OpenCV's own gemm, which sums in double.

// fma32 returns a·b + c rounded once to float32, as a hardware float FMA.
func fma32(a, b, c float32) float32 {
	return fmaAdd(float64(a)*float64(b), c)
}

// fmaAdd returns p + c rounded once to float32, where p is an exact
// float64 product of two float32 values.
func fmaAdd(p float64, c float32) float32 {
	s := p + float64(c)
	if needsCare(math.Float64bits(s)) {
		return fmaAddSlow(p, float64(c), s)
	}
	return float32(s)
}

// needsCare tells, from the bits of a float64 sum s, whether rounding s to
// float32 might differ from rounding the exact sum: when s sits exactly
// halfway between two float32 values (its low 29 mantissa bits are 1
// followed by zeros), or when s is non-zero and below the float32 normal
// range, where the test is made the long way.
func needsCare(b uint64) bool {
	return b<<35 == 1<<63 || (b&0x7ff0000000000000 < 0x3810000000000000 && b<<1 != 0)
}

func fmaAddSlow(p, c, s float64) float32 {
	f := float32(s)
	if float64(f) == s || math.IsInf(s, 0) || math.IsNaN(s) {
		return f
	}
	other := math.Nextafter32(f, float32(math.Inf(1)))
	if float64(f) > s {
		other = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	if s != (float64(f)+float64(other))/2 {
		return f
	}
	// s is a tie: the rounding error of s (Knuth's TwoSum) says on which
	// side the exact sum lies.
	bv := s - p
	e := (p - (s - bv)) + (c - bv)
	lo, hi := f, other
	if lo > hi {
		lo, hi = hi, lo
	}
	switch {
	case e > 0:
		return hi
	case e < 0:
		return lo
	}
	return f
}

// chainDot is one FMA chain Σ x_k·y_k over k in order.
func chainDot(x, y []float32) float32 {
	y = y[:len(x)]
	var acc float32
	for k, v := range x {
		acc = fmaAdd(float64(v)*float64(y[k]), acc)
	}
	return acc
}

// chainDot4 runs four FMA chains x_i·y side by side, so that the CPU
// overlaps their latencies. It repeats fmaAdd's body, which the compiler
// does not inline.
func chainDot4(x0, x1, x2, x3, y []float32) (a0, a1, a2, a3 float32) {
	n := len(y)
	x0, x1, x2, x3 = x0[:n], x1[:n], x2[:n], x3[:n]
	for k, v := range y {
		yv := float64(v)
		// Products of two floats are exact in float64, so these sums are
		// the same whether or not the compiler fuses them.
		p0, p1, p2, p3 := float64(x0[k])*yv, float64(x1[k])*yv, float64(x2[k])*yv, float64(x3[k])*yv
		s0, s1, s2, s3 := p0+float64(a0), p1+float64(a1), p2+float64(a2), p3+float64(a3)
		if needsCare(math.Float64bits(s0)) || needsCare(math.Float64bits(s1)) ||
			needsCare(math.Float64bits(s2)) || needsCare(math.Float64bits(s3)) {
			a0, a1, a2, a3 = fmaAdd(p0, a0), fmaAdd(p1, a1), fmaAdd(p2, a2), fmaAdd(p3, a3)
			continue
		}
		a0, a1, a2, a3 = float32(s0), float32(s1), float32(s2), float32(s3)
	}
	return
}

// laneDot accumulates x·y in 16 FMA lanes (lane k mod 16).
func laneDot(x, y []float32) [16]float32 {
	var l [16]float32
	y = y[:len(x)]
	full := len(x) &^ 15
	for k := 0; k < full; k += 16 {
		xs, ys := x[k:k+16], y[k:k+16]
		for j := range l {
			l[j] = fmaAdd(float64(xs[j])*float64(ys[j]), l[j])
		}
	}
	for j := 0; full+j < len(x); j++ {
		l[j] = fmaAdd(float64(x[full+j])*float64(y[full+j]), l[j])
	}
	return l
}

// sumQuads reduces the lanes in groups of four, as the kernel's 4-wide
// stores do.
func sumQuads(l [16]float32) float32 {
	var q [4]float32
	for b := range q {
		q[b] = (l[4*b] + l[4*b+1]) + (l[4*b+2] + l[4*b+3])
	}
	return (q[0] + q[1]) + (q[2] + q[3])
}

// sumHalves reduces the lanes by repeated halving (_mm512_reduce_add_ps),
// as the kernel's single stores do.
func sumHalves(l [16]float32) float32 {
	var h8 [8]float32
	for i := range h8 {
		h8[i] = l[i+8] + l[i]
	}
	var h4 [4]float32
	for i := range h4 {
		h4[i] = h8[i+4] + h8[i]
	}
	return (h4[0] + h4[2]) + (h4[1] + h4[3])
}

// addHessian adds JᵀW·J to h (p×p, row-major) as NU_RLMS'
// sgemm_(N, N, p, p, K, 1, J, p, JᵀW, K, 1, H, p) computes it. jt holds
// the unweighted Jᵀ and jwt the weighted one, both p×K row-major (the
// same slice when W = I). In the kernel's column-major view, row i of the
// product pairs jt row i with jwt row j and lands in h[j·p + i]. Rows in
// full blocks of 16 (every row when K < 32 or more than 8 rows are left
// over) are single FMA chains; the last rows are 16-lane sums reduced by
// the store width.
func addHessian(h, jt, jwt []float32, p, k int) {
	chainRows := p &^ 15
	if p-chainRows > 8 || k < 32 {
		chainRows = p
	}
	quad := p &^ 3
	// With W = I, entries (i, j) and (j, i) computed the same way are
	// equal: the products commute and the reduction depends on the pair.
	sym := &jt[0] == &jwt[0]
	c := make([]float32, p*p)
	for j := 0; j < p; j++ {
		y := jwt[j*k : j*k+k]
		row := c[j*p : j*p+p]
		i := 0
		if sym && j < chainRows {
			for ; i < j; i++ {
				row[i] = c[i*p+j]
			}
		}
		for ; i+4 <= chainRows; i += 4 {
			row[i], row[i+1], row[i+2], row[i+3] = chainDot4(jt[i*k:i*k+k], jt[(i+1)*k:(i+2)*k], jt[(i+2)*k:(i+3)*k], jt[(i+3)*k:(i+4)*k], y)
		}
		for ; i < p; i++ {
			if sym && i < j && (i < chainRows) == (j < chainRows) {
				c[j*p+i] = c[i*p+j]
				continue
			}
			x := jt[i*k : i*k+k]
			switch {
			case i < chainRows:
				c[j*p+i] = chainDot(x, y)
			case i < quad || j < quad:
				c[j*p+i] = sumQuads(laneDot(x, y))
			default:
				c[j*p+i] = sumHalves(laneDot(x, y))
			}
		}
	}
	for i, v := range c {
		h[i] += v
	}
}

// gemvCV sets out[i] = Σ_k a[i·cols+k]·x[k] as OpenCV's gemm does for a
// single output column of fewer than 100 rows: four double partial sums
// over k mod 4, combined and rounded once.
func gemvCV(out, a []float32, cols int, x []float32) {
	x = x[:cols]
	for i := range out {
		row := a[i*cols : i*cols+cols]
		var s0, s1, s2, s3 float64
		k := 0
		for ; k+4 <= cols; k += 4 {
			s0 += float64(row[k]) * float64(x[k])
			s1 += float64(row[k+1]) * float64(x[k+1])
			s2 += float64(row[k+2]) * float64(x[k+2])
			s3 += float64(row[k+3]) * float64(x[k+3])
		}
		for ; k < cols; k++ {
			s0 += float64(row[k]) * float64(x[k])
		}
		out[i] = float32(s0 + s1 + s2 + s3)
	}
}
