//go:build amd64

package ccnf

import "golang.org/x/sys/cpu"

// simdKernel tells whether the CPU has AVX2 and FMA3 for the assembly
// kernels. A hardware float32 FMA rounds once, exactly like the FMA
// instructions of OpenBLAS's kernels, so the assembly reproduces the
// chains bit for bit; without it the portable emulation runs. It is set
// once at start-up.
var simdKernel = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// fmaPanel computes, for the eight positions x[0..7] (position i of
// im2col column c at x[c·xstride/4+i]) and the four weight rows w0..w3,
// the k-step float32 FMA chains out[j·8+i] = Σ_c w_j[c]·x_c[i], c
// ascending, from 0.
//
//go:noescape
func fmaPanel(x *float32, xstride uintptr, w0, w1, w2, w3 *float32, k int, out *[32]float32)

// chainRows computes the FMA-chain positions [0, end) of neuronProducts:
// eight positions by four neurons per fmaPanel call when the CPU allows,
// the portable kernels otherwise.
func chainRows(z, w, cols []float32, nn, p, k, st, end int) {
	if !simdKernel || end == 0 || nn == 0 || k == 0 || len(cols) < k*st || len(w) < nn*k || st%8 != 0 {
		chainRowsGo(z, w, cols, nn, p, k, st, end)
		return
	}
	var out [32]float32
	row := func(j int) *float32 { return &w[min(j, nn-1)*k] }
	for q := 0; q < end; q += 8 {
		for j := 0; j < nn; j += 4 {
			fmaPanel(&cols[q], uintptr(st*4), row(j), row(j+1), row(j+2), row(j+3), k, &out)
			for jj := 0; jj < 4 && j+jj < nn; jj++ {
				for i := 0; i < 8 && q+i < end; i++ {
					z[(j+jj)*p+q+i] = out[jj*8+i]
				}
			}
		}
	}
}

// dotLanes2 accumulates, for the rows a0 and a1 of n values (a multiple
// of 16), the 16 FMA lanes of a·x (lane l takes k ≡ l mod 16): out[0:16]
// for a0, out[16:32] for a1.
//
//go:noescape
func dotLanes2(a0, a1, x *float32, n int, out *[32]float32)

// sigmaLanes is the lane path of sigmaProduct, two outputs per dotLanes2
// call when the CPU allows, lanes otherwise.
func sigmaLanes(out, sigma, r []float32, n int) {
	n16 := lanePad(n)
	if !simdKernel || len(r) < n16 || len(sigma) < n*n16 {
		sigmaLanesGo(out, sigma, r, n)
		return
	}
	var l [32]float32
	for j := 0; j < n; j += 2 {
		j1 := min(j+1, n-1)
		dotLanes2(&sigma[j*n16], &sigma[j1*n16], &r[0], n16, &l)
		out[j] = laneSum([16]float32(l[:16]), 0, j, 1, n)
		if j+1 < n {
			out[j+1] = laneSum([16]float32(l[16:]), 0, j+1, 1, n)
		}
	}
}
