package clnf

import (
	"context"
	"errors"
	"fmt"
	"image"
	"runtime"

	"facemirror/pipeline/ccnf"
	"facemirror/pipeline/mtcnn"
	"facemirror/pipeline/pdm"

	"gocv.io/x/gocv"
)

// FaceDetector finds the face to initialise the landmark fit from.
type FaceDetector interface {
	// DetectFace returns the face box in the 8-bit BGR frame that
	// DetectSingleFaceMTCNN would hand to CLNF, or found = false.
	DetectFace(ctx context.Context, bgr gocv.Mat) (box pdm.Box, found bool, err error)
}

// MTCNN adapts an MTCNN detector to FaceDetector: the widest corrected
// box wins, as in DetectSingleFaceMTCNN. A frame too small for the
// detector's pyramid has no face (OpenFace finds none there, or fails).
type MTCNN struct{ Detector *mtcnn.Detector }

// DetectFace implements FaceDetector.
func (d MTCNN) DetectFace(ctx context.Context, bgr gocv.Mat) (pdm.Box, bool, error) {
	faces, err := d.Detector.Detect(ctx, bgr)
	if errors.Is(err, mtcnn.ErrImageTooSmall) {
		return pdm.Box{}, false, nil
	}
	if err != nil {
		return pdm.Box{}, false, err
	}
	f, ok := mtcnn.SelectSingle(faces)
	if !ok {
		return pdm.Box{}, false, nil
	}
	return pdm.Box{X: f.Box.X, Y: f.Box.Y, W: f.Box.W, H: f.Box.H}, true, nil
}

// Result is the landmark detector's state after one frame.
type Result struct {
	// Landmarks are the 68 landmarks, x of every point then y (OpenFace's
	// detected_landmarks; all 0 before the first detection).
	Landmarks [136]float32
	// Global holds p_scale, p_rx, p_ry, p_rz, p_tx, p_ty and Local the 34
	// shape parameters.
	Global [6]float32
	Local  []float32
	// Success is what DetectLandmarksInVideo returns, the CSV's success.
	Success bool
	// DetectionSuccess is the model's own detection_success: it differs
	// from Success on a first detection the validator rejected (Success
	// is then true).
	DetectionSuccess bool
	// Confidence is the validator's certainty (detection_certainty).
	Confidence float32
	// Likelihood is the final fit's mean log KDE likelihood.
	Likelihood float32
	// Detected tells whether the face detector ran in this frame and found
	// a face; DetectorRan whether it ran at all.
	Detected, DetectorRan bool
	// Box is the detected face box when Detected.
	Box pdm.Box
	// Parts are the hierarchical part models after the frame, in the
	// model file's order (inner, left_eye_28, right_eye_28 for OpenFace's
	// general model). FeatureExtraction reads the eye landmarks and the
	// gaze from them.
	Parts []Part
}

// Part is a hierarchical part model's state after a frame: what OpenFace's
// CLNF holds in hierarchical_models (detected_landmarks, params_global,
// params_local). A part is fitted in every call of the landmark fit; a
// frame without one (no face tracked) keeps the previous state, and a
// failed re-detection, which restores the main model's previous fit,
// keeps the parts of the failed attempt, as OpenFace does.
type Part struct {
	// Name is the part model's name in the model file.
	Name string
	// Landmarks are the part's 2D landmarks, x of every point then y (all
	// 0 before the first fit).
	Landmarks []float32
	// Global holds the part's scale, rotation and translation (scale 1 and
	// 0 before the first fit) and Local its shape parameters.
	Global [6]float32
	Local  []float32
}

// Part returns the state of the part model called name, and whether the
// model has such a part.
func (r *Result) Part(name string) (Part, bool) {
	for _, p := range r.Parts {
		if p.Name == name {
			return p, true
		}
	}
	return Part{}, false
}

