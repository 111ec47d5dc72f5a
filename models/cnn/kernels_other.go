//go:build !amd64

package cnn

// simd is false: there are no assembly kernels.
const simd = false

// pool2x2Fast leaves all outputs to the portable loop.
func pool2x2Fast(dst, src []float32, w int) int { return 0 }

// pool3x3s2Fast leaves all outputs to the portable loop.
func pool3x3s2Fast(dst, src []float32, w int) int { return 0 }

// preluFast leaves all values to the portable loop.
func preluFast(m []float32, slope float32) int { return 0 }

// poolRowAVX is never called: vectorPool returns 0 without simd.
func poolRowAVX(k int, drow, src []float32, w, h, y0 int, full bool) {
	panic("cnn: no vector pooling on this architecture")
}
