package app

import (
	"context"
	"time"

	"facemirror/app/worker"
)

// Request kinds served by "facemirror worker". Each names a request and
// result type below; see package app/worker for the protocol around them.
const (
	// KindDetect runs the MTCNN face detector on frames of a video:
	// request DetectRequest, one EventFrame event (FrameFaces) per analysed
	// frame in frame order, result DetectResult.
	KindDetect = "detect"
	// KindInfo reports the helper's ONNX Runtime: no request data, result
	// RuntimeInfo.
	KindInfo = "info"
)

// EventFrame is the event kind of one frame's detections.
const EventFrame = "frame"

// Error codes of failed requests (worker.RemoteError.Code), so that callers
// can tell a file's problem from a broken installation.
const (
	// CodeBadInput: the file cannot be read as a video or image; the
	// message is package video's text ("<file>: <problem>").
	CodeBadInput = "bad_input"
	// CodeTooSmall: the picture is smaller than the detector's minimum
	// face size.
	CodeTooSmall = "too_small"
	// CodeModels: a model file is missing or altered.
	CodeModels = "models"
	// CodeRuntime: ONNX Runtime or a session could not be loaded.
	CodeRuntime = "runtime"
)

// DetectRequest asks for the faces on some frames of one video or image.
// Frames are 0-based decode indices. With Frames empty and Every zero only
// the first frame is analysed.
type DetectRequest struct {
	// Path is the video or image file.
	Path string `json:"path"`
	// Frames are explicit frame indices, analysed in ascending order
	// (duplicates once). Indices past the end are reported in
	// DetectResult.Missing.
	Frames []int `json:"frames,omitempty"`
	// Every analyses frames 0, Every, 2·Every, ... to the end, when Frames
	// is empty.
	Every int `json:"every,omitempty"`
}

// Rect is a box in image pixels of the upright frame: (X, Y) is the
// top-left corner.
type Rect struct {
	X float32 `json:"x"`
	Y float32 `json:"y"`
	W float32 `json:"w"`
	H float32 `json:"h"`
}

// DetectedFace is one MTCNN detection.
type DetectedFace struct {
	// Box is the corrected box OpenFace hands to its landmark detector.
	Box Rect `json:"box"`
	// Raw is the ONet box before that correction.
	Raw Rect `json:"raw"`
	// Confidence is the ONet face probability.
	Confidence float32 `json:"confidence"`
}

// FrameFaces are the detections on one frame.
type FrameFaces struct {
	// Index is the frame's 0-based decode index.
	Index int `json:"index"`
	// Time is the frame's presentation time from the first frame.
	Time time.Duration `json:"time"`
	// Faces come in the detector's order (descending confidence).
	Faces []DetectedFace `json:"faces"`
	// Selected is the index in Faces of the face OpenFace would track (the
	// widest), or -1 when there is none.
	Selected int `json:"selected"`
}

// Face returns the selected face; ok is false when the frame has none.
func (f FrameFaces) Face() (face DetectedFace, ok bool) {
	if f.Selected < 0 || f.Selected >= len(f.Faces) {
		return DetectedFace{}, false
	}
	return f.Faces[f.Selected], true
}

// DetectResult ends a detect request.
type DetectResult struct {
	// Analysed is the number of frames detected on (and streamed).
	Analysed int `json:"analysed"`
	// Missing are requested frame indices the file does not have.
	Missing []int `json:"missing,omitempty"`
	// Runtime is the helper's ONNX Runtime set-up.
	Runtime RuntimeInfo `json:"runtime"`
}

// RuntimeInfo describes a helper's ONNX Runtime.
type RuntimeInfo struct {
	// Version is ONNX Runtime's version string.
	Version string `json:"version"`
	// Library is the shared library that was loaded.
	Library string `json:"library"`
	// Providers are the execution providers that load in this build and
	// on this machine, named as for --ep ("cpu", "cuda", "coreml").
	Providers []string `json:"providers"`
	// EP is the execution provider the helper's sessions use.
	EP string `json:"ep"`
}

// Caller runs a request on a helper; *worker.Client and *worker.Pool are
// Callers.
type Caller interface {
	Call(ctx context.Context, kind string, req, result any, onEvent func(worker.Event) error) error
}

// Detect runs a detect request and passes each frame's detections to
// onFrame (which may be nil) as they arrive. When a Pool retries the
// request on a fresh helper, frames arrive again from the start; key what
// you keep by FrameFaces.Index.
func Detect(ctx context.Context, c Caller, req DetectRequest, onFrame func(FrameFaces) error) (DetectResult, error) {
	var res DetectResult
	err := c.Call(ctx, KindDetect, req, &res, func(e worker.Event) error {
		if e.Kind != EventFrame || onFrame == nil {
			return nil
		}
		var f FrameFaces
		if err := e.Decode(&f); err != nil {
			return err
		}
		return onFrame(f)
	})
	if err != nil {
		return DetectResult{}, err
	}
	return res, nil
}

// QueryRuntime asks a helper which ONNX Runtime it runs.
func QueryRuntime(ctx context.Context, c Caller) (RuntimeInfo, error) {
	var info RuntimeInfo
	if err := c.Call(ctx, KindInfo, nil, &info, nil); err != nil {
		return RuntimeInfo{}, err
	}
	return info, nil
}
