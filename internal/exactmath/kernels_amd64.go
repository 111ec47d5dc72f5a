//go:build amd64

package exactmath

import "golang.org/x/sys/cpu"

// simd tells whether the CPU has AVX2 and FMA3 for the assembly kernels. A
// hardware float32 FMA rounds once, exactly like the FMA instructions of
// OpenBLAS's kernels, so the assembly reproduces the chains and lanes bit
// for bit; without it the portable emulation runs. It is set once at
// start-up.
var simd = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// fmaPanel computes, for the eight columns at x (row k of column i at
// x[k·xstride/4+i]) and the four weight rows w0..w3, the k-step float32
// FMA chains out[j·8+i] = Σ_k w_j[k]·x_k[i], k ascending, from 0.
//
//go:noescape
func fmaPanel(x *float32, xstride uintptr, w0, w1, w2, w3 *float32, k int, out *[32]float32)

// dotLanes2 accumulates, for the rows a0 and a1 of n+tail values (n a
// multiple of 16, tail < 16), the 16 FMA lanes of a·x (lane l takes
// k ≡ l mod 16): out[0:16] for a0, out[16:32] for a1. The tail touches
// only its first tail lanes, as DotLanes does.
//
//go:noescape
func dotLanes2(a0, a1, x *float32, n, tail int, out *[32]float32)

// dotLanesQuad2 is dotLanes2 followed by ReduceQuad of each row's lanes:
// out[0] = ReduceQuad(DotLanes(a0, x)), out[1] = ReduceQuad(DotLanes(a1,
// x)), where x has n+tail values.
//
//go:noescape
func dotLanesQuad2(a0, a1, x *float32, n, tail int, out *[2]float32)

// gemmChainsKernel runs GemmChains through fmaPanel, eight columns by
// four rows per call, when the CPU and the layout allow, and the portable
// kernels otherwise.
func gemmChainsKernel(dst []float32, ldd int, w []float32, ldw int, x []float32, ldx int, rows, cols, k0, k1 int, add bool) {
	cols8 := (cols + 7) &^ 7
	if !simd || k0 < 0 || k1 <= k0 || ldx < cols8 || len(x) < (k1-1)*ldx+cols8 || len(w) < (rows-1)*ldw+k1 {
		gemmChainsGo(dst, ldd, w, ldw, x, ldx, rows, cols, k0, k1, add)
		return
	}
	var out [32]float32
	row := func(o int) *float32 { return &w[min(o, rows-1)*ldw+k0] }
	for q := 0; q < cols; q += 8 {
		for o := 0; o < rows; o += 4 {
			fmaPanel(&x[k0*ldx+q], uintptr(ldx*4), row(o), row(o+1), row(o+2), row(o+3), k1-k0, &out)
			n := min(8, cols-q)
			for oo := 0; oo < 4 && o+oo < rows; oo++ {
				d := dst[(o+oo)*ldd+q:][:n]
				r := out[oo*8:][:n]
				if add {
					for i, v := range r {
						d[i] += v
					}
				} else {
					copy(d, r)
				}
			}
		}
	}
}

// dotLanesPair computes DotLanes(a0, x) into l[:16] and DotLanes(a1, x)
// into l[16:] with dotLanes2. The caller checks simd.
func dotLanesPair(l *[32]float32, a0, a1, x []float32) {
	k := len(x)
	if k == 0 {
		*l = [32]float32{}
		return
	}
	a0, a1 = a0[:k], a1[:k]
	dotLanes2(&a0[0], &a1[0], &x[0], k&^15, k&15, l)
}

