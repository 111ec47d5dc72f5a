package openface

import (
	"errors"
	"fmt"

	"gocv.io/x/gocv"

	"facemirror/pipeline/align"
	"facemirror/pipeline/au"
	"facemirror/pipeline/fhog"
	"facemirror/pipeline/gaze"
	"facemirror/pipeline/pdm"
)

// ErrImage reports a frame image the analysis cannot read.
var ErrImage = errors.New("openface: unusable frame image")

// Rejection says why landmark input was not used as given.
type Rejection uint8

const (
	// Accepted: the input was used as given.
	Accepted Rejection = iota
	// NonFinite: NaN or infinite input, or a non-finite pose or 3D shape.
	// Written as a failed frame with zero geometry.
	NonFinite
	// OutOfFrame: a frame claimed successful with every landmark outside
	// the image. Written as a failed frame.
	OutOfFrame
	// Unfittable: a frame claimed successful whose landmarks the
	// FaceAnalyser's fit or alignment cannot use. Written as a failed
	// frame.
	Unfittable
)

// String names the rejection.
func (r Rejection) String() string {
	switch r {
	case Accepted:
		return "accepted"
	case NonFinite:
		return "non-finite landmark input"
	case OutOfFrame:
		return "all landmarks outside the image"
	case Unfittable:
		return "landmarks the face model cannot fit"
	}
	return fmt.Sprintf("Rejection(%d)", uint8(r))
}

// FrameResult is the per-frame output of the analysis: the CSV values
// that need no other frame, and the AU stage's features. It holds plain
// numbers only (see MarshalBinary) so that it can cross process
// boundaries.
type FrameResult struct {
	// Success and Confidence are the CSV's success and confidence columns.
	Success    bool
	Confidence float32
	// Landmarks (x block, y block), Global and Local are the landmark
	// detector's values as the CSV writes them (x_i, y_i, p_*).
	Landmarks []float32
	Global    [6]float32
	Local     []float32
	// Pose is pose_Tx, pose_Ty, pose_Tz (mm) and pose_Rx, pose_Ry, pose_Rz
	// (radians).
	Pose [6]float32
	// Landmarks3D are the camera-space landmarks X_i, then Y_i, then Z_i.
	Landmarks3D []float32
	// EyeLandmarks are the eye models' 2D landmarks, left eye then right
	// eye: eye_lmk_x_0 …, then eye_lmk_y_0 … (2·56 values).
	EyeLandmarks []float32
	// EyeLandmarks3D are their camera-space positions: eye_lmk_X_*, then
	// eye_lmk_Y_*, then eye_lmk_Z_* (3·56 values).
	EyeLandmarks3D []float32
	// Gaze holds the unit gaze vectors of the left eye (gaze_0_x, _y, _z)
	// and the right eye (gaze_1_*) in camera space, and GazeAngle
	// gaze_angle_x and gaze_angle_y (radians). All are 0 on a frame whose
	// Success is false: FeatureExtraction estimates gaze only on
	// successful frames.
	Gaze      [6]float32
	GazeAngle [2]float32

	// AUSuccess tells whether the AU stage uses the frame (the detector's
	// detection_success, unless the input was rejected). When false, the
	// fields below are zero and nil, and the AU stage treats the frame as
	// failed.
	AUSuccess bool
	// AUGlobal and AULocal are the FaceAnalyser's own PDM fit to the
	// landmarks; AULocal feeds the geometry features.
	AUGlobal [6]float32
	AULocal  []float32
	// HOG is the FHOG descriptor of the aligned, masked face (au.HOGLen
	// values).
	HOG []float32
	// Aligned is that face's pixels, 112×112 BGR bytes row by row, when
	// the Analyser keeps them (Analyser.KeepAligned); else nil.
	Aligned []byte

	// Rejected says whether and why the input was not used as given.
	Rejected Rejection
}

