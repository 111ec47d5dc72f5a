package exactmath

// OpenBLAS 0.3.21 hands every sgemm with m·n·k ≤ 10⁶ to its small-matrix
// kernel, which on SkylakeX-class CPUs computes output C(i, j) of the
// column-major product C(M×N) = A(M×K)·B(K×N) in one of two ways:
//
//   - as one float32 FMA chain over k = 0..K−1 (rows in blocks of 16, and
//     every row when K < 32 or more than 8 rows are left over), or
//   - for the last 1..8 rows when K ≥ 32, in 16 FMA lanes (lane l takes
//     k ≡ l mod 16), summed by one of two fixed trees: ReduceQuad where the
//     kernel stores four results at once, Reduce512 (GCC's
//     _mm512_reduce_add_ps) for single stores.
//
// The result is then stored, or added to C with one rounding.

// smallGemmLimit is the largest m·n·k that OpenBLAS's interface hands to
// the small-matrix kernels.
const smallGemmLimit = 1e6

// FirstLaneRow returns the first of the rows that the small-matrix kernel
// computes with lanes for an M-row product with inner size K, or M when
// every row is a chain.
func FirstLaneRow(m, k int) int {
	m16 := m &^ 15
	if m-m16 > 8 || k < 32 {
		return m
	}
	return m16
}

// LaneSum reduces the lanes of output (i, j) of an M×N product (i at or
// after FirstLaneRow) with the tree of the store that writes it: four at
// once while i or j lies in a full group of four, one at a time
// otherwise.
func LaneSum(l [16]float32, i, j, m, n int) float32 {
	if i < m&^3 || j < n&^3 {
		return ReduceQuad(l)
	}
	return Reduce512(l)
}

// ReduceQuad is the lane sum of the kernel's four-at-a-time stores
// (unpack/shuffle tree, then the four 128-bit blocks).
func ReduceQuad(l [16]float32) float32 {
	var q [4]float32
	for b := range q {
		q[b] = (l[4*b] + l[4*b+1]) + (l[4*b+2] + l[4*b+3])
	}
	return (q[0] + q[1]) + (q[2] + q[3])
}

// Reduce512 is GCC's _mm512_reduce_add_ps, the lane sum of the kernel's
// single stores: halves, then quarters, then pairs.
func Reduce512(l [16]float32) float32 {
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

// DotChain returns Σ x[k]·y[k] (k ascending, y at least as long as x) as
// one float32 FMA chain starting from zero.
func DotChain(x, y []float32) float32 {
	var acc float32
	y = y[:len(x)]
	for k, v := range x {
		// FMA32's body, which the compiler does not inline.
		p := float64(v) * float64(y[k])
		s := p + float64(acc)
		if needsFix(s) {
			acc = fmaSlow(p, float64(acc), s)
		} else {
			acc = float32(s)
		}
	}
	return acc
}

// dotChain4 runs four FMA chains x_i·y side by side, which lets the CPU
// overlap their latencies.
func dotChain4(x0, x1, x2, x3, y []float32) (a0, a1, a2, a3 float32) {
	n := len(y)
	x0, x1, x2, x3 = x0[:n], x1[:n], x2[:n], x3[:n]
	for k, v := range y {
		yv := float64(v)
		p0, p1, p2, p3 := float64(x0[k])*yv, float64(x1[k])*yv, float64(x2[k])*yv, float64(x3[k])*yv
		s0, s1, s2, s3 := p0+float64(a0), p1+float64(a1), p2+float64(a2), p3+float64(a3)
		if needsFix(s0) || needsFix(s1) || needsFix(s2) || needsFix(s3) {
			a0, a1 = fmaSlow(p0, float64(a0), s0), fmaSlow(p1, float64(a1), s1)
			a2, a3 = fmaSlow(p2, float64(a2), s2), fmaSlow(p3, float64(a3), s3)
			continue
		}
		a0, a1, a2, a3 = float32(s0), float32(s1), float32(s2), float32(s3)
	}
	return
}

// DotLanes accumulates x·y (y at least as long as x) in 16 float32 FMA
// lanes, lane l taking k ≡ l mod 16 in ascending order. When len(x) is not
// a multiple of 16, the lanes the last partial block does not reach keep
// their sums bit for bit (−0 included).
func DotLanes(x, y []float32) [16]float32 {
	var l [16]float32
	y = y[:len(x)]
	k16 := len(x) &^ 15
	for k := 0; k < k16; k += 16 {
		xs, ys := x[k:k+16], y[k:k+16]
		for j := range l {
			p := float64(xs[j]) * float64(ys[j])
			s := p + float64(l[j])
			if needsFix(s) {
				l[j] = fmaSlow(p, float64(l[j]), s)
			} else {
				l[j] = float32(s)
			}
		}
	}
	for j := 0; k16+j < len(x); j++ {
		l[j] = FMA32(x[k16+j], y[k16+j], l[j])
	}
	return l
}

// KSlices returns the boundaries of the slices of the inner dimension that
// OpenBLAS 0.3.21 accumulates separately for an m×n×k sgemm: the whole of
// k for the small-matrix kernels (m·n·k ≤ 10⁶), and otherwise (the level-3
// driver) slices of at most 320 (sgemm's GEMM_Q), a remainder between 320
// and 640 being split in two halves rounded up to 16 (GEMM_UNROLL_M). Each
// slice is a fresh float32 FMA chain added to the output with one rounding
// (GemmChains).
func KSlices(m, n, k int) []int {
	bounds := []int{0}
	if float64(m)*float64(n)*float64(k) <= smallGemmLimit {
		return append(bounds, k)
	}
	for ls := 0; ls < k; {
		l := k - ls
		if l >= 2*gemmQ {
			l = gemmQ
		} else if l > gemmQ {
			l = (l/2 + gemmUnrollM - 1) / gemmUnrollM * gemmUnrollM
		}
		ls += l
		bounds = append(bounds, ls)
	}
	return bounds
}

// sgemm's GEMM_Q and GEMM_UNROLL_M in OpenBLAS 0.3.21's SkylakeX build.
const (
	gemmQ       = 320
	gemmUnrollM = 16
)
