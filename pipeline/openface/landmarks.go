package openface

import (
	"context"
	"errors"
	"fmt"
	"math"

	"facemirror/pipeline/openfacecsv"
)

// ValidationBoundary is the detection-validator certainty above which
// OpenFace's landmark detector counts a fit as successful
// (FaceModelParameters::validation_boundary).
const ValidationBoundary = 0.725

// ErrInput reports landmark input of the wrong shape: a caller error, not
// a frame to be written as failed.
var ErrInput = errors.New("openface: invalid landmark input")

// Landmarks is the landmark detector's output for one frame, the input of
// the analysis.
type Landmarks struct {
	// Points holds the 2D landmarks, x of every point then y (2·68 values:
	// OpenFace's detected_landmarks, the CSV's x_i and y_i).
	Points []float32
	// Global holds the detector's rigid parameters p_scale, p_rx, p_ry,
	// p_rz, p_tx, p_ty and Local its 34 non-rigid ones (params_global and
	// params_local, the CSV's p_*). The pose starts from them.
	Global [6]float32
	Local  []float32
	// Success is what DetectLandmarksInVideo returned: the CSV's success.
	Success bool
	// DetectionSuccess is the detector's own detection_success, which
	// decides whether the AU stage uses the frame. It differs from Success
	// only on a first detection the validator rejected.
	DetectionSuccess bool
	// Confidence is the validator's certainty (detection_certainty), the
	// CSV's confidence.
	Confidence float32
}

// check reports input of the wrong shape for a model of n points and m
// modes.
func (l *Landmarks) check(n, m int) error {
	if len(l.Points) != 2*n {
		return fmt.Errorf("%w: %d landmark values, want %d", ErrInput, len(l.Points), 2*n)
	}
	if len(l.Local) != m {
		return fmt.Errorf("%w: %d local parameters, want %d", ErrInput, len(l.Local), m)
	}
	return nil
}

// finite reports whether every value is a finite number.
func (l *Landmarks) finite() bool {
	return finite32(l.Points) && finite32(l.Global[:]) && finite32(l.Local) && finite32([]float32{l.Confidence})
}

func finite32(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}

// LandmarksFromCSV takes the landmark detector's output from an OpenFace
// CSV (x_i, y_i, p_*, success, confidence), one Landmarks per row, so that
// an existing OpenFace result can be analysed again, and recovers most of
// the precision the CSV's rounding removed (0.1 px for landmarks, 0.001
// for parameters): OpenFace's landmarks are the projection of its
// parameters through the landmark detector's PDM, so each row's rigid
// parameters are re-estimated as the centre of the set that reproduces
// both printed blocks, and the landmarks as their projection (see
// precision.go). That cuts the landmark error from 0.029 px RMS to about
// 0.002 px, which the AU stage needs: with the printed values AU
// intensities of a nearly neutral face correlate with OpenFace's at only
// r ≈ 0.98. The recovered values print exactly as the CSV's did. A row
// that is no projection of its parameters (before any face was found the
// landmarks are all 0) is taken as printed, as LandmarksAsPrinted does.
//
// The file must have the 2D landmark and parameter blocks and one row per
// frame, numbered 1, 2, … in order (FeatureExtraction's output, not a
// multi-face file). The CSV does not record the detector's
// detection_success; see LandmarksAsPrinted.
func (m *Models) LandmarksFromCSV(ctx context.Context, f *openfacecsv.File) ([]Landmarks, error) {
	out, err := LandmarksAsPrinted(f)
	if err != nil {
		return nil, err
	}
	fit := newPrecisionFit(m.lmPDM)
	if fit.n != f.Layout.Landmarks || fit.m != f.Layout.Modes {
		return nil, fmt.Errorf("%w: the CSV has %d landmarks and %d modes, the landmark model %d and %d",
			ErrInput, f.Layout.Landmarks, f.Layout.Modes, fit.n, fit.m)
	}
	for i, r := range f.Rows {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if points, g, ok := fit.estimate(r.Landmarks2D, r.Global, r.Local); ok {
			out[i].Points = points
			out[i].Global = g
		}
	}
	return out, nil
}

// LandmarksAsPrinted is LandmarksFromCSV without the recovery of
// precision: every value is the CSV's, converted to float32.
//
// The detector's detection_success is taken to be success && confidence >
// ValidationBoundary, which is what it is whenever the validator ran; the
// confidence's two decimals keep that test exact because the validator's
// certainties are multiples of 1/60 (0.7167 prints as 0.72, 0.75 as 0.75).
func LandmarksAsPrinted(f *openfacecsv.File) ([]Landmarks, error) {
	if f == nil {
		return nil, fmt.Errorf("%w: no CSV", ErrInput)
	}
	l := f.Layout
	if !l.Landmarks2D || !l.Params {
		return nil, fmt.Errorf("%w: the CSV needs the 2D landmark (x_*, y_*) and parameter (p_*) columns", ErrInput)
	}
	out := make([]Landmarks, len(f.Rows))
	for i, r := range f.Rows {
		if r.Frame != i+1 {
			return nil, fmt.Errorf("%w: CSV row %d is frame %d, want %d (one row per frame, in order)", ErrInput, i+1, r.Frame, i+1)
		}
		lm := Landmarks{
			Points:     make([]float32, len(r.Landmarks2D)),
			Local:      make([]float32, len(r.Local)),
			Success:    r.Success,
			Confidence: float32(r.Confidence),
		}
		for j, v := range r.Landmarks2D {
			lm.Points[j] = float32(v)
		}
		for j, v := range r.Global {
			lm.Global[j] = float32(v)
		}
		for j, v := range r.Local {
			lm.Local[j] = float32(v)
		}
		lm.DetectionSuccess = lm.Success && lm.Confidence > ValidationBoundary
		out[i] = lm
	}
	return out, nil
}
