package openface

import (
	"context"
	"errors"
	"fmt"
	"math"

	"facemirror/pipeline/openfacecsv"
	"facemirror/pipeline/pdm"
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
	// Eyes are the detector's eye part models after the frame,
	// LeftEyePart then RightEyePart: the eye landmark columns and the gaze
	// come from them, and package clnf's tracker gives them on every
	// frame. When both are empty, the analysis derives them from Points as
	// OpenFace's detector leaves them for a face too small for its eye
	// models (p_scale at most 0.9): each eye PDM fitted to the main
	// landmarks mapped to it, or the state before any fit when no mapped
	// landmark is present or the fit degenerates. That is OpenFace's
	// result for such faces; for larger ones, whose eye models OpenFace
	// fits to the picture, it is an approximation (gaze angles 2–3° off on
	// average on the reference videos).
	Eyes [2]Eye
}

// Eye is an eye part model's state: OpenFace's
// CLNF::hierarchical_models entry for the eye after the frame.
type Eye struct {
	// Points are its 2D landmarks, x of every point then y
	// (detected_landmarks: 2·28 values for OpenFace's eye models).
	Points []float32
	// Global holds its scale, rotation and translation and Local its
	// shape parameters (params_global, params_local: 10 for OpenFace's eye
	// models).
	Global [6]float32
	Local  []float32
}

// empty reports whether e holds nothing.
func (e *Eye) empty() bool { return len(e.Points) == 0 && len(e.Local) == 0 }

// check reports input of the wrong shape for a model of n points and m
// modes with the given eye models.
func (l *Landmarks) check(n, m int, eyes *[2]eyeModel) error {
	if len(l.Points) != 2*n {
		return fmt.Errorf("%w: %d landmark values, want %d", ErrInput, len(l.Points), 2*n)
	}
	if len(l.Local) != m {
		return fmt.Errorf("%w: %d local parameters, want %d", ErrInput, len(l.Local), m)
	}
	if l.Eyes[0].empty() && l.Eyes[1].empty() {
		return nil
	}
	for i := range l.Eyes {
		e, md := &l.Eyes[i], eyes[i].pdm
		if len(e.Points) != 2*md.NumPoints() || len(e.Local) != md.NumModes() {
			return fmt.Errorf("%w: %s model with %d landmark values and %d local parameters, want %d and %d",
				ErrInput, eyes[i].name, len(e.Points), len(e.Local), 2*md.NumPoints(), md.NumModes())
		}
	}
	return nil
}

// finite reports whether every value is a finite number.
func (l *Landmarks) finite() bool {
	if !finite32(l.Points) || !finite32(l.Global[:]) || !finite32(l.Local) || !finite32([]float32{l.Confidence}) {
		return false
	}
	for i := range l.Eyes {
		e := &l.Eyes[i]
		if !finite32(e.Points) || !finite32(e.Global[:]) || !finite32(e.Local) {
			return false
		}
	}
	return true
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
		if f.Layout.Gaze && f.Layout.EyeLandmarks == m.eyePoints {
			var err error
			if out[i].Eyes, err = m.eyesFromCSV(out[i].Points, r.EyeLandmarks2D); err != nil {
				return nil, fmt.Errorf("CSV row %d: %w", i+1, err)
			}
		}
	}
	return out, nil
}

// eyesFromCSV recovers the eye models' state of a CSV row from its
// landmarks (recovered) and the eye landmarks as printed: the state
// derived from the landmarks (eyesFromFace) when it prints as the CSV's
// eye landmarks, which it does where OpenFace did not fit the eye models
// to the picture; otherwise each eye PDM fitted to its printed landmarks,
// whose projection they are up to the rounding.
func (m *Models) eyesFromCSV(points []float32, printed []float64) ([2]Eye, error) {
	eyes, err := m.eyesFromFace(points)
	if err != nil {
		return eyes, err
	}
	total, off := m.eyePoints, 0
	for i := range m.eyes {
		md := m.eyes[i].pdm
		np := md.NumPoints()
		same := true
		for k := 0; k < np && same; k++ {
			same = samePrint(eyes[i].Points[k], printed[off+k], landmarkDecimals) &&
				samePrint(eyes[i].Points[np+k], printed[total+off+k], landmarkDecimals)
		}
		if !same {
			locs := make([]float32, 2*np)
			for k := 0; k < np; k++ {
				locs[k], locs[np+k] = float32(printed[off+k]), float32(printed[total+off+k])
			}
			p, err := md.CalcParams(locs, pdm.Euler{})
			g := p.Global
			e := Eye{Global: [6]float32{g.Scale, g.Rx, g.Ry, g.Rz, g.Tx, g.Ty}, Local: p.Local}
			if err == nil && g.Scale != 0 && finite32(e.Global[:]) && finite32(e.Local) {
				if e.Points, err = md.Shape2D(g, p.Local, nil); err == nil && finite32(e.Points) {
					eyes[i] = e
				}
			}
		}
		off += np
	}
	return eyes, nil
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
