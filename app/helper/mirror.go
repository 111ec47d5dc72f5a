package helper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"facemirror/app/worker"
	"facemirror/mirror"
	"facemirror/pipeline/clnf"
	"facemirror/pipeline/encode"
	"facemirror/pipeline/openface"
	"facemirror/pipeline/video"

	"gocv.io/x/gocv"
)

// Side names of MirrorRequest.Analyse and AnalysedFrame.Side.
const (
	SideRight = "right"
	SideLeft  = "left"
)

// passLead is how many batches the source's tracking may run ahead of the
// mirror pass. The smoother already holds each midline back about 20
// frames; a little more slack lets the two stages even out each other's
// slow frames (a face detection, an encoder's key frame).
const passLead = 16

// mirror serves KindMirror. One goroutine tracks and analyses the source,
// as an analyse request over the whole video does, and streams its frames;
// each frame's midline becomes final about 20 frames later (the smoother's
// look-ahead), and a second goroutine, reading the video a second time,
// reflects that frame, writes the mirrored and debug videos and hands the
// mirrored faces to their own trackers. The video is read twice rather
// than buffered: at 1080p 20 frames are 120 MB, a gap without a face can
// hold back its midlines much longer, and decoding a frame again costs 5 ms.
func (e *engine) mirror(ctx context.Context, call *worker.Call) (any, error) {
	var req MirrorRequest
	if err := call.Decode(&req); err != nil {
		return nil, err
	}
	if err := checkMirrorRequest(&req); err != nil {
		return nil, worker.Coded(worker.CodeBadRequest, err)
	}
	an, err := e.analysis(ctx)
	if err != nil {
		return nil, err
	}
	if err := call.Alive(); err != nil {
		return nil, err
	}
	r, err := openVideo(ctx, req.Path)
	if err != nil {
		return nil, err
	}
	defer r.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pass, err := newMirrorPass(ctx, call, &req, r.Info(), an)
	if err != nil {
		return nil, err
	}
	defer pass.close()
	batches := make(chan trackBatch, passLead)
	passDone := make(chan error, 1)
	go func() {
		err := pass.run(batches)
		if err != nil {
			cancel()
		}
		passDone <- err
	}()
	res, trackErr := trackSource(ctx, call, &req, r, an, batches)
	if trackErr != nil {
		cancel()
	}
	passErr := <-passDone
	switch {
	case trackErr != nil && !(errors.Is(trackErr, context.Canceled) && passErr != nil):
		// The pass's failure explains a tracking it cancelled, not the
		// other way round.
		return nil, trackErr
	case passErr != nil:
		return nil, passErr
	}
	res.Mirrored = pass.next
	return res, nil
}

// checkMirrorRequest refuses requests that cannot be carried out.
func checkMirrorRequest(req *MirrorRequest) error {
	if _, err := encode.ParseCodec(string(req.Codec)); err != nil {
		return fmt.Errorf("mirror %s: %w", req.Path, err)
	}
	for _, a := range req.Analyse {
		if a != SideRight && a != SideLeft {
			return fmt.Errorf("mirror %s: analyse %q: want %q or %q", req.Path, a, SideRight, SideLeft)
		}
	}
	return nil
}

// trackBatch is what the source's tracking tells the mirror pass after
// one frame: that frame's track, the midlines that have become final,
// and whether the video has turned out variable-rate so far. End, sent
// once after the last frame, says the video was read to its end and every
// midline has been sent.
type trackBatch struct {
	frame        TrackFrame
	lines        []mirror.Line
	variableRate bool
	end          bool
}

