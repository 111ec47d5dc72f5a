package ccnf

import (
	"fmt"
	"math"

	"facemirror/internal/exactmath"
)

// alphaCutoff: neurons with α at or below it are skipped in the response
// (but still count in Sigma), as in OpenFace.
const alphaCutoff = 1e-4

// scratch is the per-goroutine memory of one expert response.
type scratch struct {
	aoi  []float32
	aoiT []float32 // the area of interest transposed
	cols []float32 // im2col, transposed: 1+W·H rows of stride(P) positions
	lane []float32 // one position's im2col row, for the lane tail
	// per-patch mean and reciprocal norm
	mean, scale []float32
	z           []float32 // neuron pre-activations, neuron-major
	resp        []float32
	r           []float32 // the response before Sigma
}

func growF(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float32, n)
}

// ExpertResponse computes the ws×ws response map (row-major, row = y) of
// the expert of landmark i in the view, for an area of interest of
// (ws+Height−1) rows × (ws+Width−1) columns of float pixels (row-major),
// as CCNF_patch_expert::ResponseOpenBlas computes it. dst is reused when
// it has room. w may be nil; a non-nil Workspace provides scratch memory
// and must not be used concurrently.
func (s *Scale) ExpertResponse(view, i int, aoi []float32, ws int, dst []float32, w *Workspace) ([]float32, error) {
	sigma, err := s.Sigma(view, i, ws)
	if err != nil {
		return nil, err
	}
	e := s.Experts[view][i]
	aw, ah := ws+e.Width-1, ws+e.Height-1
	if len(aoi) != aw*ah {
		return nil, fmt.Errorf("ccnf: area of interest has %d values, want %d×%d", len(aoi), ah, aw)
	}
	if w == nil {
		w = NewWorkspace(1)
	}
	dst = growF(dst, ws*ws)
	expertResponse(e, sigma, aoi, aw, ah, dst, &w.scratch[0])
	return dst, nil
}

// expertResponse is ResponseOpenBlas for an aw×ah area of interest; dst
// has ws² values with ws = aw−Width+1 = ah−Height+1.
func expertResponse(e *Expert, sigma []float32, aoi []float32, aw, ah int, dst []float32, sc *scratch) {
	ws := ah - e.Height + 1
	p := ws * ws
	k := 1 + e.Width*e.Height
	st := colStride(p)
	sc.cols = growF(sc.cols, k*st)
	sc.mean, sc.scale = growF(sc.mean, p), growF(sc.scale, p)
	sc.aoiT = growF(sc.aoiT, len(aoi))
	im2colNormalised(aoi, sc.aoiT, aw, e.Width, e.Height, ws, sc.cols, st, sc.mean, sc.scale)

	nn := len(e.Neurons)
	sc.z = growF(sc.z, nn*p)
	neuronProducts(sc.z, e.weights, sc.cols, nn, p, k, st, sc)

	// Sigmoids in float64 (glibc's exp on the reference), each added to the
	// float32 response in neuron order. Positions are in im2col order
	// (x outer, y inner).
	resp := growF(sc.resp, p)
	sc.resp = resp
	for q := range resp {
		resp[q] = 0
	}
	for j, nr := range e.Neurons {
		if !(nr.Alpha > alphaCutoff) {
			continue
		}
		a2 := 2.0 * nr.Alpha
		z := sc.z[j*p : (j+1)*p]
		for q, v := range z {
			resp[q] = float32(float64(resp[q]) + a2/(1.0+math.Exp(float64(-v))))
		}
	}
	// Transposing gives the row-major (y, x) vector that Sigma multiplies.
	r := growF(sc.r, p)
	sc.r = r
	for x := 0; x < ws; x++ {
		for y := 0; y < ws; y++ {
			r[y*ws+x] = resp[x*ws+y]
		}
	}
	// sgemm_(N, N, 1, p, p, 1, r, 1, Sigma, p, 0, out, 1).
	exactmath.MatVecBLAS(dst, sigma, p, r, nil)

	// minMaxIdx reports the minimum as a double; the subtraction is in
	// float.
	m := dst[0]
	for _, v := range dst[1:] {
		if v < m {
			m = v
		}
	}
	if m < 0 {
		for q := range dst {
			dst[q] -= m
		}
	}
}

// colStride is the row length of the transposed im2col matrix: the
// positions rounded up to a multiple of 8 (the SIMD width of the neuron
// kernel); the padding is zero.
func colStride(p int) int { return (p + 7) &^ 7 }

