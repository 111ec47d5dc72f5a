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
	aoi   []float32
	aoiT  []float32 // the area of interest transposed, plus bandSlack values
	bands []float32 // the area of interest spread into bands (spreadBands)
	cols  []float32 // im2col, transposed (portable kernel only)
	lane  []float32 // one position's im2col row, for the lane tail
	// per-patch mean and reciprocal norm, padded to statBlock positions
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

// The response positions (patches) are numbered q = x·ws + y, x outer and
// y inner, as OpenFace's im2col rows are. Every kernel below works on
// eight consecutive positions at once, so it needs each pixel of the patch
// at q to lie at an offset that is linear in q. The area of interest does
// not give that (patches of neighbouring columns start ah − ws + 1 rows
// apart), but its bands do: band yy holds, for every area column x' and
// every y < ws, the pixel of row y+yy, at x'·ws + y. Pixel (xx, yy) of the
// patch at q is then band yy at q + xx·ws, for every q. The bands repeat
// each pixel at most Height times, which is far less than im2col's
// Width·Height copies, and the kernels read the patches through them, so
// that the normalised im2col matrix is never stored.

// statBlock is the number of positions the statistics kernel handles per
// call (four vectors of eight, whose sums are independent chains that
// overlap); mean and scale are padded to a multiple of it, and the bands
// carry that many values of slack so that its loads stay inside.
const statBlock = 32

// bandSlack is the padding of the transposed area: spreadBands copies in
// blocks of eight.
const bandSlack = 8

// expertResponse is ResponseOpenBlas for an aw×ah area of interest; dst
// has ws² values with ws = aw−Width+1 = ah−Height+1.
func expertResponse(e *Expert, sigma []float32, aoi []float32, aw, ah int, dst []float32, sc *scratch) {
	expertResponseWith(e, sigma, aoi, aw, ah, dst, sc, simd)
}

