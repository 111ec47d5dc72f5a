package exactmath

// GemmChains sets dst[o·ldd+q], for rows o < rows and columns q < cols, to
// the float32 FMA chain Σ w[o·ldw+k]·x[k·ldx+q] over k in [k0, k1)
// (ascending, from zero), or with add adds the chain to it with one float32
// rounding. This is how OpenBLAS computes each output of a product one
// k-slice at a time: call it once per slice of KSlices, adding from the
// second on. The first k-slice of a small product (KSlices gives just one)
// is also the chain part of the small-matrix kernel.
//
// x is the second factor stored k-major (row k holds the columns q at
// x[k·ldx:]), so that the assembly kernel reads eight columns at once;
// with ldx ≥ cols rounded up to 8 and room for that many values in row
// k1−1, it runs whenever the CPU allows.
func GemmChains(dst []float32, ldd int, w []float32, ldw int, x []float32, ldx int, rows, cols, k0, k1 int, add bool) {
	if rows <= 0 || cols <= 0 {
		return
	}
	gemmChainsKernel(dst, ldd, w, ldw, x, ldx, rows, cols, k0, k1, add)
}

// gemmChainsGo is GemmChains in portable Go: eight (or six) emulated FMA
// chains side by side, two columns by four (or three) rows.
func gemmChainsGo(dst []float32, ldd int, w []float32, ldw int, x []float32, ldx int, rows, cols, k0, k1 int, add bool) {
	wr := func(o int) []float32 { return w[o*ldw+k0 : o*ldw+k1] }
	xs := x[k0*ldx:]
	put2 := func(o, q int, a, b float32) {
		store(dst, o*ldd+q, a, add)
		store(dst, o*ldd+q+1, b, add)
	}
	q := 0
	for ; q+2 <= cols; q += 2 {
		o := 0
		for ; o+4 <= rows; o += 4 {
			r := chain4x2(wr(o), wr(o+1), wr(o+2), wr(o+3), xs[q:], ldx)
			for i := 0; i < 4; i++ {
				put2(o+i, q, r[2*i], r[2*i+1])
			}
		}
		if o+3 == rows {
			r := chain3x2(wr(o), wr(o+1), wr(o+2), xs[q:], ldx)
			for i := 0; i < 3; i++ {
				put2(o+i, q, r[2*i], r[2*i+1])
			}
			continue
		}
		for ; o < rows; o++ {
			r := chain1x2(wr(o), xs[q:], ldx)
			put2(o, q, r[0], r[1])
		}
	}
	for ; q < cols; q++ {
		for o := 0; o < rows; o++ {
			var acc float32
			for c, v := range wr(o) {
				acc = FMA32(v, xs[c*ldx+q], acc)
			}
			store(dst, o*ldd+q, acc, add)
		}
	}
}

// store writes a slice's chain result, or adds it (one float32 rounding)
// to the previous slices' sum.
func store(dst []float32, i int, v float32, add bool) {
	if add {
		dst[i] += v
	} else {
		dst[i] = v
	}
}

// MatVecBLAS sets out[j] = Σ_k a[j·lda+k]·x[k] (k < len(x)) for every j <
// len(out), plus c[j] in float32 when c is not nil, as OpenBLAS's
// small-matrix sgemm computes a product with one output row: in the
// column-major view sgemm(N, N, 1, len(out), len(x), 1, x, 1, A, lda, β,
// out, 1) with A the rows of a. That is one FMA chain per output when
// len(x) < 32, and 16 lanes reduced by the store's tree otherwise.
// OpenFace multiplies this way in PDM::CalcShape3D, in the CCNF Sigma·r
// product and in cv::gemm calls of 100 or more rows.
func MatVecBLAS(out, a []float32, lda int, x, c []float32) {
	k := len(x)
	if FirstLaneRow(1, k) != 0 {
		for j := range out {
			out[j] = DotChain(x, a[j*lda:j*lda+k])
		}
	} else {
		LaneRow(out, 1, a, lda, x, 0, 1, len(out))
	}
	if c != nil {
		for j := range out {
			out[j] = c[j] + out[j]
		}
	}
}