// trackSource tracks and analyses every frame of the source, streams each
// frame's result (EventFrame, AnalysedFrame) and sends the mirror pass
// what it needs. It closes out when it returns.
func trackSource(ctx context.Context, call *worker.Call, req *MirrorRequest, r *video.Reader, an *analysisModels, out chan<- trackBatch) (MirrorResult, error) {
	defer close(out)
	send := func(b trackBatch) error {
		select {
		case out <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	path, info := req.Path, r.Info()
	res := MirrorResult{Width: info.Width, Height: info.Height}
	tracker := clnf.NewTracker(an.landmarks, clnf.MTCNN{Detector: an.faces})
	analyser := an.features.NewAnalyser()
	smoother := mirror.NewSmoother()
	mat := gocv.NewMat()
	defer mat.Close()
	for i := 0; ; i++ {
		f, err := r.ReadInto(&mat)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			return res, worker.Coded(CodeBadInput, err)
		}
		if f.Index < i {
			return res, fmt.Errorf("track %s: read frame %d where frame %d was due", path, f.Index, i)
		}
		if f.Index > i {
			// Frames i to f.Index-1 could not be decoded. The midline
			// goes through them as through frames without a face, and
			// their pictures are missing from the written videos, which
			// therefore keep each frame's own time. The face may have
			// moved meanwhile: its track starts afresh.
			res.VariableRate = true
			tracker.Reset()
			for ; i < f.Index; i++ {
				lines, err := smoother.Add(observation(TrackFrame{}))
				if err != nil {
					return res, fmt.Errorf("midline of frame %d of %s: %w", i, path, err)
				}
				if err := send(trackBatch{frame: TrackFrame{Lost: true}, lines: lines, variableRate: true}); err != nil {
					return res, err
				}
			}
		}
		if !res.VariableRate && irregular(info, f) {
			res.VariableRate = true
		}
		lm, err := tracker.Track(ctx, mat)
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			return res, fmt.Errorf("track the face in frame %d of %s: %w", i, path, err)
		}
		fr, enc, err := analyseFrame(analyser, mat, lm, req.SourceAUs)
		if err != nil {
			return res, fmt.Errorf("frame %d of %s: %w", i, path, err)
		}
		if err := emitFrame(call, EventFrame, "", i, enc); err != nil {
			return res, err
		}
		res.Frames = i + 1
		tf := trackFrameOf(fr)
		lines, err := smoother.Add(observation(tf))
		if err != nil {
			return res, fmt.Errorf("midline of frame %d of %s: %w", i, path, err)
		}
		if err := send(trackBatch{frame: tf, lines: lines, variableRate: res.VariableRate}); err != nil {
			return res, err
		}
	}
	if res.Frames == 0 {
		return res, worker.Coded(CodeBadInput, fmt.Errorf("%s: %w", path, video.ErrNoFrames))
	}
	res.Gaps = gapsOf(r.Gaps())
	lines, err := smoother.Close()
	if errors.Is(err, mirror.ErrNoFit) {
		// Nothing to mirror: the pass has written nothing either.
		res.NoFace = true
		return res, send(trackBatch{end: true, variableRate: res.VariableRate})
	}
	if err != nil {
		return res, fmt.Errorf("midline of %s: %w", path, err)
	}
	return res, send(trackBatch{lines: lines, variableRate: res.VariableRate, end: true})
}

// trackFrameOf is what the debug video and the midline use of a frame's
// analysis.
func trackFrameOf(fr openface.FrameResult) TrackFrame {
	t := TrackFrame{Face: fr.Success, Yaw: float32(float64(fr.Pose[4]) * (180 / math.Pi))}
	if fr.Success {
		t.Landmarks = append([]float32(nil), fr.Landmarks...)
	}
	return t
}

// observation is a frame's raw midline. A fit whose glabella and chin
// coincide gives no line; the frame then counts as one without a fit.
func observation(t TrackFrame) mirror.Observation {
	if !t.Face {
		return mirror.Observation{}
	}
	l, err := mirror.FromLandmarks(t.Landmarks)
	if err != nil {
		return mirror.Observation{}
	}
	return mirror.Observation{Line: l, OK: true}
}

// matImage is a view of a continuous 8-bit BGR Mat's pixels.
func matImage(m *gocv.Mat) (mirror.Image, error) {
	if m.Type() != gocv.MatTypeCV8UC3 || !m.IsContinuous() {
		return mirror.Image{}, fmt.Errorf("frame is not continuous 8-bit BGR (type %v)", m.Type())
	}
	pix, err := m.DataPtrUint8()
	if err != nil {
		return mirror.Image{}, err
	}
	return mirror.Image{Pix: pix, Width: m.Cols(), Height: m.Rows(), Stride: 3 * m.Cols()}, nil
}

// copyImage copies src's pixels into dst of the same size.
func copyImage(dst, src mirror.Image) {
	for y := range src.Height {
		copy(dst.Pix[y*dst.Stride:y*dst.Stride+3*dst.Width], src.Pix[y*src.Stride:y*src.Stride+3*src.Width])
	}
}

// debugFrame is what the debug video shows of one frame.
func debugFrame(t TrackFrame, line mirror.Line) mirror.Debug {
	d := mirror.Debug{Face: t.Face, Line: line, YawDeg: float64(t.Yaw)}
	if t.Face {
		n := len(t.Landmarks) / 2
		d.Landmarks = make([]mirror.Point, n)
		for k := range n {
			d.Landmarks[k] = mirror.Point{X: float64(t.Landmarks[k]), Y: float64(t.Landmarks[n+k])}
		}
	}
	return d
}
