package exactmath

import "math"

// OpenCV 4.6 hands the Cholesky inverse of a float matrix with 100 rows or
// more to LAPACK's sposv (the 'L' triangle of its row-major buffer read as
// column-major, the identity as right-hand side), and OpenFace's reference
// build resolved sposv to OpenBLAS 0.3.21: netlib's sposv, which runs
// OpenBLAS's own spotrf and then netlib's spotrs, i.e. two OpenBLAS strsm
// calls. With one thread on a SkylakeX-class CPU every output is summed in
// an order fixed by the block sizes of those routines:
//
//   - spotrf (potrf_L_single) factors blocks of up to 32 rows
//     (DTB_ENTRIES/2) column by column (potf2_L: the pivot minus a strided
//     sdot, the column below by sgemv_n, scaled by the pivot's
//     reciprocal), and larger ones in blocks of a quarter (at most
//     GEMM_Q): each diagonal block recursively, the panel below it by the
//     generic trsm_kernel_RN (columns in groups of 4), the trailing matrix
//     by one FMA chain per entry over the block (SYRK on the sgemm
//     kernel), subtracted with one rounding.
//   - strsm solves L·Y = I and then Lᵀ·X = Y in panels of GEMM_Q rows
//     (trsm_L), top down and bottom up. Within a panel trsm_kernel_LT and
//     trsm_kernel_LN take row blocks of 16, then 8, 4, 2, 1: the panel's
//     rows before the block (after it, going up) come in as one FMA chain
//     subtracted with one rounding, the block's own rows one fused update
//     at a time, and each result is multiplied by the reciprocal of its
//     diagonal entry (the packing stores 1/l_rr). A finished panel is
//     subtracted from the rows still to come, one chain per entry.
//
// This was checked bit for bit against Debian 12's libopenblas0-pthread
// (0.3.21+ds-4, OPENBLAS_CORETYPE Cooperlake and SkylakeX alike, one
// thread) for n from 100 to 700 (the factor alone up to 1400), and all
// 410 of OpenFace's 121×121 Sigmas.

// Block sizes of OpenBLAS 0.3.21's single-precision SkylakeX build (GEMM_Q
// is gemmQ).
const (
	potf2Max    = 32 // DTB_ENTRIES/2: spotrf factors smaller blocks unblocked
	trsmRows    = 16 // SGEMM_DEFAULT_UNROLL_M: the trsm kernels' row blocks
	trsmCols    = 4  // SGEMM_DEFAULT_UNROLL_N: spotrf's panel column groups
	gemvGeneric = 4  // the one column count sgemv_n leaves to its generic kernel
)

// CholeskyInvertLAPACK returns the inverse of the symmetric positive
// definite n×n float32 matrix a (row-major) as cv::invert(…,
// DECOMP_CHOLESKY) computes it for n ≥ 100 through OpenBLAS 0.3.21's
// sposv on the reference machine, bit for bit. Only the upper triangle of
// the row-major buffer is read (the lower one in LAPACK's column-major
// view); a is not modified. When the matrix is not positive definite it
// returns zeros, as OpenCV does.
func CholeskyInvertLAPACK(a []float32, n int) []float32 {
	a = a[:n*n]
	// l holds the lower triangle row-major: l[r·n+c] is LAPACK's A(r, c),
	// which sits at a[c·n+r] in the column-major view of the buffer.
	l := make([]float32, n*n)
	for r := 0; r < n; r++ {
		for c := 0; c <= r; c++ {
			l[r*n+c] = a[c*n+r]
		}
	}
	out := make([]float32, n*n)
	if !potrf(l, n, 0, n) {
		return out
	}
	inv := make([]float32, n)
	for r := range inv {
		inv[r] = 1 / l[r*n+r]
	}
	// lt[c·n+k] = L(k, c): the columns of L, for the backward solve.
	lt := make([]float32, n*n)
	for r := 0; r < n; r++ {
		for c := 0; c <= r; c++ {
			lt[c*n+r] = l[r*n+c]
		}
	}
	// y holds the right-hand side, then the solutions, row-major with rows
	// padded to a multiple of 8 for GemmChains.
	ld := (n + 7) &^ 7
	y := make([]float32, n*ld)
	for r := 0; r < n; r++ {
		y[r*ld+r] = 1
	}
	forwardSolve(y, ld, l, inv, n)
	backwardSolve(y, ld, lt, inv, n)
	// OpenCV transposes the column-major solution back to row-major.
	for r := 0; r < n; r++ {
		copy(out[r*n:r*n+n], y[r*ld:r*ld+n])
	}
	return out
}