// im2colNormalised is im2colContrastNormBias, stored transposed: OpenFace's
// row for response position q (positions x outer, y inner) is
// [1, patch flattened column-major], with the patch made zero-mean and
// unit-L2-norm in float32 (the mean summed in row-major order, the squares
// in column-major order, the reciprocal norm computed in double); here
// element c of that row is cols[c·st+q].
func im2colNormalised(aoi, aoiT []float32, aw, pw, ph, ws int, cols []float32, st int, mean, scale []float32) {
	p := ws * ws
	inv := float32(pw * ph)
	// Per patch: the mean (row-major sum) and the reciprocal norm (squares
	// summed column-major), in OpenFace's order. Four patches of a column
	// are summed side by side so that the float additions overlap.
	for x := 0; x < ws; x++ {
		y := 0
		for ; y+4 <= ws; y += 4 {
			var s0, s1, s2, s3 float32
			for yy := 0; yy < ph; yy++ {
				r0 := aoi[(y+yy)*aw+x : (y+yy)*aw+x+pw]
				r1 := aoi[(y+yy+1)*aw+x : (y+yy+1)*aw+x+pw]
				r2 := aoi[(y+yy+2)*aw+x : (y+yy+2)*aw+x+pw]
				r3 := aoi[(y+yy+3)*aw+x : (y+yy+3)*aw+x+pw]
				for xx := range r0 {
					s0 += r0[xx]
					s1 += r1[xx]
					s2 += r2[xx]
					s3 += r3[xx]
				}
			}
			m0, m1, m2, m3 := s0/inv, s1/inv, s2/inv, s3/inv
			var q0, q1, q2, q3 float32
			for xx := 0; xx < pw; xx++ {
				col := aoi[y*aw+x+xx:]
				for yy := 0; yy < ph; yy++ {
					d0 := col[yy*aw] - m0
					d1 := col[(yy+1)*aw] - m1
					d2 := col[(yy+2)*aw] - m2
					d3 := col[(yy+3)*aw] - m3
					q0 += float32(d0 * d0)
					q1 += float32(d1 * d1)
					q2 += float32(d2 * d2)
					q3 += float32(d3 * d3)
				}
			}
			q := x*ws + y
			mean[q], mean[q+1], mean[q+2], mean[q+3] = m0, m1, m2, m3
			scale[q], scale[q+1], scale[q+2], scale[q+3] = recipNorm(q0), recipNorm(q1), recipNorm(q2), recipNorm(q3)
		}
		for ; y < ws; y++ {
			var sum float32
			for yy := 0; yy < ph; yy++ {
				for _, v := range aoi[(y+yy)*aw+x : (y+yy)*aw+x+pw] {
					sum += v
				}
			}
			m := sum / inv
			var ss float32
			for xx := 0; xx < pw; xx++ {
				for yy := 0; yy < ph; yy++ {
					d := aoi[(y+yy)*aw+x+xx] - m
					ss += float32(d * d)
				}
			}
			mean[x*ws+y], scale[x*ws+y] = m, recipNorm(ss)
		}
	}
	// Then the matrix row by row: row 1+xx·ph+yy holds, for every patch,
	// its pixel (xx, yy) centred and scaled, read from the transposed area
	// (column-major, ah rows).
	ah := len(aoi) / aw
	for y := 0; y < ah; y++ {
		for x, v := range aoi[y*aw : (y+1)*aw] {
			aoiT[x*ah+y] = v
		}
	}
	row := cols[:st]
	for q := range row {
		row[q] = 0
	}
	for q := 0; q < p; q++ {
		row[q] = 1
	}
	for xx := 0; xx < pw; xx++ {
		for yy := 0; yy < ph; yy++ {
			row := cols[(1+xx*ph+yy)*st : (2+xx*ph+yy)*st]
			for x := 0; x < ws; x++ {
				src := aoiT[(x+xx)*ah+yy : (x+xx)*ah+yy+ws]
				dst := row[x*ws : x*ws+ws]
				m, sc := mean[x*ws:x*ws+ws], scale[x*ws:x*ws+ws]
				for y, v := range src {
					dst[y] = (v - m[y]) * sc[y]
				}
			}
			for q := p; q < st; q++ {
				row[q] = 0
			}
		}
	}
}

// recipNorm is OpenFace's reciprocal patch norm: sqrt of the float sum of
// squares (1 when 0), inverted in double.
func recipNorm(ss float32) float32 {
	norm := float32(math.Sqrt(float64(ss)))
	if norm == 0 {
		norm = 1
	}
	return float32(1.0 / float64(norm))
}

// neuronProducts computes z[j·P+q] = Σ_c w[j·K+c]·im2col[q][c] as
// OpenFace's sgemm_(N, N, P, J, K, …, im2colᵀ, weight_matrix) does on the
// reference machine (OpenBLAS's small-matrix kernel): positions before
// FirstLaneRow as FMA chains, the rest with 16 lanes and the kernel's
// reduction trees.
func neuronProducts(z, w, cols []float32, nn, p, k, st int, sc *scratch) {
	chainEnd := exactmath.FirstLaneRow(p, k)
	exactmath.GemmChains(z, p, w, k, cols, st, nn, chainEnd, 0, k, false)
	sc.lane = growF(sc.lane, k)
	for q := chainEnd; q < p; q++ {
		for c := range sc.lane {
			sc.lane[c] = cols[c*st+q]
		}
		exactmath.LaneRow(z[q:], p, w, k, sc.lane, q, p, nn)
	}
}
