// Package openfacecsv writes and reads the per-frame CSV files of OpenFace
// 2.2's FeatureExtraction, column for column and digit for digit.
//
// A file starts with frame, face_id, timestamp, confidence and success,
// followed by optional blocks in a fixed order: gaze, head pose, 2D
// landmarks, 3D landmarks, PDM parameters and action units (intensities
// "_r", then occurrences "_c"). Values are printed in fixed notation with
// the precision RecorderCSV uses for each field (and, for the AU columns,
// the 2 decimals of the post-processing rewrite), separated by commas
// without spaces, one row per decoded frame with a 1-based frame number.
//
// Files are written atomically: a temporary file in the destination
// folder is filled, synced and renamed over the destination, and removed
// on any error. The reader also accepts files with ", " separators and
// CRLF line ends that some Windows builds of OpenFace wrote.
package openfacecsv

import (
	"errors"
	"fmt"
	"strconv"
)

// Sizes of OpenFace 2.2's output with its standard models.
const (
	NumLandmarks    = 68
	NumEyeLandmarks = 56
	NumModes        = 34
)

// openFaceIntensityAUs and openFaceOccurrenceAUs are OpenFace 2.2's action
// units in column order (AU_all_best.txt, sorted); OpenFaceLayout hands out
// copies.
var (
	openFaceIntensityAUs  = []string{"AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12", "AU14", "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU45"}
	openFaceOccurrenceAUs = []string{"AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12", "AU14", "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU28", "AU45"}
)

// ErrLayout reports a Layout that cannot describe a file.
var ErrLayout = errors.New("openfacecsv: invalid layout")

// Blocks selects the optional column blocks of a file.
type Blocks struct {
	Gaze        bool // gaze_0_x … gaze_angle_y, eye_lmk_x_0 … eye_lmk_Z_55
	Pose        bool // pose_Tx … pose_Rz
	Landmarks2D bool // x_0 … x_67, y_0 … y_67
	Landmarks3D bool // X_0 … Z_67
	Params      bool // p_scale … p_ty, p_0 … p_33
	AUs         bool // AUxx_r …, AUxx_c …
}

// Layout describes the columns of a file.
type Layout struct {
	Blocks
	Landmarks    int // facial landmarks (68)
	EyeLandmarks int // eye landmarks per file row (56: 28 per eye)
	Modes        int // non-rigid PDM parameters (34)
	// IntensityAUs and OccurrenceAUs name the AU columns in order, without
	// the "_r" / "_c" suffix. OpenFace sorts them.
	IntensityAUs  []string
	OccurrenceAUs []string
}

// OpenFaceLayout returns the layout of FeatureExtraction run with -2Dfp
// -3Dfp -pdmparams -pose -aus -gaze (714 columns); set blocks to false to
// leave them out.
func OpenFaceLayout() Layout {
	return Layout{
		Blocks:        Blocks{Gaze: true, Pose: true, Landmarks2D: true, Landmarks3D: true, Params: true, AUs: true},
		Landmarks:     NumLandmarks,
		EyeLandmarks:  NumEyeLandmarks,
		Modes:         NumModes,
		IntensityAUs:  append([]string(nil), openFaceIntensityAUs...),
		OccurrenceAUs: append([]string(nil), openFaceOccurrenceAUs...),
	}
}

// maxCount bounds the per-block counts a layout may declare.
const maxCount = 1 << 16

// Validate reports whether l can describe a file.
func (l Layout) Validate() error {
	for _, c := range []struct {
		name string
		n    int
		used bool
	}{
		{"landmarks", l.Landmarks, l.Landmarks2D || l.Landmarks3D},
		{"eye landmarks", l.EyeLandmarks, l.Gaze},
		{"modes", l.Modes, l.Params},
	} {
		if c.n < 0 || c.n > maxCount || (c.used && c.n == 0) {
			return fmt.Errorf("%w: %d %s", ErrLayout, c.n, c.name)
		}
	}
	if l.AUs {
		if len(l.IntensityAUs)+len(l.OccurrenceAUs) == 0 {
			return fmt.Errorf("%w: AU block without AU names", ErrLayout)
		}
		for _, n := range append(append([]string(nil), l.IntensityAUs...), l.OccurrenceAUs...) {
			if !validName(n) {
				return fmt.Errorf("%w: AU name %q", ErrLayout, n)
			}
		}
	}
	return nil
}

