// Package exactmath provides float arithmetic in the exact summation orders
// of OpenBLAS 0.3.21 and OpenCV 4.6, as OpenFace's reference build computed
// it.
//
// OpenFace's numbers depend on more than the formulas: a float32 dot
// product summed in another order, or with separate multiply and add
// instead of a fused multiply-add, differs in the last bits, and those
// bits compound through the iterative fits. The reference build ran on an
// AVX-512 (Cooperlake) CPU with OpenBLAS 0.3.21's SkylakeX kernels and
// Debian's OpenCV 4.6, and the functions here reproduce exactly what those
// computed:
//
//   - FMA32: a float32 fused multiply-add, which Go lacks, rebuilt from
//     float64 arithmetic.
//   - OpenBLAS's small-matrix sgemm kernel (products with m·n·k ≤ 10⁶):
//     single FMA chains (DotChain) for most outputs, and for the last rows
//     of some shapes 16 FMA lanes (DotLanes) summed by one of two fixed
//     trees (ReduceQuad, Reduce512); FirstLaneRow and LaneSum encode which
//     output takes which order, and MatVecBLAS and AddHessian apply them to
//     the two product shapes OpenFace's fits use.
//   - OpenBLAS's level-3 driver (larger products): the inner dimension cut
//     into slices (KSlices), each a fresh FMA chain added to the output in
//     float32 (GemmChains).
//   - OpenBLAS's small-matrix dgemm kernel: 8 float64 FMA lanes
//     (DotLanesF64, ReduceQuadF64, Reduce512F64).
//   - OpenCV's own gemm for small float products, summed in float64
//     (DotCV, MatVecCV), and its Cholesky solver and inverse on float data
//     (CholeskySolve, CholeskyInvert).
//   - OpenCV's Cholesky inverse of float matrices of 100 rows or more,
//     which it hands to LAPACK: OpenBLAS's sposv, i.e. its blocked spotrf
//     and two strsm solves (CholeskyInvertLAPACK).
//
// The hot kernels run the hardware FMA instructions in AVX2 assembly when
// the CPU has AVX2 and FMA3 (a float32 FMA rounds once, so the results are
// the same bit for bit) and portable Go otherwise; the tests hold both to
// the same definition.
package exactmath
