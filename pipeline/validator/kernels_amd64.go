//go:build amd64

package validator

import "golang.org/x/sys/cpu"

// simdKernel tells whether the CPU has AVX2 and FMA3 for fmaPanel. A
// hardware float32 FMA rounds once, exactly like the FMA instructions of
// OpenBLAS's kernels, so the assembly reproduces the chains bit for bit;
// without it the portable emulation runs. It is set once at start-up.
var simdKernel = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// fmaPanel computes, for the eight positions at x (column c of position i
// at x[c·xstride/4+i]) and the four weight rows w0..w3, the k-step float32
// FMA chains out[j·8+i] = Σ_c w_j[c]·x_c[i], c ascending, from 0.
//
//go:noescape
func fmaPanel(x *float32, xstride uintptr, w0, w1, w2, w3 *float32, k int, out *[32]float32)

// convChains computes the k slice [k0, k1) of every convolution output
// (see convChainsGo), four kernels by eight positions per fmaPanel call
// when the CPU allows.
func convChains(dst, w, cols []float32, nOut, positions, taps, st, k0, k1 int, add bool) {
	if !simdKernel || k1 <= k0 || st%8 != 0 || len(cols) < taps*st || len(w) < nOut*taps || k1 > taps {
		convChainsGo(dst, w, cols, nOut, positions, taps, st, k0, k1, add)
		return
	}
	var out [32]float32
	row := func(o int) *float32 { return &w[min(o, nOut-1)*taps+k0] }
	for q := 0; q < positions; q += 8 {
		for o := 0; o < nOut; o += 4 {
			fmaPanel(&cols[k0*st+q], uintptr(st*4), row(o), row(o+1), row(o+2), row(o+3), k1-k0, &out)
			for oo := 0; oo < 4 && o+oo < nOut; oo++ {
				d := dst[(o+oo)*positions:]
				for i := 0; i < 8 && q+i < positions; i++ {
					store(d, q+i, out[oo*8+i], add)
				}
			}
		}
	}
}