// expertResponseWith is expertResponse with the SIMD kernels (fast) or
// the portable ones; both give the same bits.
func expertResponseWith(e *Expert, sigma []float32, aoi []float32, aw, ah int, dst []float32, sc *scratch, fast bool) {
	pw, ph := e.Width, e.Height
	ws := ah - ph + 1
	p := ws * ws
	k := 1 + pw*ph
	nn := len(e.Neurons)
	bs := ws*aw + statBlock
	pp := (p + statBlock - 1) / statBlock * statBlock
	sc.aoiT = growF(sc.aoiT, aw*ah+bandSlack)
	sc.bands = growF(sc.bands, ph*bs)
	sc.mean, sc.scale = growF(sc.mean, pp), growF(sc.scale, pp)
	sc.z = growF(sc.z, nn*p)
	spreadBands(aoi, sc.aoiT, sc.bands, aw, ah, ws, ph, bs, fast)

	// Positions before chainEnd are FMA chains in OpenBLAS's small-matrix
	// kernel, the rest 16-lane sums (exactmath.FirstLaneRow).
	chainEnd := exactmath.FirstLaneRow(p, k)
	if fast {
		patchStatsFast(sc.bands, bs, ws, pw, ph, pp, sc.mean, sc.scale)
		neuronChainsFast(e, sc, bs, ws, p, chainEnd)
	} else {
		patchStatsGo(sc.bands, bs, ws, pw, ph, p, sc.mean, sc.scale)
		neuronChainsGo(e, sc, bs, ws, p, chainEnd)
	}
	sc.lane = growF(sc.lane, k)
	for q := chainEnd; q < p; q++ {
		normalisedRow(sc.bands, bs, ws, pw, ph, q, sc.mean[q], sc.scale[q], sc.lane)
		exactmath.LaneRow(sc.z[q:], p, e.weights, k, sc.lane, q, p, nn)
	}

	// Sigmoids in float64 (glibc's exp on the reference), each added to the
	// float32 response in neuron order. Positions are in im2col order
	// (x outer, y inner).
	resp := growF(sc.resp, p)
	sc.resp = resp
	clear(resp)
	for j, nr := range e.Neurons {
		if !(nr.Alpha > alphaCutoff) {
			continue
		}
		z := sc.z[j*p : (j+1)*p]
		if fast {
			addSigmoidsFast(resp, z, 2.0*nr.Alpha)
		} else {
			addSigmoidsGo(resp, z, 2.0*nr.Alpha)
		}
	}
	// Transposing gives the row-major (y, x) vector that Sigma multiplies.
	r := growF(sc.r, p)
	sc.r = r
	for x := 0; x < ws; x++ {
		col := resp[x*ws : x*ws+ws]
		for y, v := range col {
			r[y*ws+x] = v
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

// addSigmoidsGo adds neuron j's scaled sigmoids to the response:
// resp[q] += a2/(1 + exp(−z[q])) in float64, rounded to float32.
func addSigmoidsGo(resp, z []float32, a2 float64) {
	resp = resp[:len(z)]
	for q, v := range z {
		resp[q] = float32(float64(resp[q]) + a2/(1.0+math.Exp(float64(-v))))
	}
}

// spreadBands fills the ph bands (band yy at bands[yy·bs:], see above) of
// the aw×ah area: band yy at x'·ws + y is aoi[(y+yy)·aw + x']. It goes
// through the transposed area (aoiT, aw·ah+bandSlack values), whose
// columns hold each band's run of ws values contiguously; the runs are
// copied (by the assembly kernel, when fast, eight values at a time in
// ascending order, each copy's excess being overwritten by the next run or
// falling into the band's slack), and the slack is cleared.
func spreadBands(aoi, aoiT, bands []float32, aw, ah, ws, ph, bs int, fast bool) {
	for y := 0; y < ah; y++ {
		row := aoi[y*aw : y*aw+aw]
		for x, v := range row {
			aoiT[x*ah+y] = v
		}
	}
	clear(aoiT[aw*ah:])
	// The last run's blocks reach aoiT[(aw−1)·ah + ph−1 + ws+7 − 1] =
	// aoiT[aw·ah + 6] and bands[(ph−1)·bs + aw·ws + 6].
	if fast && simd && ws > 0 && len(aoiT) >= aw*ah+7 && bs >= aw*ws+7 && len(bands) >= ph*bs {
		spreadRuns(&bands[0], &aoiT[0], ph, aw, ws, bs, ah)
	} else {
		for yy := 0; yy < ph; yy++ {
			band := bands[yy*bs : yy*bs+bs]
			for x := 0; x < aw; x++ {
				copy(band[x*ws:x*ws+ws], aoiT[x*ah+yy:])
			}
		}
	}
	for yy := 0; yy < ph; yy++ {
		clear(bands[yy*bs+ws*aw : yy*bs+bs])
	}
}

// patchStatsGo sets, for every position q < p, mean[q] to the patch mean
// (float32 sum in row-major order, divided by the pixel count) and
// scale[q] to its reciprocal norm (the squared deviations summed in
// column-major order, recipNorm), as im2colContrastNormBias computes them.
func patchStatsGo(bands []float32, bs, ws, pw, ph, p int, mean, scale []float32) {
	inv := float32(pw * ph)
	for q := 0; q < p; q++ {
		var sum float32
		for yy := 0; yy < ph; yy++ {
			b := bands[yy*bs+q:]
			for xx := 0; xx < pw; xx++ {
				sum += b[xx*ws]
			}
		}
		m := sum / inv
		var ss float32
		for xx := 0; xx < pw; xx++ {
			for yy := 0; yy < ph; yy++ {
				d := bands[yy*bs+q+xx*ws] - m
				ss += float32(d * d)
			}
		}
		mean[q], scale[q] = m, recipNorm(ss)
	}
}

// normalisedRow sets row to OpenFace's im2col row of position q: 1, then
// the patch column-major, each pixel centred and scaled in float32.
func normalisedRow(bands []float32, bs, ws, pw, ph, q int, m, s float32, row []float32) {
	row[0] = 1
	for xx := 0; xx < pw; xx++ {
		for yy := 0; yy < ph; yy++ {
			row[1+xx*ph+yy] = (bands[yy*bs+q+xx*ws] - m) * s
		}
	}
}

// neuronChainsGo sets sc.z[j·p+q], for every neuron j and position
// q < chainEnd, to the float32 FMA chain of neuron j's weight row and
// position q's im2col row, through the transposed im2col matrix and
// exactmath.GemmChains.
func neuronChainsGo(e *Expert, sc *scratch, bs, ws, p, chainEnd int) {
	pw, ph := e.Width, e.Height
	k := 1 + pw*ph
	st := (p + 7) &^ 7
	sc.cols = growF(sc.cols, k*st)
	normalisedCols(sc.bands, bs, ws, pw, ph, p, sc.mean, sc.scale, sc.cols, st)
	exactmath.GemmChains(sc.z, p, e.weights, k, sc.cols, st, len(e.Neurons), chainEnd, 0, k, false)
}

// normalisedCols stores the im2col matrix transposed (element c of
// position q's row at cols[c·st+q], positions p..st−1 zero) for
// exactmath.GemmChains.
func normalisedCols(bands []float32, bs, ws, pw, ph, p int, mean, scale, cols []float32, st int) {
	clear(cols)
	for q := 0; q < p; q++ {
		cols[q] = 1
	}
	mean, scale = mean[:p], scale[:p]
	for xx := 0; xx < pw; xx++ {
		for yy := 0; yy < ph; yy++ {
			row := cols[(1+xx*ph+yy)*st:][:p]
			src := bands[yy*bs+xx*ws:][:p]
			for q, v := range src {
				row[q] = (v - mean[q]) * scale[q]
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
