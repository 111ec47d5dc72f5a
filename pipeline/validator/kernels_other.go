//go:build !amd64

package validator

// simdKernel tells whether assembly kernels are in use (only on amd64).
const simdKernel = false

// convChains computes the k slice [k0, k1) of every convolution output
// with the portable kernels.
func convChains(dst, w, cols []float32, nOut, positions, taps, st, k0, k1 int, add bool) {
	convChainsGo(dst, w, cols, nOut, positions, taps, st, k0, k1, add)
}
