package ccnf

import (
	"image"
	"math"

	"facemirror/internal/exactmath"
)

// This file freezes the expert response and the area-of-interest sampler
// as they stood before the fused normalisation and neuron kernel: the
// whole transposed im2col matrix, per-column mean and norm loops, the
// chains through exactmath.GemmChains and the lane tail, and the warp
// recomputing its per-column rounding for every pixel. The tests hold the
// current code to it bit for bit.

// oracleScratch is the old per-goroutine memory of one expert response.
type oracleScratch struct {
	aoiT        []float32
	cols        []float32
	lane        []float32
	mean, scale []float32
	z           []float32
	resp        []float32
	r           []float32
}

// oracleExpertResponse is ResponseOpenBlas for an aw×ah area of interest; dst
// has ws² values with ws = aw−Width+1 = ah−Height+1.
func oracleExpertResponse(e *Expert, sigma []float32, aoi []float32, aw, ah int, dst []float32, sc *oracleScratch) {
	ws := ah - e.Height + 1
	p := ws * ws
	k := 1 + e.Width*e.Height
	st := oracleColStride(p)
	sc.cols = oracleGrow(sc.cols, k*st)
	sc.mean, sc.scale = oracleGrow(sc.mean, p), oracleGrow(sc.scale, p)
	sc.aoiT = oracleGrow(sc.aoiT, len(aoi))
	oracleIm2colNormalised(aoi, sc.aoiT, aw, e.Width, e.Height, ws, sc.cols, st, sc.mean, sc.scale)

	nn := len(e.Neurons)
	sc.z = oracleGrow(sc.z, nn*p)
	oracleNeuronProducts(sc.z, e.weights, sc.cols, nn, p, k, st, sc)

	// Sigmoids in float64 (glibc's exp on the reference), each added to the
	// float32 response in neuron order. Positions are in im2col order
	// (x outer, y inner).
	resp := oracleGrow(sc.resp, p)
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
	r := oracleGrow(sc.r, p)
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

// oracleColStride is the row length of the transposed im2col matrix: the
// positions rounded up to a multiple of 8 (the SIMD width of the neuron
// kernel); the padding is zero.
func oracleColStride(p int) int { return (p + 7) &^ 7 }

// oracleIm2colNormalised is im2colContrastNormBias, stored transposed: OpenFace's
// row for response position q (positions x outer, y inner) is
// [1, patch flattened column-major], with the patch made zero-mean and
// unit-L2-norm in float32 (the mean summed in row-major order, the squares
// in column-major order, the reciprocal norm computed in double); here
// element c of that row is cols[c·st+q].
func oracleIm2colNormalised(aoi, aoiT []float32, aw, pw, ph, ws int, cols []float32, st int, mean, scale []float32) {
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
			scale[q], scale[q+1], scale[q+2], scale[q+3] = oracleRecipNorm(q0), oracleRecipNorm(q1), oracleRecipNorm(q2), oracleRecipNorm(q3)
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
			mean[x*ws+y], scale[x*ws+y] = m, oracleRecipNorm(ss)
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

// oracleRecipNorm is OpenFace's reciprocal patch norm: sqrt of the float sum of
// squares (1 when 0), inverted in double.
func oracleRecipNorm(ss float32) float32 {
	norm := float32(math.Sqrt(float64(ss)))
	if norm == 0 {
		norm = 1
	}
	return float32(1.0 / float64(norm))
}

// oracleNeuronProducts computes z[j·P+q] = Σ_c w[j·K+c]·im2col[q][c] as
// OpenFace's sgemm_(N, N, P, J, K, …, im2colᵀ, weight_matrix) does on the
// reference machine (OpenBLAS's small-matrix kernel): positions before
// FirstLaneRow as FMA chains, the rest with 16 lanes and the kernel's
// reduction trees.
func oracleNeuronProducts(z, w, cols []float32, nn, p, k, st int, sc *oracleScratch) {
	chainEnd := exactmath.FirstLaneRow(p, k)
	exactmath.GemmChains(z, p, w, k, cols, st, nn, chainEnd, 0, k, false)
	sc.lane = oracleGrow(sc.lane, k)
	for q := chainEnd; q < p; q++ {
		for c := range sc.lane {
			sc.lane[c] = cols[c*st+q]
		}
		exactmath.LaneRow(z[q:], p, w, k, sc.lane, q, p, nn)
	}
}

// oracleAreaOfInterest samples the aw×ah float area of interest around the
// landmark (x, y) as Patch_experts::Response does: warpAffine of the
// float image with WARP_INVERSE_MAP | INTER_LINEAR, constant border 0, and
// the matrix [[a1, −b1, tx], [b1, a1, ty]] that puts the landmark at the
// area's centre ((aw−1)/2 in both axes). a1 and b1 come from the
// reference-to-image similarity (a1 = M00, b1 = −M01). The result is
// row-major; dst is reused when it has room. Image coordinates are relative
// to img.Rect.Min.
func oracleAreaOfInterest(img *image.Gray, x, y, a1, b1 float32, aw, ah int, dst []float32) []float32 {
	half := float32(float32(aw) - 1) // (aw − 1.0f), halved below as OpenFace does
	tx := float32(x-float32(a1*half)/2) + float32(b1*half)/2
	ty := float32(y-float32(a1*half)/2) - float32(b1*half)/2
	m := [6]float64{float64(a1), float64(-b1), float64(tx), float64(b1), float64(a1), float64(ty)}
	dst = oracleGrow(dst, aw*ah)
	oracleWarpAffineInv(img, m, aw, ah, dst)
	return dst
}

// oracleWarpAffineInv is cv::warpAffine(src(float), dst, M, size,
// WARP_INVERSE_MAP | INTER_LINEAR, BORDER_CONSTANT, 0) for an 8-bit source
// whose values are converted to float: each destination pixel (u, v)
// samples src at (M00·u + M01·v + M02, M10·u + M11·v + M12), the
// coordinates quantised as OpenCV's fixed-point blockline does and the four
// taps weighted by float products of 1/32 fractions, summed in OpenCV's
// order. Taps outside the image count as 0.
func oracleWarpAffineInv(img *image.Gray, m [6]float64, w, h int, dst []float32) {
	sw, sh := img.Rect.Dx(), img.Rect.Dy()
	pix, stride := img.Pix, img.Stride
	at := func(sx, sy int) float32 {
		if sx < 0 || sy < 0 || sx >= sw || sy >= sh {
			return 0
		}
		return float32(pix[sy*stride+sx])
	}
	for v := 0; v < h; v++ {
		x0 := cvRound((m[1]*float64(v)+m[2])*abScale) + roundDelta
		y0 := cvRound((m[4]*float64(v)+m[5])*abScale) + roundDelta
		row := dst[v*w : (v+1)*w]
		for u := range row {
			// int arithmetic wraps like OpenCV's 32-bit ints.
			xx := int(int32(x0+cvRound(m[0]*float64(u)*abScale))) >> coordShift
			yy := int(int32(y0+cvRound(m[3]*float64(u)*abScale))) >> coordShift
			sx, sy := satShort(xx>>interBits), satShort(yy>>interBits)
			fx, fy := xx&interMask, yy&interMask
			w0, w1, w2, w3 := oracleBilinearWeights(fx, fy)
			var p00, p01, p10, p11 float32
			if sx >= 0 && sy >= 0 && sx+1 < sw && sy+1 < sh {
				o := sy*stride + sx
				p00, p01 = float32(pix[o]), float32(pix[o+1])
				p10, p11 = float32(pix[o+stride]), float32(pix[o+stride+1])
			} else {
				if sx >= sw || sx+1 < 0 || sy >= sh || sy+1 < 0 {
					row[u] = 0
					continue
				}
				p00, p01, p10, p11 = at(sx, sy), at(sx+1, sy), at(sx, sy+1), at(sx+1, sy+1)
			}
			row[u] = float32(float32(float32(p00*w0)+float32(p01*w1))+float32(p10*w2)) + float32(p11*w3)
		}
	}
}

// oracleBilinearWeights returns OpenCV's float BilinearTab_f entry for the 1/32
// fractions fx, fy: (1−ty)(1−tx), (1−ty)tx, ty(1−tx), ty·tx (exact).
func oracleBilinearWeights(fx, fy int) (w0, w1, w2, w3 float32) {
	tx := float32(fx) * (1.0 / interTab)
	ty := float32(fy) * (1.0 / interTab)
	return (1 - ty) * (1 - tx), (1 - ty) * tx, ty * (1 - tx), ty * tx
}

// oracleGrow is the old growF.
func oracleGrow(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float32, n)
}