// Tracker follows one face through a video as OpenFace's
// DetectLandmarksInVideo does, carrying the fit from frame to frame. It is
// not safe for concurrent use; use one Tracker per video.
type Tracker struct {
	m    *Model
	fit  fitter
	det  FaceDetector
	work *ccnf.Workspace
	// fw is the fits' scratch memory, reused from frame to frame.
	fw *fitWork
	// spare is the scratch memory of a detection's fits beside fw, one
	// per further core.
	spare []fitScratch
	// gray is the last frame's grey picture, whose memory the next frame
	// reuses; ahead is a second one, for a frame fitted ahead of its turn
	// while the validator still reads the current one.
	gray, ahead *image.Gray
	// spec is the fit of the frame TrackAhead was given as next, made
	// while the validator rated the frame before it, on the assumption
	// that the validator passes it (nil when it did not, or none was made).
	spec *speculation

	p           params
	landmarks   []float32
	parts       []partState
	initialised bool
	success     bool
	likelihood  float32
	certainty   float32
	failures    int
}

// fitter is what a Tracker asks of the model: a fit from the previous
// parameters and a fit from a face box. *Model implements it; tests
// substitute scripted fits to exercise the state machine.
type fitter interface {
	detectLandmarks(ctx context.Context, img *frame, p params, windows []int, prevLik float32, tr partTracer) (fitResult, error)
	detectFromBox(ctx context.Context, img *frame, box pdm.Box, prevLik float32, tr hypothesisTracer) (fitResult, error)
}

// reinitEvery is FaceModelParameters::reinit_video_every.
const reinitEvery = 2

// maxFailures is the failure count above which tracking is abandoned.
const maxFailures = 100

// NewTracker returns a Tracker for one video using the model and the face
// detector. det may be nil for a Tracker that only fits from given boxes
// (FitFromBox); Track then reports ErrNoDetector when it needs to detect.
func NewTracker(m *Model, det FaceDetector) *Tracker {
	t := &Tracker{m: m, fit: m, det: det, work: ccnf.NewWorkspace(0), fw: new(fitWork)}
	// Workspaces and fitWorks allocate on first use: a tracker that never
	// detects costs nothing for these.
	for range runtime.GOMAXPROCS(0) - 1 {
		t.spare = append(t.spare, fitScratch{work: ccnf.NewWorkspace(0), fw: new(fitWork)})
	}
	t.Reset()
	return t
}

// speculation is a fit of the next frame made ahead of its turn: the
// next call's fit exactly, provided the frame before it passed the
// validator (only then does the next call fit from the same parameters,
// likelihood and window sizes).
type speculation struct {
	frame gocv.Mat
	img   *frame
	r     fitResult
	fitOK bool
	err   error
}

// ErrNoDetector is returned by Track when a detection is due and the
// Tracker has no face detector.
var ErrNoDetector = errors.New("clnf: no face detector")

// Reset forgets the tracked face, as CLNF::Reset does between videos. It
// also returns the part models to their state before any fit, which
// OpenFace's Reset leaves alone: a Tracker after Reset is a freshly loaded
// OpenFace model, which is what FeatureExtraction has at the start of a
// video it is given alone.
func (t *Tracker) Reset() {
	md := t.m.main.pdm
	t.p = params{g: pdm.Global{Scale: 1}, local: make([]float32, md.NumModes())}
	t.landmarks = make([]float32, 2*md.NumPoints())
	t.parts = t.m.initialParts()
	t.initialised = false
	t.success = false
	t.likelihood = -10
	t.certainty = 0
	t.failures = -1
	t.spec = nil
}

// Track processes the next frame of the video (8-bit BGR) and returns the
// detector's state after it. After an error (a cancelled context, a
// failing face detector) the frame is half processed: Reset the Tracker
// before using it again.
func (t *Tracker) Track(ctx context.Context, bgr gocv.Mat) (Result, error) {
	return t.TrackAhead(ctx, bgr, gocv.Mat{})
}