// potrf factors rows and columns [off, off+size) of l in place as
// potrf_L_single does, assuming the columns before off have been applied.
// It returns false when a pivot is not positive.
func potrf(l []float32, n, off, size int) bool {
	if size <= potf2Max {
		return potf2(l, n, off, size)
	}
	blocking := gemmQ
	if size <= 4*gemmQ {
		blocking = size / 4
	}
	end := off + size
	for j := off; j < end; j += blocking {
		bk := min(blocking, end-j)
		if !potrf(l, n, j, bk) {
			return false
		}
		if j+bk >= end {
			break
		}
		panelSolve(l, n, j, bk, j+bk, end)
		for r := j + bk; r < end; r++ {
			lr := l[r*n+j : r*n+j+bk]
			for c := j + bk; c <= r; c++ {
				l[r*n+c] -= DotChain(lr, l[c*n+j:c*n+j+bk])
			}
		}
	}
	return true
}

// potf2 factors the block [off, off+size) column by column as potf2_L:
// the pivot minus a strided sdot, the column below it updated by sgemv_n
// and scaled by the pivot's reciprocal.
func potf2(l []float32, n, off, size int) bool {
	end := off + size
	for j := off; j < end; j++ {
		x := l[j*n+off : j*n+j]
		d := l[j*n+j] - sdotStrided(x)
		if d <= 0 {
			return false
		}
		d = float32(math.Sqrt(float64(d)))
		l[j*n+j] = d
		if j+1 >= end {
			break
		}
		if len(x) > 0 {
			gemvN(l, n, off, j, end, x)
		}
		s := 1 / d
		for r := j + 1; r < end; r++ {
			l[r*n+j] *= s
		}
	}
	return true
}

// sdotStrided is OpenBLAS's sdot for non-unit strides: pairs of float
// products, the second fused into the first's sum, each pair added to a
// float64 total; an odd last product alone.
func sdotStrided(x []float32) float32 {
	var dot float64
	k := 0
	for ; k+2 <= len(x); k += 2 {
		dot += float64(FMA32(x[k], x[k], float32(x[k+1]*x[k+1])))
	}
	if k < len(x) {
		dot += float64(x[k] * x[k])
	}
	return float32(dot)
}

// gemvN applies column j's sgemv_n update y_r −= Σ_k A(r, k)·x_k (k from
// off to j−1) to the rows r in (j, end). The SkylakeX kernel runs one FMA
// chain per row; with exactly four columns the generic kernel runs
// instead, which sums the first 4 (if the row count's bit 4 is set) and
// next 8 (bit 8) rows of the largest multiple of 4 as two two-term FMA
// chains added together.
func gemvN(l []float32, n, off, j, end int, x []float32) {
	k := len(x)
	chain := func(r int) {
		l[r*n+j] -= DotChain(l[r*n+off:r*n+off+k], x)
	}
	if k != gemvGeneric {
		for r := j + 1; r < end; r++ {
			chain(r)
		}
		return
	}
	m := end - j - 1
	nb := m &^ 3
	r := j + 1
	pairs := 0
	if nb&4 != 0 {
		pairs += 4
	}
	if nb&8 != 0 {
		pairs += 8
	}
	for ; r < j+1+pairs; r++ {
		a := l[r*n+off : r*n+off+4]
		s0 := FMA32(a[2], x[2], float32(a[0]*x[0]))
		s1 := FMA32(a[3], x[3], float32(a[1]*x[1]))
		l[r*n+j] -= s0 + s1
	}
	for ; r < end; r++ {
		chain(r)
	}
}

// panelSolve is potrf's trsm_kernel_RN step: rows [r0, r1) of columns
// [j, j+bk) become A·L₁₁⁻ᵀ. Within a group of 4 columns (then 2, then 1)
// the columns of earlier groups come in as one FMA chain, those of the
// same group one fused update at a time.
func panelSolve(l []float32, n, j, bk, r0, r1 int) {
	var groups [][2]int
	g := 0
	for ; g+trsmCols <= bk; g += trsmCols {
		groups = append(groups, [2]int{g, trsmCols})
	}
	for w := trsmCols / 2; w > 0; w /= 2 {
		if bk&w != 0 {
			groups = append(groups, [2]int{g, w})
			g += w
		}
	}
	for r := r0; r < r1; r++ {
		row := l[r*n : r*n+n]
		for _, gr := range groups {
			gs, gw := j+gr[0], gr[1]
			for c := gs; c < gs+gw; c++ {
				v := row[c]
				if gs > j {
					v -= DotChain(row[j:gs], l[c*n+j:c*n+gs])
				}
				for k := gs; k < c; k++ {
					v = FMA32(-row[k], l[c*n+k], v)
				}
				row[c] = v * (1 / l[c*n+c])
			}
		}
	}
}

