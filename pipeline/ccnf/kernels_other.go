//go:build !amd64

package ccnf

// simdKernel tells whether assembly kernels are in use (only on amd64).
const simdKernel = false

// chainRows computes the FMA-chain positions [0, end) of neuronProducts
// with the portable kernels.
func chainRows(z, w, cols []float32, nn, p, k, st, end int) {
	chainRowsGo(z, w, cols, nn, p, k, st, end)
}

// sigmaLanes is the lane path of sigmaProduct.
func sigmaLanes(out, sigma, r []float32, n int) {
	sigmaLanesGo(out, sigma, r, n)
}