// Analyser analyses frames one at a time, reusing its scratch buffers. It
// must not be used by several goroutines at once; use one per goroutine.
// Results do not share memory with the Analyser.
type Analyser struct {
	// KeepAligned makes every result of the AU stage carry its aligned
	// face's pixels (FrameResult.Aligned), which OpenFace's -simalign
	// writes; without it they are dropped after the FHOG.
	KeepAligned bool

	m   *Models
	hog fhog.Extractor
}

// NewAnalyser returns an Analyser for the models.
func (m *Models) NewAnalyser() *Analyser { return &Analyser{m: m} }

// Analyse is Analyser.Analyse with a fresh Analyser.
func (m *Models) Analyse(img gocv.Mat, in Landmarks) (FrameResult, error) {
	return m.NewAnalyser().Analyse(img, in)
}

// Analyse computes a frame's result from its upright 8-bit BGR image and
// the landmark detector's output for it. The camera is FeatureExtraction's
// default for the image size. Unusable landmark values give a failed-frame
// result (see Rejection); an error means a caller mistake (an empty or
// non-BGR image, slices of the wrong length) or a failure inside OpenCV.
func (a *Analyser) Analyse(img gocv.Mat, in Landmarks) (FrameResult, error) {
	return a.analyse(img, in, true)
}

// Geometry is Analyse without the AU stage's features (AUSuccess false,
// no HOG): the landmarks, pose and 3D landmarks of the frame, for callers
// that track a face without wanting its AUs (the midline and the debug
// video of mode mirror). It saves the face's alignment and FHOG.
func (a *Analyser) Geometry(img gocv.Mat, in Landmarks) (FrameResult, error) {
	return a.analyse(img, in, false)
}

func (a *Analyser) analyse(img gocv.Mat, in Landmarks, aus bool) (FrameResult, error) {
	if img.Empty() {
		return FrameResult{}, fmt.Errorf("%w: empty image", ErrImage)
	}
	if t := img.Type(); t != gocv.MatTypeCV8UC3 {
		return FrameResult{}, fmt.Errorf("%w: type %v, want 8-bit BGR", ErrImage, t)
	}
	lm := a.m.lmPDM
	n, modes := lm.NumPoints(), lm.NumModes()
	if err := in.check(n, modes, &a.m.eyes); err != nil {
		return FrameResult{}, err
	}
	w, h := img.Cols(), img.Rows()
	r := FrameResult{
		Success:    in.Success,
		Confidence: in.Confidence,
		Landmarks:  append([]float32(nil), in.Points...),
		Global:     in.Global,
		Local:      append([]float32(nil), in.Local...),
	}
	if !in.finite() {
		return a.m.zeroGeometry(), nil
	}

	// Pose and 3D landmarks, from the detector's parameters, on every
	// frame: FeatureExtraction writes them whether tracking succeeded or
	// not.
	g := globalOf(in.Global)
	cam := pdm.DefaultCamera(w, h)
	pose, err := lm.HeadPose(in.Points, g, in.Local, cam)
	if err != nil {
		return FrameResult{}, fmt.Errorf("openface: head pose: %w", err)
	}
	r.Pose = [6]float32{pose.Tx, pose.Ty, pose.Tz, pose.Rx, pose.Ry, pose.Rz}
	if r.Landmarks3D, err = lm.CameraShape(in.Points, g, in.Local, cam); err != nil {
		return FrameResult{}, fmt.Errorf("openface: 3D landmarks: %w", err)
	}
	if !finite32(r.Pose[:]) || !finite32(r.Landmarks3D) {
		return a.m.zeroGeometry(), nil
	}
	if err := a.m.eyesAndGaze(&r, in, cam); err != nil {
		return FrameResult{}, err
	}
	if !finite32(r.EyeLandmarks3D) || !finite32(r.Gaze[:]) || !finite32(r.GazeAngle[:]) {
		return a.m.zeroGeometry(), nil
	}

	if !in.DetectionSuccess || !aus {
		return r, nil
	}
	if outside(in.Points, w, h) {
		return failed(r, OutOfFrame), nil
	}

	// FaceAnalyser::AddNextFrame: refit the FaceAnalyser's PDM to the
	// landmarks, align and mask the face, FHOG.
	fit, err := a.m.auPDM.CalcParams(in.Points, pdm.Euler{})
	if err != nil {
		if errors.Is(err, pdm.ErrNoLandmarks) {
			return failed(r, Unfittable), nil
		}
		return FrameResult{}, fmt.Errorf("openface: FaceAnalyser fit: %w", err)
	}
	fg := fit.Global
	r.AUGlobal = [6]float32{fg.Scale, fg.Rx, fg.Ry, fg.Rz, fg.Tx, fg.Ty}
	if !finite32(r.AUGlobal[:]) || !finite32(fit.Local) {
		return failed(r, Unfittable), nil
	}
	face, err := a.m.aligner.Align(img, in.Points, fg)
	if err != nil {
		if errors.Is(err, align.ErrBadInput) {
			return failed(r, Unfittable), nil
		}
		return FrameResult{}, fmt.Errorf("openface: align face: %w", err)
	}
	defer face.Close()
	pix, err := face.DataPtrUint8()
	if err != nil {
		return FrameResult{}, fmt.Errorf("openface: aligned face pixels: %w", err)
	}
	d, err := a.hog.Extract(make([]float32, au.HOGLen), pix, face.Cols(), face.Rows(), face.Cols()*face.Channels())
	if err != nil {
		return FrameResult{}, fmt.Errorf("openface: FHOG of the aligned face: %w", err)
	}
	if len(d.Data) != au.HOGLen {
		return FrameResult{}, fmt.Errorf("openface: FHOG of the %d×%d aligned face has %d values, want %d",
			face.Cols(), face.Rows(), len(d.Data), au.HOGLen)
	}
	r.AUSuccess = true
	r.AULocal = fit.Local
	r.HOG = d.Data
	if a.KeepAligned {
		r.Aligned = append([]byte(nil), pix[:face.Rows()*face.Cols()*face.Channels()]...)
	}
	return r, nil
}