// trsmBlocks returns the row blocks [start, start+size) of the trsm
// kernels for n rows, top to bottom: blocks of trsmRows, then the
// remainder in blocks of 8, 4, 2, 1.
func trsmBlocks(n int) [][2]int {
	var b [][2]int
	r := 0
	for ; r+trsmRows <= n; r += trsmRows {
		b = append(b, [2]int{r, trsmRows})
	}
	for w := trsmRows / 2; w > 0; w /= 2 {
		if n&w != 0 {
			b = append(b, [2]int{r, w})
			r += w
		}
	}
	return b
}

// forwardSolve solves L·Y = B in place for the n columns of y (row r at
// y[r·ld:]) as strsm's driver (trsm_L) and trsm_kernel_LT do: the rows in
// panels of gemmQ, and within a panel per row block the panel's rows above
// it as one FMA chain subtracted with one rounding, the block's own rows
// one fused update at a time from the top, then the reciprocal diagonal;
// each finished panel is then subtracted from the rows below it as one
// chain per entry.
func forwardSolve(y []float32, ld int, l, inv []float32, n int) {
	tmp := make([]float32, n*ld)
	for ls := 0; ls < n; ls += gemmQ {
		le := min(ls+gemmQ, n)
		for _, bl := range trsmBlocks(le - ls) {
			s0, s1 := ls+bl[0], ls+bl[0]+bl[1]
			if s0 > ls {
				GemmChains(tmp, ld, l[s0*n:], n, y, ld, s1-s0, n, ls, s0, false)
			}
			for r := s0; r < s1; r++ {
				yr, lr := y[r*ld:r*ld+n], l[r*n:r*n+r]
				t := tmp[(r-s0)*ld : (r-s0)*ld+n]
				for q := range yr {
					v := yr[q]
					if s0 > ls {
						v -= t[q]
					}
					for i := s0; i < r; i++ {
						v = FMA32(-y[i*ld+q], lr[i], v)
					}
					yr[q] = v * inv[r]
				}
			}
		}
		if le < n {
			GemmChains(tmp, ld, l[le*n:], n, y, ld, n-le, n, ls, le, false)
			subtractRows(y[le*ld:], tmp, ld, n-le, n)
		}
	}
}

// backwardSolve solves Lᵀ·X = Y in place as trsm_L and trsm_kernel_LN do:
// the panels of gemmQ rows from the bottom, within a panel the row blocks
// from the bottom with the panel's rows below a block as one FMA chain and
// the block's own rows one fused update at a time from its bottom row up;
// each finished panel is then subtracted from the rows above it. lt holds
// the columns of L.
func backwardSolve(y []float32, ld int, lt, inv []float32, n int) {
	tmp := make([]float32, n*ld)
	for ls := n; ls > 0; ls -= gemmQ {
		p0 := max(ls-gemmQ, 0)
		blocks := trsmBlocks(ls - p0)
		for b := len(blocks) - 1; b >= 0; b-- {
			s0, s1 := p0+blocks[b][0], p0+blocks[b][0]+blocks[b][1]
			if s1 < ls {
				GemmChains(tmp, ld, lt[s0*n:], n, y, ld, s1-s0, n, s1, ls, false)
			}
			for r := s1 - 1; r >= s0; r-- {
				yr, lc := y[r*ld:r*ld+n], lt[r*n:r*n+n]
				t := tmp[(r-s0)*ld : (r-s0)*ld+n]
				for q := range yr {
					v := yr[q]
					if s1 < ls {
						v -= t[q]
					}
					for i := s1 - 1; i > r; i-- {
						v = FMA32(-y[i*ld+q], lc[i], v)
					}
					yr[q] = v * inv[r]
				}
			}
		}
		if p0 > 0 {
			GemmChains(tmp, ld, lt, n, y, ld, p0, n, p0, ls, false)
			subtractRows(y, tmp, ld, p0, n)
		}
	}
}

// subtractRows subtracts the chains in t from the first rows rows of y
// (both with row stride ld), one rounding each.
func subtractRows(y, t []float32, ld, rows, cols int) {
	for r := 0; r < rows; r++ {
		yr, tr := y[r*ld:r*ld+cols], t[r*ld:r*ld+cols]
		for q := range yr {
			yr[q] -= tr[q]
		}
	}
}
