package exactmath

import "math"

// OpenBLAS 0.3.21's small-matrix dgemm kernel for AVX-512 CPUs computes
// the outputs of a product with one output column (cv::gemm of 100 or more
// rows on double data, such as FaceAnalyser's geometry descriptor) as dot
// products in 8 float64 FMA lanes over k mod 8, reduced by the tree of the
// store that writes them, as for sgemm (LaneSumF64): ReduceQuadF64 where
// four results are stored at once, Reduce512F64 for single stores.

// LaneSumF64 reduces the lanes of output (i, j) of an M×N dgemm with the
// tree of the store that writes it, by the rule of LaneSum.
func LaneSumF64(l [8]float64, i, j, m, n int) float64 {
	if i < m&^3 || j < n&^3 {
		return ReduceQuadF64(l)
	}
	return Reduce512F64(l)
}

// DotLanesF64 accumulates x·y (y at least as long as x) in 8 float64 FMA
// lanes, lane l taking k ≡ l mod 8 in ascending order.
func DotLanesF64(x, y []float64) [8]float64 {
	var l [8]float64
	y = y[:len(x)]
	for k, v := range x {
		l[k&7] = math.FMA(v, y[k], l[k&7])
	}
	return l
}

// ReduceQuadF64 is the lane sum of the dgemm kernel's four-at-a-time
// stores: ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)).
func ReduceQuadF64(l [8]float64) float64 {
	return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
}

// Reduce512F64 is GCC's _mm512_reduce_add_pd, the lane sum of the dgemm
// kernel's single stores: halves, then pairs.
func Reduce512F64(l [8]float64) float64 {
	t0, t1, t2, t3 := l[4]+l[0], l[5]+l[1], l[6]+l[2], l[7]+l[3]
	return (t2 + t0) + (t3 + t1)
}
