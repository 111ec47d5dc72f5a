package ccnf

import (
	"fmt"

	"facemirror/internal/exactmath"
)

// choleskyLAPACKRows is OpenCV 4.6's HAL_CHOLESKY_SMALL_MATRIX_THRESH: from
// this many rows on, cv::invert(…, DECOMP_CHOLESKY) hands a float matrix to
// LAPACK instead of its own Cholesky.
const choleskyLAPACKRows = 100

// sigmaEntry is one cached Sigma of an expert.
type sigmaEntry struct {
	ws    int
	sigma []float32
}

// components returns the sigma components OpenFace uses for window size
// ws: those of the last window entry whose components are ws²×ws² (none
// when no entry matches, e.g. in the eye models).
func (s *Scale) components(ws int) [][]float32 {
	var comps [][]float32
	for _, w := range s.Windows {
		if len(w.Components) > 0 && len(w.Components[0]) == ws*ws*ws*ws {
			comps = w.Components
		}
	}
	return comps
}

// Sigma returns the ws²×ws² (row-major) Sigma of the expert of landmark i
// in the view: the inverse of 2·(Σα·I + Σ_b (float)β_b·S_b), as
// CCNF_patch_expert::ComputeSigmas computes it. It is computed on first
// use and cached per expert and window size, as in OpenFace; the returned
// slice is shared and must not be modified.
func (s *Scale) Sigma(view, i, ws int) ([]float32, error) {
	if !s.Visible(view, i) {
		return nil, fmt.Errorf("ccnf: landmark %d has no expert in view %d", i, view)
	}
	if ws < 1 || ws > 64 {
		return nil, fmt.Errorf("ccnf: window size %d out of range", ws)
	}
	e := s.Experts[view][i]
	if e.Empty() {
		return nil, fmt.Errorf("ccnf: landmark %d is marked visible in view %d but its expert is empty", i, view)
	}
	return s.sigma(view, i, ws, s.components(ws)), nil
}

// sigma returns the Sigma of a visible expert: from an attached table
// (AttachSigmaTable) when there is one for ws, else computed on first use
// and cached by the expert.
func (s *Scale) sigma(view, i, ws int, comps [][]float32) []float32 {
	if t := s.tables[ws]; t != nil {
		return t.at(view, i)
	}
	return s.Experts[view][i].sigma(ws, comps).sigma
}

func (e *Expert) sigma(ws int, comps [][]float32) *sigmaEntry {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.sigmas {
		if c.ws == ws {
			return c
		}
	}
	c := &sigmaEntry{ws: ws, sigma: computeSigma(e, ws, comps)}
	e.sigmas = append(e.sigmas, c)
	return c
}

// computeSigma follows ComputeSigmas: Σα accumulated in a float (each step
// widened to double with the double alpha and narrowed back), the
// components added with cv::scaleAdd (q2 = S_b·(float)β_b + q2, each
// element one fused multiply-add in OpenCV's SIMD loop on the reference
// machine), SigmaInv = 2·(Σα·I + q2), and the inverse as cv::invert(…,
// DECOMP_CHOLESKY) computed it on the reference machine: OpenCV's own
// float Cholesky below 100 rows (ws ≤ 9), OpenBLAS 0.3.21's sposv (through
// OpenCV's LAPACK path) from 100 rows on (ws = 11).
func computeSigma(e *Expert, ws int, comps [][]float32) []float32 {
	n := ws * ws
	var sumAlpha float32
	for _, nr := range e.Neurons {
		sumAlpha = float32(float64(sumAlpha) + nr.Alpha)
	}
	q := make([]float32, n*n)
	for b, c := range comps {
		if b >= len(e.Betas) {
			break
		}
		beta := float32(e.Betas[b])
		for k, v := range c {
			q[k] = exactmath.FMA32(v, beta, q[k])
		}
	}
	a := make([]float32, n*n)
	for r := 0; r < n; r++ {
		for c := 0; c < n; c++ {
			v := q[r*n+c]
			if r == c {
				v = sumAlpha + v
			}
			a[r*n+c] = 2 * v
		}
	}
	if n >= choleskyLAPACKRows {
		return exactmath.CholeskyInvertLAPACK(a, n)
	}
	return exactmath.CholeskyInvert(a, n)
}
