package au

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"facemirror/pipeline/fhog"
	"facemirror/pipeline/pdm"
)

// MaxRepredicted is how many successful frames, from the start of the
// video, OpenFace predicts again with the final running medians.
const MaxRepredicted = 3000

// alignedSize is the side of the aligned face the HOG is computed on.
const alignedSize = 112

// ErrNonFinite reports a frame whose HOG descriptor or local parameters
// hold NaN or infinite values.
var ErrNonFinite = errors.New("au: non-finite frame input")

// Frame is the AU stage's input for one decoded frame.
type Frame struct {
	// HOG is the FHOG descriptor (HOGLen values) of the masked, aligned
	// face. On a failed frame OpenFace computes it from an all-black face;
	// leave it nil there and the Analyser does the same.
	HOG []float32
	// Local holds the PDM's non-rigid parameters that FaceAnalyser fits to
	// the final landmarks (not the landmark detector's own). Ignored on a
	// failed frame, where OpenFace uses zeros.
	Local []float32
	// Success is the landmark detector's success flag for the frame.
	Success bool
}

// AUs holds one frame's predictions in the column order of Predictors:
// Intensity in Predictors.Intensity order, Occurrence (the class values,
// 0 or 1) in Predictors.Occurrence order.
type AUs struct {
	Intensity  []float64
	Occurrence []float64
}

// Analyser is OpenFace's FaceAnalyser for one video: feed it every decoded
// frame in order with Add, then call Postprocess for the values
// FeatureExtraction writes to its CSV. It is not safe for concurrent use.
type Analyser struct {
	pred    *Predictors
	nI, nO  int
	geom    *geometry
	scorer  *scorer
	scratch *scoreScratch
	med     []float64 // running medians in feature order, HOG then geometry
	hogMed  *runningMedian
	geomMed *runningMedian
	black   []float32 // HOG of the all-black face of failed frames

	x      []float64   // this frame's features
	scores [][]float64 // one frame's raw scores

	success []bool
	online  []float64 // frames × (nI+nO): OpenFace's per-frame AU history

	// The first MaxRepredicted successful frames, kept for Postprocess:
	// HOG as float32 (exact, dlib computes it in float) and the local
	// parameters from which the geometry is recomputed bit for bit.
	keptFrame []int
	keptHOG   []float32
	keptLocal []float32
}

// Reserve makes room for a video of about frames frames, so that the
// frames kept for Postprocess (at most MaxRepredicted) and the AU history
// are not copied to ever larger arrays while the video is added: each
// doubling was a fresh array, page-faulted anew, with the old one still
// held (for d04, 472 frames at 1080p, the kept HOG is 8.4 MB). A wrong
// count costs nothing but the room: the arrays grow as before.
func (a *Analyser) Reserve(frames int) {
	if frames <= len(a.success) {
		return
	}
	more := frames - len(a.success)
	a.success = slices.Grow(a.success, more)
	a.online = slices.Grow(a.online, more*(a.nI+a.nO))
	if kept := min(frames, MaxRepredicted) - len(a.keptFrame); kept > 0 {
		a.keptFrame = slices.Grow(a.keptFrame, kept)
		a.keptHOG = slices.Grow(a.keptHOG, kept*HOGLen)
		a.keptLocal = slices.Grow(a.keptLocal, kept*a.geom.modes)
	}
}

// CheckModels reports whether predictors p and the PDM md can make an
// Analyser, without the tens of MB of running-median state an Analyser
// holds: a loader can check its files once, up front.
func CheckModels(p *Predictors, md *pdm.Model) error {
	if p == nil || len(p.Intensity)+len(p.Occurrence) == 0 {
		return fmt.Errorf("%w: no predictors", ErrModel)
	}
	if _, err := newGeometry(md); err != nil {
		return err
	}
	for _, set := range [][]Predictor{p.Intensity, p.Occurrence} {
		for _, pr := range set {
			if len(pr.Means) != FeatureLen || len(pr.Weights) != FeatureLen {
				return fmt.Errorf("%w: %s %s predictor has %d means and %d weights, want %d",
					ErrModel, pr.AU, pr.Kind, len(pr.Means), len(pr.Weights), FeatureLen)
			}
		}
	}
	return nil
}

// NewAnalyser returns an Analyser using predictors p and the PDM md
// (In-the-wild_aligned_PDM_68.txt) for the geometry features.
func NewAnalyser(p *Predictors, md *pdm.Model) (*Analyser, error) {
	if err := CheckModels(p, md); err != nil {
		return nil, err
	}
	g, err := newGeometry(md)
	if err != nil {
		return nil, err
	}
	black, err := fhog.Extract(make([]byte, alignedSize*alignedSize*3), alignedSize, alignedSize, alignedSize*3)
	if err != nil {
		return nil, fmt.Errorf("au: FHOG of the black face: %w", err)
	}
	if len(black.Data) != HOGLen {
		return nil, fmt.Errorf("au: FHOG of a %d×%d face has %d values, want %d", alignedSize, alignedSize, len(black.Data), HOGLen)
	}
	a := &Analyser{
		pred:   p,
		nI:     len(p.Intensity),
		nO:     len(p.Occurrence),
		geom:   g,
		scorer: newScorer(p),
		med:    make([]float64, FeatureLen),
		black:  black.Data,
		x:      make([]float64, FeatureLen),
	}
	a.hogMed = newRunningMedian(a.med[:HOGLen], hogBins, hogMin, hogMax, true)
	a.geomMed = newRunningMedian(a.med[HOGLen:], geomBins, geomMin, geomMax, false)
	a.scratch = a.scorer.newScratch()
	a.scores = [][]float64{make([]float64, a.nI+a.nO)}
	return a, nil
}