// eyesAndGaze fills r's eye landmarks, their camera-space positions and,
// when the frame succeeded, the gaze, as FeatureExtraction computes them
// (CalculateAllEyeLandmarks, Calculate3DEyeLandmarks, EstimateGaze for
// each eye, GetGazeAngle) from the eye models, the pose and the 3D
// landmarks already in r.
func (m *Models) eyesAndGaze(r *FrameResult, in Landmarks, cam pdm.Camera) error {
	eyes := in.Eyes
	if eyes[0].empty() && eyes[1].empty() {
		var err error
		if eyes, err = m.eyesFromFace(in.Points); err != nil {
			return err
		}
	}
	total := m.eyePoints
	r.EyeLandmarks = make([]float32, 2*total)
	r.EyeLandmarks3D = make([]float32, 3*total)
	var eye3D [2][]float32
	off := 0
	for i := range eyes {
		e, md := &eyes[i], m.eyes[i].pdm
		np := md.NumPoints()
		copy(r.EyeLandmarks[off:], e.Points[:np])
		copy(r.EyeLandmarks[total+off:], e.Points[np:])
		s, err := md.CameraShape(e.Points, globalOf(e.Global), e.Local, cam)
		if err != nil {
			return fmt.Errorf("openface: 3D landmarks of the %s model: %w", m.eyes[i].name, err)
		}
		for c := 0; c < 3; c++ {
			copy(r.EyeLandmarks3D[c*total+off:], s[c*np:(c+1)*np])
		}
		eye3D[i] = s
		off += np
	}
	if !r.Success {
		return nil
	}
	// EstimateGaze turns the head by the Euler angles of GetPose, the
	// same pose as the CSV's.
	rot := pdm.RotationMatrix(pdm.Euler{X: r.Pose[3], Y: r.Pose[4], Z: r.Pose[5]})
	var dirs [2]gaze.Vec3
	for i := range dirs {
		d, err := gaze.Direction(eye3D[i], r.Landmarks3D, gaze.Eye(i), rot)
		if err != nil {
			return fmt.Errorf("openface: gaze of the %s model: %w", m.eyes[i].name, err)
		}
		dirs[i] = d
		copy(r.Gaze[3*i:3*i+3], d[:])
	}
	r.GazeAngle = gaze.Angle(dirs[0], dirs[1])
	return nil
}

