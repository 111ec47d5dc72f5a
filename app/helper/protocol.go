package helper

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"facemirror/app/worker"
	"facemirror/pipeline/encode"
	"facemirror/pipeline/openface"
	"facemirror/pipeline/video"
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
	// KindAnalyse tracks the face's landmarks through a contiguous range of
	// a video's frames and runs the per-frame part of OpenFace's analysis
	// on each: request AnalyseRequest, one EventFrame event (AnalysedFrame)
	// per frame of the range in frame order, result AnalyseResult.
	KindAnalyse = "analyse"
)

// EventFrame is the event kind of one frame's result: FrameFaces for
// KindDetect, AnalysedFrame for KindAnalyse.
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

// AnalyseRequest asks for the landmarks and per-frame analysis of frames
// [Start, End) of one video or image. Tracking carries each frame's fit
// into the next, so a range that does not begin the video is entered
// WarmUp frames early: the tracker starts there (with a face detection) and
// the warm-up frames are tracked but neither analysed nor reported.
type AnalyseRequest struct {
	// Path is the video or image file.
	Path string `json:"path"`
	// Start is the first frame reported, End one past the last (0-based
	// decode indices). A range reaching past the last frame ends there.
	Start int `json:"start"`
	End   int `json:"end"`
	// WarmUp is how many frames before Start are tracked first; it is cut
	// to Start.
	WarmUp int `json:"warm_up,omitempty"`
	// Aligned makes each frame's result carry its aligned face's pixels
	// (openface.FrameResult.Aligned, 37 KB a frame), for -simalign's
	// pictures.
	Aligned bool `json:"aligned,omitempty"`
}

// AnalysedFrame is one frame's analysis as a binary event carries it
// (worker.Call.EmitBytes): the side's name after a length byte, the index
// as a uvarint, then the result. Binary instead of JSON because the result
// is about 20 KB a frame, which JSON would carry as base64 and scan twice
// on each side: that cost about 0.33 ms a frame end to end, binary about
// 0.04 ms (app/worker's BenchmarkBinaryEvents).
type AnalysedFrame struct {
	// Side is "" for a frame of the source (EventFrame), SideRight or
	// SideLeft for a frame of a mirrored face (EventMirrored).
	Side string
	// Index is the frame's 0-based decode index.
	Index int
	// Result is the frame's openface.FrameResult in its binary encoding
	// (FrameResult.MarshalBinary): bit-exact, about half of what JSON
	// numbers took and a sixth of the time to encode and decode
	// (BenchmarkFrameWire).
	Result []byte
}

// MarshalBinary encodes f as its event carries it.
func (f AnalysedFrame) MarshalBinary() ([]byte, error) {
	h, err := f.header()
	if err != nil {
		return nil, err
	}
	return append(h, f.Result...), nil
}

// header is the encoding of f up to its result.
func (f AnalysedFrame) header() ([]byte, error) {
	if len(f.Side) > 255 || f.Index < 0 {
		return nil, fmt.Errorf("analysed frame %d of side %.20q cannot be encoded", f.Index, f.Side)
	}
	b := make([]byte, 0, 1+len(f.Side)+binary.MaxVarintLen64)
	b = append(b, byte(len(f.Side)))
	b = append(b, f.Side...)
	return binary.AppendUvarint(b, uint64(f.Index)), nil
}

// UnmarshalBinary decodes an event's data into f; f.Result shares data's
// memory.
func (f *AnalysedFrame) UnmarshalBinary(data []byte) error {
	if len(data) < 1 || len(data) < 1+int(data[0]) {
		return fmt.Errorf("analysed frame event of %d bytes is shorter than its side", len(data))
	}
	side := string(data[1 : 1+data[0]])
	rest := data[1+data[0]:]
	index, n := binary.Uvarint(rest)
	if n <= 0 || index > math.MaxInt32 {
		return fmt.Errorf("analysed frame event has no valid frame index")
	}
	*f = AnalysedFrame{Side: side, Index: int(index), Result: rest[n:]}
	return nil
}

// emitFrame streams one frame's analysis as the binary event kind; the
// result is copied once, into the frame.
func emitFrame(call *worker.Call, kind, side string, index int, result []byte) error {
	h, err := AnalysedFrame{Side: side, Index: index}.header()
	if err != nil {
		return err
	}
	return call.EmitBytes(kind, h, result)
}