// TrackAhead is Track, told the frame after this one (next; an empty Mat
// when there is none): while the validator rates this frame's fit, the
// landmarks of next are fitted as the next call will fit them if the
// validator passes this frame, and that call then only validates. The
// results are Track's, bit for bit; on two cores the validator (a CNN)
// leaves the tracking's path. next must stay unchanged until it is the
// frame of the next call.
func (t *Tracker) TrackAhead(ctx context.Context, bgr, next gocv.Mat) (Result, error) {
	spec := t.spec
	t.spec = nil
	if spec != nil && spec.frame.Ptr() != nil && spec.frame.Ptr() == bgr.Ptr() && t.initialised && t.success {
		// The speculative fit was made from this very state.
		if spec.err != nil {
			return Result{}, spec.err
		}
		t.gray, t.ahead = spec.img.gray, t.gray
		return t.tracked(ctx, bgr, spec.img, spec.r, spec.fitOK, next)
	}
	gray, err := grayFrame(bgr, t.gray)
	if err != nil {
		return Result{}, err
	}
	t.gray = gray
	img := &frame{gray: gray, work: t.work, fw: t.fw, spare: t.spare}
	if t.initialised {
		windows := t.m.main.set.windowsInit
		if t.success {
			windows = t.m.main.set.windowsSmall
		}
		// A fit ahead pays off only in steady tracking: after a rejected
		// frame the next is likely rejected too, and its fit ahead wasted.
		m, ok := t.fit.(*Model)
		if !ok || absent(next) || !t.success {
			r, err := t.fit.detectLandmarks(ctx, img, t.p.clone(), windows, t.likelihood, nil)
			if err != nil {
				return Result{}, err
			}
			return t.afterFit(ctx, bgr, img, &r)
		}
		r, fitOK, err := m.fitLandmarks(ctx, img, t.p.clone(), windows, t.likelihood, nil)
		if err != nil {
			return Result{}, err
		}
		return t.tracked(ctx, bgr, img, r, fitOK, next)
	}
	return t.afterFit(ctx, bgr, img, nil)
}

// absent reports whether m holds no frame: the zero Mat (no C object) or
// an empty one.
func absent(m gocv.Mat) bool { return m.Ptr() == nil || m.Empty() }

// tracked validates this frame's fit r and, when next is given, fits next
// beside it (the speculation the next call may use), then finishes the
// frame as Track does.
func (t *Tracker) tracked(ctx context.Context, bgr gocv.Mat, img *frame, r fitResult, fitOK bool, next gocv.Mat) (Result, error) {
	m := t.fit.(*Model)
	if absent(next) {
		if err := m.validate(&r, fitOK, img); err != nil {
			return Result{}, err
		}
		return t.afterFit(ctx, bgr, img, &r)
	}
	validated := make(chan error, 1)
	go func() { validated <- m.validate(&r, fitOK, img) }()
	spec := &speculation{frame: next}
	var gray *image.Gray
	if gray, spec.err = grayFrame(next, t.ahead); spec.err == nil {
		t.ahead = gray
		spec.img = &frame{gray: gray, work: t.work, fw: t.fw, spare: t.spare}
		// What the next call fits with once this frame has passed: the
		// parameters and likelihood of this fit, the small windows.
		spec.r, spec.fitOK, spec.err = m.fitLandmarks(ctx, spec.img, r.p.clone(), t.m.main.set.windowsSmall, r.likelihood, nil)
	}
	if err := <-validated; err != nil {
		return Result{}, err
	}
	res, err := t.afterFit(ctx, bgr, img, &r)
	// Only a fit the validator passed leaves the state the speculation
	// assumed; a rejected one may have been replaced by a detection.
	if err == nil && r.success && t.initialised && t.success && ctx.Err() == nil {
		t.spec = spec
	}
	return res, err
}

