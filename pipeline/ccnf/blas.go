package ccnf

import "math"

// OpenFace computes the neuron pre-activations and Sigma·r with OpenBLAS's
// sgemm_, and the reference run used OpenBLAS 0.3.21 with its SkylakeX
// (Cooperlake) kernels. Every product here is small enough (m·n·k ≤ 10⁶)
// for that build's small-matrix kernel, which, seen column-major as
// C(M×N) = A(M×K)·B(K×N), computes each C(i,j) either
//   - as one float32 FMA chain over k = 0..K−1 (rows in blocks of 16, and
//     every row when K < 32 or more than 8 rows are left over), or
//   - for the last 1..8 rows when K ≥ 32, in 16 FMA lanes (lane l takes
//     k ≡ l mod 16), summed by one of two fixed trees: reduceQuad where
//     the kernel stores four results at once, reduce512 (GCC's
//     _mm512_reduce_add_ps) for single stores.
//
// Go has no float32 FMA, so fmaf32 rebuilds it from float64 arithmetic;
// on amd64 CPUs with AVX2 and FMA3 the hot loops run the hardware
// instruction in assembly instead (kernels_amd64.s), which is exact by
// construction. Both paths are tested against each other.

// Bit patterns of the fast test in fmaf32: the 29 low mantissa bits of a
// float64 that lies exactly halfway between two normal float32 values, and
// the smallest float64 exponent field of a normal float32.
const (
	tieMask     = 1<<29 - 1
	tieBits     = 1 << 28
	expMask     = 0x7ff0000000000000
	minNormal32 = 0x3810000000000000
)

// fmaf32 returns a·b+c rounded once to float32, as a hardware float32 FMA
// computes it. The product of two float32 values is exact in float64, so
// the float64 sum is the exact result rounded once; rounding that to
// float32 is wrong only when the float64 sum lies exactly halfway between
// two float32 values, which needsFix detects and fmaSlow settles.
func fmaf32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	if needsFix(s) {
		return fmaSlow(p, float64(c), s)
	}
	return float32(s)
}

// needsFix reports whether the float64 sum s might round differently to
// float32 than the exact sum it approximates: s is a float32 halfway point,
// or it is below float32's normal range, where the halfway test differs
// (zero included; fmaSlow settles those at once).
func needsFix(s float64) bool {
	b := math.Float64bits(s)
	return b&tieMask == tieBits || b&expMask < minNormal32
}

// fmaSlow rounds the exact sum p+c (s is its float64 rounding) to float32.
func fmaSlow(p, c, s float64) float32 {
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
	// s is halfway: the sign of the rounding error of s = p + c (TwoSum)
	// tells on which side the exact sum lies.
	bv := s - p
	e := (p - (s - bv)) + (c - bv)
	switch {
	case e > 0:
		return hi
	case e < 0:
		return lo
	}
	return f
}

// chainDot is one FMA chain Σ x_k·y_k, k ascending, starting from 0.
func chainDot(x, y []float32) float32 {
	y = y[:len(x)]
	var acc float32
	for k, v := range x {
		acc = fmaf32(v, y[k], acc)
	}
	return acc
}

// lanes accumulates x·y in 16 FMA lanes over k mod 16.
func lanes(x, y []float32) [16]float32 {
	var l [16]float32
	y = y[:len(x)]
	for k, v := range x {
		l[k&15] = fmaf32(v, y[k], l[k&15])
	}
	return l
}

// reduceQuad is the lane sum of the kernel's four-at-a-time stores
// (unpack/shuffle tree, then the four 128-bit blocks).
func reduceQuad(l [16]float32) float32 {
	var q [4]float32
	for b := range q {
		q[b] = (l[4*b] + l[4*b+1]) + (l[4*b+2] + l[4*b+3])
	}
	return (q[0] + q[1]) + (q[2] + q[3])
}

// reduce512 is GCC's _mm512_reduce_add_ps: halves, then quarters, then
// pairs.
func reduce512(l [16]float32) float32 {
	var h [8]float32
	for i := range h {
		h[i] = l[i+8] + l[i]
	}
	var q [4]float32
	for i := range q {
		q[i] = h[i+4] + h[i]
	}
	return (q[0] + q[2]) + (q[1] + q[3])
}

// laneRows returns the first of the rows that the small-matrix kernel
// computes with lanes for an M-row product with inner size K (M when it
// uses chains for every row).
func laneRows(m, k int) int {
	m16 := m &^ 15
	if m-m16 > 8 || k < 32 {
		return m
	}
	return m16
}

// laneSum reduces the lanes of output (i, j) of an M×N product whose rows
// from laneStart on use lanes, with the tree the kernel's store uses.
func laneSum(l [16]float32, i, j, m, n int) float32 {
	if i < m&^3 || j < n&^3 {
		return reduceQuad(l)
	}
	return reduce512(l)
}

// lanePad rounds n up to a multiple of 16 (the lane count).
func lanePad(n int) int { return (n + 15) &^ 15 }

// sigmaProduct computes out[j] = Σ_k sigma[j][k]·r[k] for the n×n Sigma
// (rows zero-padded to lanePad(n) values, r likewise) as OpenFace's
// sgemm_(N, N, 1, n, n, 1, r, 1, Sigma, n, 0, out, 1) does on the
// reference machine: one output row (M = 1), so 16 lanes and the kernel's
// trees when n ≥ 32, an FMA chain per output otherwise. The zero padding
// adds exact zeros to the lanes, as the kernel's masked loads do.
func sigmaProduct(out, sigma, r []float32, n int) {
	n16 := lanePad(n)
	if laneRows(1, n) != 0 {
		for j := 0; j < n; j++ {
			out[j] = chainDot(sigma[j*n16:j*n16+n], r[:n])
		}
		return
	}
	sigmaLanes(out, sigma, r, n)
}

// sigmaLanesGo is the portable lane path of sigmaProduct.
func sigmaLanesGo(out, sigma, r []float32, n int) {
	n16 := lanePad(n)
	for j := 0; j < n; j++ {
		out[j] = laneSum(lanes(sigma[j*n16:j*n16+n], r[:n]), 0, j, 1, n)
	}
}