// AnalyseResult ends an analyse request.
type AnalyseResult struct {
	// Frames is the number of frames analysed and streamed.
	Frames int `json:"frames"`
	// WarmUp is the number of frames tracked before Start.
	WarmUp int `json:"warm_up"`
	// Ended tells that the helper met the end of the video, which then
	// has exactly Total frames. The coordinator plans chunks from the
	// container's frame count, and this is how it learns the true one.
	Ended bool `json:"ended,omitempty"`
	Total int  `json:"total,omitempty"`
	// Width and Height are the size of the upright frames.
	Width  int `json:"width"`
	Height int `json:"height"`
	// VariableRate tells that some frame of the range is shown more than
	// a quarter of a frame interval away from index/fps: the video's
	// frames are not evenly spaced, and videos made from it must keep
	// each frame's own time.
	VariableRate bool `json:"variable_rate,omitempty"`
	// Retried tells that a Pool ran the request again on a fresh helper
	// after the first one crashed or hung (set here, not by the helper).
	Retried bool `json:"-"`
	// Gaps are the stretches of frames the helper found it could not
	// decode (damaged data; with Ended, also the frames a cut-off file
	// lists past its last): no frame event comes for them, and the
	// indices of the frame events jump over them.
	Gaps []Gap `json:"gaps,omitempty"`
}

