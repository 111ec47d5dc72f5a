package openfacecsv

import (
	"errors"
	"fmt"
	"math"
)

// ErrRow reports a Row that does not fit its Layout or holds a value that
// cannot be written (NaN or infinite).
var ErrRow = errors.New("openfacecsv: invalid row")

// Row is one line of a file. Slices of blocks the Layout leaves out are
// ignored; the others must have exactly the Layout's length.
type Row struct {
	Frame      int // 1-based
	FaceID     int
	Timestamp  float64 // seconds
	Confidence float64
	Success    bool

	// Gaze block.
	GazeDirection0 [3]float64 // left eye, unit vector in camera space
	GazeDirection1 [3]float64 // right eye
	GazeAngle      [2]float64 // radians, x then y
	EyeLandmarks2D []float64  // 2·EyeLandmarks: every x, then every y
	EyeLandmarks3D []float64  // 3·EyeLandmarks: every X, Y, then Z

	// Pose holds Tx, Ty, Tz (mm) and Rx, Ry, Rz (radians).
	Pose [6]float64

	Landmarks2D []float64 // 2·Landmarks: every x, then every y
	Landmarks3D []float64 // 3·Landmarks: every X, Y, then Z

	// Global holds p_scale, p_rx, p_ry, p_rz, p_tx, p_ty; Local p_0 … .
	Global [6]float64
	Local  []float64

	Intensity  []float64 // in Layout.IntensityAUs order
	Occurrence []float64 // in Layout.OccurrenceAUs order
}

// NewRow returns a Row whose slices have the lengths l needs.
func NewRow(l Layout) Row {
	var r Row
	if l.Gaze {
		r.EyeLandmarks2D = make([]float64, 2*l.EyeLandmarks)
		r.EyeLandmarks3D = make([]float64, 3*l.EyeLandmarks)
	}
	if l.Landmarks2D {
		r.Landmarks2D = make([]float64, 2*l.Landmarks)
	}
	if l.Landmarks3D {
		r.Landmarks3D = make([]float64, 3*l.Landmarks)
	}
	if l.Params {
		r.Local = make([]float64, l.Modes)
	}
	if l.AUs {
		r.Intensity = make([]float64, len(l.IntensityAUs))
		r.Occurrence = make([]float64, len(l.OccurrenceAUs))
	}
	return r
}

// check reports the first slice of r whose length does not fit l.
func (l Layout) check(r *Row) error {
	for _, c := range []struct {
		name string
		got  int
		want int
		used bool
	}{
		{"eye landmarks 2D", len(r.EyeLandmarks2D), 2 * l.EyeLandmarks, l.Gaze},
		{"eye landmarks 3D", len(r.EyeLandmarks3D), 3 * l.EyeLandmarks, l.Gaze},
		{"landmarks 2D", len(r.Landmarks2D), 2 * l.Landmarks, l.Landmarks2D},
		{"landmarks 3D", len(r.Landmarks3D), 3 * l.Landmarks, l.Landmarks3D},
		{"local parameters", len(r.Local), l.Modes, l.Params},
		{"AU intensities", len(r.Intensity), len(l.IntensityAUs), l.AUs},
		{"AU occurrences", len(r.Occurrence), len(l.OccurrenceAUs), l.AUs},
	} {
		if c.used && c.got != c.want {
			return fmt.Errorf("%w: frame %d has %d %s, the layout needs %d", ErrRow, r.Frame, c.got, c.name, c.want)
		}
	}
	return nil
}

// value returns the float value of a float field.
func (r *Row) value(f field) float64 {
	switch f.kind {
	case fTimestamp:
		return r.Timestamp
	case fConfidence:
		return r.Confidence
	case fGaze0:
		return r.GazeDirection0[f.idx]
	case fGaze1:
		return r.GazeDirection1[f.idx]
	case fGazeAngle:
		return r.GazeAngle[f.idx]
	case fEye2D:
		return r.EyeLandmarks2D[f.idx]
	case fEye3D:
		return r.EyeLandmarks3D[f.idx]
	case fPose:
		return r.Pose[f.idx]
	case fLandmarks2D:
		return r.Landmarks2D[f.idx]
	case fLandmarks3D:
		return r.Landmarks3D[f.idx]
	case fGlobal:
		return r.Global[f.idx]
	case fLocal:
		return r.Local[f.idx]
	case fIntensity:
		return r.Intensity[f.idx]
	case fOccurrence:
		return r.Occurrence[f.idx]
	}
	return math.NaN()
}

// set stores the float value of a float field.
func (r *Row) set(f field, v float64) {
	switch f.kind {
	case fTimestamp:
		r.Timestamp = v
	case fConfidence:
		r.Confidence = v
	case fGaze0:
		r.GazeDirection0[f.idx] = v
	case fGaze1:
		r.GazeDirection1[f.idx] = v
	case fGazeAngle:
		r.GazeAngle[f.idx] = v
	case fEye2D:
		r.EyeLandmarks2D[f.idx] = v
	case fEye3D:
		r.EyeLandmarks3D[f.idx] = v
	case fPose:
		r.Pose[f.idx] = v
	case fLandmarks2D:
		r.Landmarks2D[f.idx] = v
	case fLandmarks3D:
		r.Landmarks3D[f.idx] = v
	case fGlobal:
		r.Global[f.idx] = v
	case fLocal:
		r.Local[f.idx] = v
	case fIntensity:
		r.Intensity[f.idx] = v
	case fOccurrence:
		r.Occurrence[f.idx] = v
	}
}