// afterFit finishes a frame as Track does after the fit from the
// previous frame (r, nil when the tracker was not initialised): the
// failure count, a due detection, the result.
func (t *Tracker) afterFit(ctx context.Context, bgr gocv.Mat, img *frame, r *fitResult) (Result, error) {
	initial := !t.initialised
	if r != nil {
		t.apply(*r)
		if r.success {
			t.failures = -1
		} else {
			t.failures++
		}
	}
	var res Result
	due := (!t.initialised && (t.failures+1)%(reinitEvery*6) == 0) ||
		(t.initialised && !t.success && t.failures%reinitEvery == 0)
	if due {
		if t.det == nil {
			return Result{}, ErrNoDetector
		}
		box, found, err := t.det.DetectFace(ctx, bgr)
		if err != nil {
			return Result{}, fmt.Errorf("clnf: face detection: %w", err)
		}
		res.DetectorRan = true
		if found {
			res.Detected, res.Box = true, box
			ok, err := t.fitFromBox(ctx, img, box, initial)
			if err != nil {
				return Result{}, err
			}
			return t.result(res, ok), nil
		}
	}
	if !t.initialised {
		t.failures++
	}
	if t.failures > maxFailures {
		t.initialised = false
	}
	return t.result(res, t.success), nil
}

// FitFromBox (re)initialises the tracker from a face box in the frame, as
// a detection inside DetectLandmarksInVideo does, and returns the state
// after it.
func (t *Tracker) FitFromBox(ctx context.Context, bgr gocv.Mat, box pdm.Box) (Result, error) {
	gray, err := grayFrame(bgr, t.gray)
	if err != nil {
		return Result{}, err
	}
	t.gray = gray
	t.spec = nil
	initial := !t.initialised
	ok, err := t.fitFromBox(ctx, &frame{gray: gray, work: t.work, fw: t.fw, spare: t.spare}, box, initial)
	if err != nil {
		return Result{}, err
	}
	return t.result(Result{Detected: true, Box: box}, ok), nil
}

// fitFromBox runs the multi-hypothesis detection from box. A failed
// re-detection (not the initial one) restores the previous fit and
// reports false; detection_success, the certainty and the part models
// stay those of the failed attempt.
func (t *Tracker) fitFromBox(ctx context.Context, img *frame, box pdm.Box, initial bool) (bool, error) {
	t.initialised = true
	saved, savedLik := t.p.clone(), t.likelihood
	savedLandmarks := append([]float32(nil), t.landmarks...)
	r, err := t.fit.detectFromBox(ctx, img, box, t.likelihood, nil)
	if err != nil {
		return false, err
	}
	t.apply(r)
	if !initial && !r.success {
		t.p, t.likelihood, t.landmarks = saved, savedLik, savedLandmarks
		return false, nil
	}
	t.failures = -1
	return true, nil
}

func (t *Tracker) apply(r fitResult) {
	t.p = r.p
	t.landmarks = r.landmarks
	t.likelihood = r.likelihood
	t.success = r.success
	t.certainty = r.certainty
	if r.parts != nil {
		t.parts = r.parts
	}
}

func (t *Tracker) result(res Result, success bool) Result {
	copy(res.Landmarks[:], t.landmarks)
	g := t.p.g
	res.Global = [6]float32{g.Scale, g.Rx, g.Ry, g.Rz, g.Tx, g.Ty}
	res.Local = append([]float32(nil), t.p.local...)
	res.Success = success
	res.DetectionSuccess = t.success
	res.Confidence = t.certainty
	res.Likelihood = t.likelihood
	res.Parts = t.partsResult()
	return res
}

// partsResult copies the part models' state into one allocation.
func (t *Tracker) partsResult() []Part {
	size := 0
	for _, ps := range t.parts {
		size += len(ps.landmarks) + len(ps.p.local)
	}
	buf := make([]float32, size)
	out := make([]Part, len(t.parts))
	for k, ps := range t.parts {
		g := ps.p.g
		n := copy(buf, ps.landmarks)
		out[k].Landmarks, buf = buf[:n:n], buf[n:]
		n = copy(buf, ps.p.local)
		out[k].Local, buf = buf[:n:n], buf[n:]
		out[k].Name = t.m.parts[k].name
		out[k].Global = [6]float32{g.Scale, g.Rx, g.Ry, g.Rz, g.Tx, g.Ty}
	}
	return out
}
