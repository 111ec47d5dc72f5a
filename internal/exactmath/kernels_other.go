//go:build !amd64

package exactmath

// simd tells whether assembly kernels are in use (only on amd64).
const simd = false

// gemmChainsKernel runs GemmChains with the portable kernels.
func gemmChainsKernel(dst []float32, ldd int, w []float32, ldw int, x []float32, ldx int, rows, cols, k0, k1 int, add bool) {
	gemmChainsGo(dst, ldd, w, ldw, x, ldx, rows, cols, k0, k1, add)
}

// laneRowKernel runs LaneRow with the portable kernel.
func laneRowKernel(out []float32, ldo int, a []float32, lda int, x []float32, i, m, n int) {
	laneRowGo(out, ldo, a, lda, x, i, m, n)
}

// hessianProduct forms AddHessian's product; the portable kernel needs no
// scratch.
func hessianProduct(g, jt, jwt []float32, p, k int, _ *HessianScratch) {
	hessianGo(g, jt, jwt, p, k)
}