// validName accepts names that cannot break the CSV.
func validName(n string) bool {
	if n == "" {
		return false
	}
	for _, c := range n {
		if c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' {
			return false
		}
	}
	return true
}

// field is one column: its name, the precision it is printed with (−1 for
// integers and the success flag) and where its value lives in a Row.
type field struct {
	name string
	prec int
	kind fieldKind
	idx  int
}

type fieldKind uint8

const (
	fFrame fieldKind = iota
	fFaceID
	fTimestamp
	fConfidence
	fSuccess
	fGaze0
	fGaze1
	fGazeAngle
	fEye2D
	fEye3D
	fPose
	fLandmarks2D
	fLandmarks3D
	fGlobal
	fLocal
	fIntensity
	fOccurrence
)

// Printing precision of each kind of value (RecorderCSV, and the
// post-processing rewrite for the AUs).
const (
	precTimestamp  = 3
	precConfidence = 2
	precGazeDir    = 6
	precGazeAngle  = 3
	precEye        = 1
	precPoseT      = 1
	precPoseR      = 3
	precLandmark   = 1
	precParam      = 3
	precAU         = 2
)

// fields lists the columns of l in file order.
func (l Layout) fields() []field {
	fs := []field{
		{"frame", -1, fFrame, 0},
		{"face_id", -1, fFaceID, 0},
		{"timestamp", precTimestamp, fTimestamp, 0},
		{"confidence", precConfidence, fConfidence, 0},
		{"success", -1, fSuccess, 0},
	}
	add := func(name string, prec int, kind fieldKind, idx int) {
		fs = append(fs, field{name, prec, kind, idx})
	}
	series := func(prefix string, n int, prec int, kind fieldKind, offset int) {
		for i := 0; i < n; i++ {
			add(prefix+strconv.Itoa(i), prec, kind, offset+i)
		}
	}
	if l.Gaze {
		for i, c := range []string{"x", "y", "z"} {
			add("gaze_0_"+c, precGazeDir, fGaze0, i)
		}
		for i, c := range []string{"x", "y", "z"} {
			add("gaze_1_"+c, precGazeDir, fGaze1, i)
		}
		add("gaze_angle_x", precGazeAngle, fGazeAngle, 0)
		add("gaze_angle_y", precGazeAngle, fGazeAngle, 1)
		e := l.EyeLandmarks
		series("eye_lmk_x_", e, precEye, fEye2D, 0)
		series("eye_lmk_y_", e, precEye, fEye2D, e)
		series("eye_lmk_X_", e, precEye, fEye3D, 0)
		series("eye_lmk_Y_", e, precEye, fEye3D, e)
		series("eye_lmk_Z_", e, precEye, fEye3D, 2*e)
	}
	if l.Pose {
		for i, n := range []string{"pose_Tx", "pose_Ty", "pose_Tz"} {
			add(n, precPoseT, fPose, i)
		}
		for i, n := range []string{"pose_Rx", "pose_Ry", "pose_Rz"} {
			add(n, precPoseR, fPose, 3+i)
		}
	}
	n := l.Landmarks
	if l.Landmarks2D {
		series("x_", n, precLandmark, fLandmarks2D, 0)
		series("y_", n, precLandmark, fLandmarks2D, n)
	}
	if l.Landmarks3D {
		series("X_", n, precLandmark, fLandmarks3D, 0)
		series("Y_", n, precLandmark, fLandmarks3D, n)
		series("Z_", n, precLandmark, fLandmarks3D, 2*n)
	}
	if l.Params {
		for i, p := range []string{"p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty"} {
			add(p, precParam, fGlobal, i)
		}
		series("p_", l.Modes, precParam, fLocal, 0)
	}
	if l.AUs {
		for i, au := range l.IntensityAUs {
			add(au+"_r", precAU, fIntensity, i)
		}
		for i, au := range l.OccurrenceAUs {
			add(au+"_c", precAU, fOccurrence, i)
		}
	}
	return fs
}

// Columns returns the column names of l in file order.
func (l Layout) Columns() []string {
	fs := l.fields()
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.name
	}
	return out
}