// Gap is a stretch of a video's frames that could not be decoded
// (video.Gap): frames From to To-1 (0-based), shown from Start to End
// seconds; Tail marks those lost at the end of a cut-off file.
type Gap struct {
	From  int     `json:"from"`
	To    int     `json:"to"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Tail  bool    `json:"tail,omitempty"`
}

// gapsOf converts the video package's gaps for the wire.
func gapsOf(gaps []video.Gap) []Gap {
	var out []Gap
	for _, g := range gaps {
		out = append(out, Gap{From: g.From, To: g.To, Start: g.Start.Seconds(), End: g.End.Seconds(), Tail: g.Tail})
	}
	return out
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

// decodeAnalysed decodes an analysed frame's event (EventFrame of
// KindAnalyse and KindMirror, EventMirrored) of the video at path.
func decodeAnalysed(e worker.Event, path string) (AnalysedFrame, openface.FrameResult, error) {
	var f AnalysedFrame
	var r openface.FrameResult
	if !e.Binary {
		return f, r, fmt.Errorf("%s event of %s is not binary", e.Kind, path)
	}
	if err := f.UnmarshalBinary(e.Data); err != nil {
		return f, r, fmt.Errorf("%s: %w", path, err)
	}
	if err := r.UnmarshalBinary(f.Result); err != nil {
		if f.Side != "" {
			return f, r, fmt.Errorf("%s frame %d of %s: %w", f.Side, f.Index, path, err)
		}
		return f, r, fmt.Errorf("frame %d of %s: %w", f.Index, path, err)
	}
	return f, r, nil
}

// QueryRuntime asks a helper which ONNX Runtime it runs.
func QueryRuntime(ctx context.Context, c Caller) (RuntimeInfo, error) {
	var info RuntimeInfo
	if err := c.Call(ctx, KindInfo, nil, &info, nil); err != nil {
		return RuntimeInfo{}, err
	}
	return info, nil
}

// Analyse runs an analyse request and passes each frame's decoded result to
// onFrame (which may be nil) as it arrives, in frame order. When a Pool
// retries the request on a fresh helper, frames arrive again from Start;
// key what you keep by the index.
func Analyse(ctx context.Context, c Caller, req AnalyseRequest, onFrame func(index int, r openface.FrameResult) error) (AnalyseResult, error) {
	var res AnalyseResult
	retried := false
	err := c.Call(ctx, KindAnalyse, req, &res, func(e worker.Event) error {
		// A retry's events carry Attempt 2, also when the first helper
		// died before streaming anything (a chunk's warm-up).
		retried = retried || e.Attempt > 1
		if e.Kind != EventFrame || onFrame == nil {
			return nil
		}
		f, r, err := decodeAnalysed(e, req.Path)
		if err != nil {
			return err
		}
		return onFrame(f.Index, r)
	})
	if err != nil {
		return AnalyseResult{}, err
	}
	res.Retried = retried
	return res, nil
}

// KindMirror tracks the face through a whole video, as KindAnalyse does,
// and mirrors each frame across its smoothed facial midline as soon as
// that is final (about 20 frames later): request MirrorRequest; events
// EventFrame (AnalysedFrame) per source frame, EventProgress
// (MirrorProgress) per frame mirrored, EventMirrored (AnalysedFrame) per
// frame and side analysed, EventPreview (MirrorPreview) at most
// PreviewRate times a second; result MirrorResult. A source whose frames
// turn out unevenly spaced after some were written has them mirrored
// again (its videos must keep each frame's time), so progress events can
// repeat earlier indices.
const KindMirror = "mirror"

// Event kinds of a mirror request besides EventFrame.
const (
	EventProgress = "progress"
	EventMirrored = "mirrored"
	EventPreview  = "preview"
)

// PreviewRate is the most previews a mirror request sends per second, and
// PreviewWidth the width they are scaled down to (never up).
const (
	PreviewRate  = 5
	PreviewWidth = 320
)

// MirrorOutput is one picture stream a mirror request writes: a video, or
// a PNG for a still image.
type MirrorOutput struct {
	// Path is where the finished file appears (written to a temporary
	// file beside it and renamed when complete).
	Path string `json:"path"`
}

// MirrorRequest asks a helper to track, mirror and write one video or
// image. Frames are read upright, as the analysis reads them.
type MirrorRequest struct {
	// Path is the source video or image.
	Path string `json:"path"`
	// Right, Left and Debug are the videos to write; nil ones are not
	// written. Right keeps the patient's right half (image left).
	Right *MirrorOutput `json:"right,omitempty"`
	Left  *MirrorOutput `json:"left,omitempty"`
	Debug *MirrorOutput `json:"debug,omitempty"`
	// Codec is the video codec of the outputs (encode.H264 or
	// encode.FFV1).
	Codec encode.Codec `json:"codec"`
	// SourceAUs asks for the source frames' AU features (the AU stage's
	// input, as an analyse request gives them); without it their
	// AnalysedFrame holds the landmarks and pose only (AUSuccess false).
	SourceAUs bool `json:"source_aus,omitempty"`
	// Analyse names the mirrored streams ("right", "left") whose frames
	// are tracked and analysed like a video of their own, from the
	// mirrored pixels before any encoding; each frame's result comes as
	// an EventMirrored event.
	Analyse []string `json:"analyse,omitempty"`
	// Preview asks for EventPreview events.
	Preview bool `json:"preview,omitempty"`
}

// TrackFrame is one frame of the source's track as the debug video shows
// it.
type TrackFrame struct {
	// Face tells whether the frame had a successful fit.
	Face bool
	// Landmarks are the 68 landmarks, x block then y block (OpenFace's
	// CSV order).
	Landmarks []float32
	// Yaw is the head's yaw in degrees.
	Yaw float32
	// Lost tells that the frame could not be decoded: it has no picture.
	Lost bool
}

// MirrorProgress tells that a frame has been mirrored and written.
type MirrorProgress struct {
	Index int `json:"index"`
}

// MirrorPreview is a downscaled look at one frame: JPEG images of the
// source (midline drawn) and of the mirrored streams the request writes.
type MirrorPreview struct {
	Index  int    `json:"index"`
	Source []byte `json:"source,omitempty"`
	Right  []byte `json:"right,omitempty"`
	Left   []byte `json:"left,omitempty"`
}

// MirrorResult ends a mirror request.
type MirrorResult struct {
	// Frames is the number of frames tracked: the whole video, up to its
	// last frame that decodes, frames lost in Gaps included.
	Frames int `json:"frames"`
	// Mirrored is the index after the last frame mirrored and written:
	// Frames, or 0 with NoFace.
	Mirrored int `json:"mirrored"`
	// Gaps: see AnalyseResult. Frames lost inside the video have no
	// picture in the written videos and no row in the CSVs.
	Gaps []Gap `json:"gaps,omitempty"`
	// NoFace tells that no frame had a fitted face: there is no midline,
	// and nothing was written.
	NoFace bool `json:"no_face,omitempty"`
	// Width and Height are the size of the upright frames.
	Width  int `json:"width"`
	Height int `json:"height"`
	// VariableRate tells that the source's frames are unevenly spaced
	// (see AnalyseResult); the videos keep each frame's own time.
	VariableRate bool `json:"variable_rate,omitempty"`
	// Retried: see AnalyseResult.
	Retried bool `json:"-"`
}

// MirrorEvents receives what a mirror request streams; nil fields are
// not called.
type MirrorEvents struct {
	Source   func(index int, r openface.FrameResult) error
	Progress func(index int) error
	Frame    func(side string, index int, r openface.FrameResult) error
	Preview  func(MirrorPreview) error
}

// Mirror runs a mirror request. When a Pool retries it on a fresh helper,
// events arrive again from the first frame; key what you keep by index
// (and side).
func Mirror(ctx context.Context, c Caller, req MirrorRequest, ev MirrorEvents) (MirrorResult, error) {
	var res MirrorResult
	retried := false
	err := c.Call(ctx, KindMirror, req, &res, func(e worker.Event) error {
		retried = retried || e.Attempt > 1
		switch e.Kind {
		case EventProgress:
			if ev.Progress == nil {
				return nil
			}
			var p MirrorProgress
			if err := e.Decode(&p); err != nil {
				return err
			}
			return ev.Progress(p.Index)
		case EventFrame:
			if ev.Source == nil {
				return nil
			}
			f, r, err := decodeAnalysed(e, req.Path)
			if err != nil {
				return err
			}
			return ev.Source(f.Index, r)
		case EventMirrored:
			if ev.Frame == nil {
				return nil
			}
			f, r, err := decodeAnalysed(e, req.Path)
			if err != nil {
				return err
			}
			return ev.Frame(f.Side, f.Index, r)
		case EventPreview:
			if ev.Preview == nil {
				return nil
			}
			var p MirrorPreview
			if err := e.Decode(&p); err != nil {
				return err
			}
			return ev.Preview(p)
		}
		return nil
	})
	if err != nil {
		return MirrorResult{}, err
	}
	res.Retried = retried
	return res, nil
}