// laneRowKernel runs LaneRow two outputs per dotLanes2 call when the CPU
// allows, the portable kernel otherwise.
func laneRowKernel(out []float32, ldo int, a []float32, lda int, x []float32, i, m, n int) {
	if !simd {
		laneRowGo(out, ldo, a, lda, x, i, m, n)
		return
	}
	k := len(x)
	var l [32]float32
	var s [2]float32
	// Outputs j whose LaneSum is ReduceQuad (i or j in a full group of
	// four) are reduced in the kernel, two at a time.
	quadEnd := n
	if i >= m&^3 {
		quadEnd = n &^ 3
	}
	j := 0
	if k > 0 {
		for ; j+2 <= quadEnd; j += 2 {
			a0, a1 := a[j*lda:j*lda+k], a[(j+1)*lda:(j+1)*lda+k]
			dotLanesQuad2(&a0[0], &a1[0], &x[0], k&^15, k&15, &s)
			out[j*ldo], out[(j+1)*ldo] = s[0], s[1]
		}
	}
	for ; j < n; j += 2 {
		// An odd last output is paired with itself.
		j1 := min(j+1, n-1)
		dotLanesPair(&l, a[j*lda:j*lda+k], a[j1*lda:j1*lda+k], x)
		out[j*ldo] = LaneSum([16]float32(l[:16]), i, j, m, n)
		if j+1 < n {
			out[(j+1)*ldo] = LaneSum([16]float32(l[16:]), i, j+1, m, n)
		}
	}
}

// hessianProduct forms AddHessian's product g with the assembly kernels
// when the CPU allows: the chain rows through fmaPanel on Jᵀ transposed
// back to k-major (in s.xt), the lane rows through LaneRow.
//
// With W = I (jt and jwt the same slice) the chain block is symmetric:
// entries (o, q) and (q, o) are the same FMA chain of the same products
// (a·b = b·a exactly), so panels lying wholly above the diagonal are not
// computed but copied from their mirror images, as hessianGo does.
func hessianProduct(g, jt, jwt []float32, p, k int, s *HessianScratch) {
	if !simd || k == 0 {
		hessianGo(g, jt, jwt, p, k)
		return
	}
	chainRows := FirstLaneRow(p, k)
	if chainRows > 0 {
		ld := (chainRows + 7) &^ 7
		s.xt = growScratch(s.xt, k*ld)
		xt := s.xt
		for i := 0; i < chainRows; i++ {
			for kk, v := range jt[i*k : i*k+k] {
				xt[kk*ld+i] = v
			}
		}
		// The columns chainRows..ld−1 of xt are read by the last panel
		// but never stored; clear them so that stale values cannot turn
		// into floating-point exceptions or NaN work.
		if chainRows < ld {
			for kk := 0; kk < k; kk++ {
				clear(xt[kk*ld+chainRows : kk*ld+ld])
			}
		}
		sym := &jt[0] == &jwt[0]
		hessianChains(g, p, jwt, k, xt, ld, p, chainRows, sym)
	}
	for i := chainRows; i < p; i++ {
		laneRowKernel(g[i:], p, jwt, k, jt[i*k:i*k+k], i, p, p)
	}
}

// hessianChains is gemmChainsKernel(g, ldd, w, ldw, x, ldx, rows, cols, 0,
// ldw, false) for the chain block of the Hessian: g[o·ldd+q] = the chain
// of w row o and x column q. With sym (w row i equals x column i for
// i < cols), the panels of an eight-column block above its first column
// are skipped and their entries copied from (q, o).
func hessianChains(g []float32, ldd int, w []float32, k int, x []float32, ldx, rows, cols int, sym bool) {
	var out [32]float32
	row := func(o int) *float32 { return &w[min(o, rows-1)*k] }
	for q := 0; q < cols; q += 8 {
		o := 0
		if sym {
			o = q &^ 3
		}
		for ; o < rows; o += 4 {
			fmaPanel(&x[q], uintptr(ldx*4), row(o), row(o+1), row(o+2), row(o+3), k, &out)
			n := min(8, cols-q)
			for oo := 0; oo < 4 && o+oo < rows; oo++ {
				copy(g[(o+oo)*ldd+q:][:n], out[oo*8:][:n])
			}
		}
	}
	if !sym {
		return
	}
	// Entry (o, q) with o < q&^7 was skipped; (q, o) lies in column block
	// o&^7 ≤ o < q, whose panels from row o&^7 on were computed.
	for q := 0; q < cols; q++ {
		for o := 0; o < q&^7; o++ {
			g[o*ldd+q] = g[q*ldd+o]
		}
	}
}