// LaneRow sets out[j·ldo], for j < n, to output (i, j) of an M×N
// small-matrix sgemm product whose row i is a lane row (at or after
// FirstLaneRow(M, K)): the 16 FMA lanes of x·a_j reduced by LaneSum, x
// being row i of the first factor (K = len(x) values) and a_j =
// a[j·lda:j·lda+K] column j of the second.
func LaneRow(out []float32, ldo int, a []float32, lda int, x []float32, i, m, n int) {
	laneRowKernel(out, ldo, a, lda, x, i, m, n)
}

// laneRowGo is LaneRow in portable Go.
func laneRowGo(out []float32, ldo int, a []float32, lda int, x []float32, i, m, n int) {
	k := len(x)
	for j := 0; j < n; j++ {
		out[j*ldo] = LaneSum(DotLanes(a[j*lda:j*lda+k], x), i, j, m, n)
	}
}

// AddHessian adds Σ_k jt[i·K+k]·jwt[j·K+k] to h[j·p+i] for i, j < p (h is
// p×p, row-major; jt and jwt are p×K, row-major) as OpenBLAS computes
// sgemm(N, N, p, p, K, 1, J, p, JᵀW, K, 1, H, p), the Gauss–Newton Hessian
// H += JᵀW·J of PDM::CalcParams and CLNF::NU_RLMS: jt is the unweighted
// Jacobian transposed, jwt the weighted one (the same slice when W = I).
// In the kernel's column-major view, row i of the product pairs jt row i
// with jwt row j: rows before FirstLaneRow(p, K) are FMA chains, the rest
// 16-lane sums reduced by the store width. The product is formed in full
// and then added to h, each entry with one rounding.
//
// AddHessian allocates its temporary buffers; fits that form a Hessian
// per iteration use a HessianScratch.
func AddHessian(h, jt, jwt []float32, p, k int) {
	var s HessianScratch
	s.AddHessian(h, jt, jwt, p, k)
}

// HessianScratch holds the temporary product and transposed factor of
// AddHessian, so that a fit forming one Hessian per iteration reuses them
// instead of allocating. The zero value is ready to use; a HessianScratch
// must not be used by two goroutines at once.
type HessianScratch struct {
	g, xt []float32
}

// AddHessian is AddHessian with the scratch's buffers.
func (s *HessianScratch) AddHessian(h, jt, jwt []float32, p, k int) {
	if p <= 0 {
		return
	}
	jt, jwt, h = jt[:p*k], jwt[:p*k], h[:p*p]
	s.g = growScratch(s.g, p*p)
	g := s.g
	hessianProduct(g, jt, jwt, p, k, s)
	for i, v := range g {
		h[i] += v
	}
}

// growScratch returns b resliced to n values, reallocated when its
// capacity is too small. The contents are unspecified.
func growScratch(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// hessianGo is AddHessian's product in portable Go.
func hessianGo(g, jt, jwt []float32, p, k int) {
	chainRows := FirstLaneRow(p, k)
	// With W = I, entries (i, j) and (j, i) computed the same way are
	// equal: the products commute and the reduction depends on the pair.
	sym := k > 0 && &jt[0] == &jwt[0]
	xrow := func(i int) []float32 { return jt[i*k : i*k+k] }
	for j := 0; j < p; j++ {
		y := jwt[j*k : j*k+k]
		row := g[j*p : j*p+p]
		i := 0
		if sym && j < chainRows {
			for ; i < j; i++ {
				row[i] = g[i*p+j]
			}
		}
		for ; i+4 <= chainRows; i += 4 {
			row[i], row[i+1], row[i+2], row[i+3] = dotChain4(xrow(i), xrow(i+1), xrow(i+2), xrow(i+3), y)
		}
		for ; i < p; i++ {
			switch {
			case sym && i < j && (i < chainRows) == (j < chainRows):
				row[i] = g[i*p+j]
			case i < chainRows:
				row[i] = DotChain(xrow(i), y)
			default:
				row[i] = LaneSum(DotLanes(xrow(i), y), i, j, p, p)
			}
		}
	}
}
