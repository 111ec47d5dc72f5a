//go:build amd64

package cnn

import (
	"math"

	"golang.org/x/sys/cpu"
)

// simd tells whether the CPU has AVX2 for the pooling and PReLU kernels.
// VMAXPS returns its first operand when it is greater than the second and
// the second otherwise (NaNs and ±0 included), which is exactly one step of
// OpenFace's max scan, and VBLENDVPS selects PReLU's value without a
// branch; both give the portable loops' results bit for bit. It is set
// once at start-up.
var simd = cpu.X86.HasAVX2

// pool2x2AVX computes pool2x2 for the first n outputs (n a multiple of 8)
// of the rows at r0 and r1, which hold at least 2n values.
//
//go:noescape
func pool2x2AVX(dst, r0, r1 *float32, n int)

// pool3x3s2AVX computes pool3x3s2 for the first n outputs (n a multiple
// of 8) of the rows at r0, r1 and r2, which hold at least 2n+2 values.
//
//go:noescape
func pool3x3s2AVX(dst, r0, r1, r2 *float32, n int)

// preluAVX computes preluMap for the first n values (n a multiple of 8)
// at m.
//
//go:noescape
func preluAVX(m *float32, n int, slope float32)

// pool2x2Fast runs pool2x2 with the assembly kernel for as many whole
// groups of eight outputs as there are, and returns how many it did.
func pool2x2Fast(dst, src []float32, w int) int {
	n := len(dst) &^ 7
	if !simd || n == 0 || len(src) < w+2*n || w < 2*n {
		return 0
	}
	pool2x2AVX(&dst[0], &src[0], &src[w], n)
	return n
}

// pool3x3s2Fast runs pool3x3s2 with the assembly kernel for as many
// groups of eight outputs as the rows allow (the kernel reads two values
// past the last window), and returns how many it did.
func pool3x3s2Fast(dst, src []float32, w int) int {
	n := min(len(dst), (w-2)/2) &^ 7
	if !simd || n <= 0 || len(src) < 2*w+2*n+2 {
		return 0
	}
	pool3x3s2AVX(&dst[0], &src[0], &src[w], &src[2*w], n)
	return n
}

// preluFast runs preluMap with the assembly kernel on the whole groups of
// eight values and returns how many it did.
func preluFast(m []float32, slope float32) int {
	n := len(m) &^ 7
	if !simd || n == 0 {
		return 0
	}
	preluAVX(&m[0], n, slope)
	return n
}

// poolRowAVX fills drow, one output row of a k×k, stride 2 max-pool whose
// windows start in row y0 of the w×h map src, with the assembly kernels.
// When full (all k rows inside the map) the windows wholly inside it go
// straight through; the others, eight at a time, through a copy padded with
// -math.MaxFloat32. The scan starts from that value and only keeps greater
// ones, so the padding changes nothing: a clipped window gives what
// OpenFace's clipped scan gives. Every window must start inside the map.
func poolRowAVX(k int, drow, src []float32, w, h, y0 int, full bool) {
	ox := 0
	if full {
		rows := src[y0*w : (y0+k)*w]
		if k == 2 {
			ox = pool2x2Fast(drow, rows, w)
		} else {
			ox = pool3x3s2Fast(drow, rows, w)
		}
	}
	const stride = 18 // values a 3×3 group of eight reads per row
	var pad [3 * stride]float32
	var out [8]float32
	for ; ox < len(drow); ox += 8 {
		x0 := 2 * ox
		for r := 0; r < k; r++ {
			row := pad[r*stride : (r+1)*stride]
			n := 0
			if y := y0 + r; y < h {
				n = copy(row, src[y*w+x0:(y+1)*w])
			}
			for i := n; i < stride; i++ {
				row[i] = -math.MaxFloat32
			}
		}
		if k == 2 {
			pool2x2AVX(&out[0], &pad[0], &pad[stride], 8)
		} else {
			pool3x3s2AVX(&out[0], &pad[0], &pad[stride], &pad[2*stride], 8)
		}
		copy(drow[ox:], out[:])
	}
}