// eyesFromFace is the eye models' state when the detector did not give
// it: each eye PDM fitted to the main landmarks mapped to it and its
// projection, which is what OpenFace's CLNF holds for a face too small
// for the eye models. When no mapped landmark is present (before the
// first detection every landmark is 0) or the fit degenerates (all mapped
// points in one place), it is the state before any fit: landmarks 0,
// scale 1, other parameters 0.
func (m *Models) eyesFromFace(points []float32) ([2]Eye, error) {
	n := m.lmPDM.NumPoints()
	var out [2]Eye
	for i := range m.eyes {
		em := &m.eyes[i]
		np := em.pdm.NumPoints()
		locs := make([]float32, 2*np)
		for _, mp := range em.mapping {
			locs[mp[1]] = points[mp[0]]
			locs[mp[1]+np] = points[mp[0]+n]
		}
		p, err := em.pdm.CalcParams(locs, pdm.Euler{})
		if err != nil && !errors.Is(err, pdm.ErrNoLandmarks) {
			return out, fmt.Errorf("openface: fit the %s model to the landmarks: %w", em.name, err)
		}
		g := p.Global
		e := Eye{Global: [6]float32{g.Scale, g.Rx, g.Ry, g.Rz, g.Tx, g.Ty}, Local: p.Local}
		if err == nil && g.Scale != 0 && finite32(e.Global[:]) && finite32(e.Local) {
			if e.Points, err = em.pdm.Shape2D(g, p.Local, nil); err != nil {
				return out, fmt.Errorf("openface: project the %s model: %w", em.name, err)
			}
		}
		if e.Points == nil || !finite32(e.Points) {
			e = Eye{Points: make([]float32, 2*np), Global: [6]float32{1}, Local: make([]float32, em.pdm.NumModes())}
		}
		out[i] = e
	}
	return out, nil
}

// zeroGeometry is the result for non-finite input: a failed frame whose
// geometric columns are all 0.
func (m *Models) zeroGeometry() FrameResult {
	n, modes := m.lmPDM.NumPoints(), m.lmPDM.NumModes()
	return FrameResult{
		Landmarks:      make([]float32, 2*n),
		Local:          make([]float32, modes),
		Landmarks3D:    make([]float32, 3*n),
		EyeLandmarks:   make([]float32, 2*m.eyePoints),
		EyeLandmarks3D: make([]float32, 3*m.eyePoints),
		Rejected:       NonFinite,
	}
}

// failed turns r into a failed frame for the given reason, keeping the
// geometric columns; the gaze, which only a successful frame has, is 0.
func failed(r FrameResult, why Rejection) FrameResult {
	r.Gaze = [6]float32{}
	r.GazeAngle = [2]float32{}
	r.Success = false
	r.AUSuccess = false
	r.AUGlobal = [6]float32{}
	r.AULocal = nil
	r.HOG = nil
	r.Aligned = nil
	r.Rejected = why
	return r
}

// outside reports whether every landmark lies outside the w×h image.
func outside(points []float32, w, h int) bool {
	n := len(points) / 2
	maxX, maxY := float32(w-1), float32(h-1)
	for i := 0; i < n; i++ {
		x, y := points[i], points[n+i]
		if x >= 0 && x <= maxX && y >= 0 && y <= maxY {
			return false
		}
	}
	return true
}

func globalOf(p [6]float32) pdm.Global {
	return pdm.Global{Scale: p[0], Rx: p[1], Ry: p[2], Rz: p[3], Tx: p[4], Ty: p[5]}
}
