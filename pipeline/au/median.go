package au

import (
	"math"

	"facemirror/internal/hugemem"
)

// Histogram settings of FaceAnalyser's running medians.
const (
	hogBins  = 1000
	hogMin   = -0.005
	hogMax   = 1.0
	geomBins = 10000
	geomMin  = -60.0
	geomMax  = 60.0
)

// runningMedian is FaceAnalyser's per-dimension histogram median
// (UpdateRunningMedian). Each dimension keeps a histogram of the values of
// the frames added so far; the median is the centre of the first bin whose
// cumulative count reaches (count+1)/2.
//
// OpenFace rescans every histogram from bin 0 at each update. Here each
// dimension remembers its current median bin and the cumulative count up
// to it, and walks from there; the bin found is the same because the
// cumulative counts are monotone.
type runningMedian struct {
	bins        int
	min         float64
	width, half float64 // bin width and half bin width, as OpenFace computes them
	alpha, beta float64 // bin position = x·alpha + beta
	clampZero   bool    // the HOG median is clamped at 0 after each update

	// The histograms, dims × bins: 16-bit counts while they fit (a
	// video's two running medians then take 14 MB instead of 27), 32-bit
	// from the 65,535th frame added on.
	hist16 []uint16
	hist32 []int32
	pos    []int32 // current median bin of each dimension
	cum    []int32 // cumulative count of bins 0..pos
	count  int     // frames in the histogram
	median []float64
}

// newRunningMedian returns a histogram median over len(median) dimensions
// that keeps its current value in median.
func newRunningMedian(median []float64, bins int, min, max float64, clampZero bool) *runningMedian {
	dims := len(median)
	length := math.Abs(max - min)
	n := float64(bins)
	// OpenCV folds (x − min)·bins/length into one scale and shift: the
	// subtraction becomes a shift of −min, the multiplication scales both,
	// and the division multiplies both by 1/length.
	inv := 1 / length
	m := &runningMedian{
		bins:      bins,
		min:       min,
		width:     length / n,
		half:      0.5 * length / n,
		alpha:     n * inv,
		beta:      (-min * n) * inv,
		clampZero: clampZero,
		hist16:    hugemem.Make[uint16](dims * bins),
		pos:       make([]int32, dims),
		cum:       make([]int32, dims),
		median:    median,
	}
	prefault(m.hist16)
	return m
}

// prefault writes one element of every page of s. The first update gives
// every dimension a count, so it touches nearly every page of the
// histogram anyway (HOG: 9 MB, about 2,200 pages); touching them here,
// where a Sequence is made while the helpers start, takes those page
// faults off the way to the first frame. On the development machine (a
// virtual machine) a page fault costs about 12 µs: this moved 40-70 ms.
// The histograms come from hugemem.Make, so most of those pages are 2 MB
// ones, each a single fault.
func prefault(s []uint16) {
	const perPage = 4096 / 2
	for i := 0; i < len(s); i += perPage {
		s[i] = 0
	}
}

// bin returns the histogram bin of x. OpenCV's convertTo evaluates
// x·alpha + beta with a fused multiply-add on AVX2 CPUs; on OpenFace's test
// videos the fused and unfused forms give the same bins.
func (m *runningMedian) bin(x float64) int {
	v := math.FMA(x, m.alpha, m.beta)
	last := float64(m.bins - 1)
	if v > last {
		v = last
	}
	if v < 0 {
		v = 0
	}
	return int(v)
}

// update is UpdateRunningMedian followed, for HOG, by the clamp at zero.
// desc is this frame's descriptor; add says whether it enters the
// histogram (successful frames only).
func (m *runningMedian) update(desc []float64, add bool) {
	dims := len(m.median)
	desc = desc[:dims]
	if add {
		if m.hist32 == nil && m.count == math.MaxUint16 {
			m.hist32 = make([]int32, len(m.hist16))
			for k, c := range m.hist16 {
				m.hist32[k] = int32(c)
			}
			m.hist16 = nil
		}
		for i, x := range desc {
			b := m.bin(x)
			if m.hist32 != nil {
				m.hist32[i*m.bins+b]++
			} else {
				m.hist16[i*m.bins+b]++
			}
			if int32(b) <= m.pos[i] {
				m.cum[i]++
			}
		}
		m.count++
	}
	if m.count == 1 {
		// OpenFace's special case: with one frame in the histogram the
		// median is the current descriptor, even when this frame did not
		// enter the histogram (a failed frame's zeros or black-face HOG).
		copy(m.median, desc)
	} else {
		if m.hist32 != nil {
			walkMedians(m, m.hist32)
		} else {
			walkMedians(m, m.hist16)
		}
	}
	if m.clampZero {
		for i, v := range m.median {
			if v < 0 {
				m.median[i] = 0
			}
		}
	}
}

// walkMedians moves each dimension's median bin to the first bin whose
// cumulative count reaches (count+1)/2 and sets the median to its centre.
func walkMedians[C uint16 | int32](m *runningMedian, hist []C) {
	cutoff := int32((m.count + 1) / 2)
	last := int32(m.bins - 1)
	for i := range m.median {
		h := hist[i*m.bins : (i+1)*m.bins]
		j, c := m.pos[i], m.cum[i]
		for c < cutoff && j < last {
			j++
			c += int32(h[j])
		}
		for j > 0 && c-int32(h[j]) >= cutoff {
			c -= int32(h[j])
			j--
		}
		m.pos[i], m.cum[i] = j, c
		m.median[i] = m.min + float64(float64(j)*m.width) + m.half
	}
}