// Predictors returns the model the Analyser was built with.
func (a *Analyser) Predictors() *Predictors { return a.pred }

// Frames returns the number of frames added so far.
func (a *Analyser) Frames() int { return len(a.success) }

// Add processes the next frame (AddNextFrame) and returns OpenFace's online
// predictions for it: raw SVR intensities (not clipped) and SVM class
// values, all zero on a failed frame.
//
// A HOG or Local of the wrong length is a caller error: the frame is not
// recorded. A frame with NaN or infinite values is recorded as a failed
// frame, so frame numbering stays aligned with the video, and the returned
// error wraps ErrNonFinite.
func (a *Analyser) Add(f Frame) (AUs, error) {
	if f.HOG != nil && len(f.HOG) != HOGLen {
		return AUs{}, fmt.Errorf("au: frame %d: HOG has %d values, want %d", a.Frames(), len(f.HOG), HOGLen)
	}
	if f.Success && len(f.Local) != a.geom.modes {
		return AUs{}, fmt.Errorf("au: frame %d: %d local parameters, want %d", a.Frames(), len(f.Local), a.geom.modes)
	}
	if f.Success && f.HOG == nil {
		return AUs{}, fmt.Errorf("au: frame %d: successful frame without a HOG descriptor", a.Frames())
	}
	var bad error
	if !finite32(f.HOG) || (f.Success && !finite32(f.Local)) {
		bad = fmt.Errorf("%w: frame %d recorded as failed", ErrNonFinite, a.Frames())
		f = Frame{}
	}
	hog := f.HOG
	if hog == nil {
		hog = a.black
	}

	frameIndex := len(a.success)
	x := a.x
	for i, v := range hog {
		x[i] = float64(v)
	}
	if f.Success {
		a.geom.fill(x[HOGLen:], f.Local)
	} else {
		clear(x[HOGLen:])
	}

	// FaceAnalyser's frame counter starts at 1, and the medians are updated
	// when it is odd: on 0-based frames 0, 2, 4, …
	if frameIndex%2 == 0 {
		a.hogMed.update(x[:HOGLen], f.Success)
		a.geomMed.update(x[HOGLen:], f.Success)
	}

	row := make([]float64, a.nI+a.nO)
	if f.Success {
		a.scorer.score(a.scores, [][]float64{x}, a.med, a.scratch)
		a.classify(row, a.scores[0])
		if len(a.keptFrame) < MaxRepredicted {
			if len(a.keptFrame) == cap(a.keptFrame) {
				// Grow by doubling but never past MaxRepredicted frames,
				// which bounds the kept HOG at about 54 MB.
				more := min(max(2*len(a.keptFrame), 64), MaxRepredicted) - len(a.keptFrame)
				a.keptFrame = slices.Grow(a.keptFrame, more)
				a.keptHOG = slices.Grow(a.keptHOG, more*HOGLen)
				a.keptLocal = slices.Grow(a.keptLocal, more*len(f.Local))
			}
			a.keptFrame = append(a.keptFrame, frameIndex)
			a.keptHOG = append(a.keptHOG, hog...)
			a.keptLocal = append(a.keptLocal, f.Local...)
		}
	}
	a.success = append(a.success, f.Success)
	a.online = append(a.online, row...)
	return AUs{Intensity: row[:a.nI:a.nI], Occurrence: row[a.nI:]}, bad
}

// classify turns raw scores into a history row: intensities as they are,
// SVM scores into the predictor's class values.
func (a *Analyser) classify(row, scores []float64) {
	copy(row[:a.nI], scores[:a.nI])
	for j, pr := range a.pred.Occurrence {
		if scores[a.nI+j] > 0 {
			row[a.nI+j] = pr.PosClass
		} else {
			row[a.nI+j] = pr.NegClass
		}
	}
}

// HOGMedian returns a copy of the current HOG running median.
func (a *Analyser) HOGMedian() []float64 { return append([]float64(nil), a.med[:HOGLen]...) }

// GeomMedian returns a copy of the current geometry running median.
func (a *Analyser) GeomMedian() []float64 { return append([]float64(nil), a.med[HOGLen:]...) }

// MedianFrames returns how many frames the running-median histograms hold.
func (a *Analyser) MedianFrames() int { return a.hogMed.count }

func finite32(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}
