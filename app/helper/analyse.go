package helper

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"facemirror/app/worker"
	"facemirror/models"
	"facemirror/models/cnn"
	"facemirror/pipeline/clnf"
	"facemirror/pipeline/mtcnn"
	"facemirror/pipeline/openface"
	"facemirror/pipeline/video"

	"gocv.io/x/gocv"
)

// analysisModels are what an analyse request needs: the face detector,
// the CLNF landmark detector and OpenFace's per-frame analysis. All are
// immutable and shared by all requests of a helper.
//
// The face detector here is MTCNN in plain Go (package models/cnn), not
// through ONNX Runtime as for the detect requests: its boxes are OpenFace's
// to the last bit, where ONNX Runtime's differ by up to 1e-4 px, and the
// tracker starts from the box, so that difference would grow to 0.1-0.2 px
// over a video. A detection costs 11-17 ms at 640x360 (7 ms through ONNX
// Runtime), and a video needs one per chunk and after tracking failures.
type analysisModels struct {
	faces     *mtcnn.Detector
	landmarks *clnf.Model
	features  *openface.Models
}

// analysis loads the landmark and analysis models on first use, and
// checks every model file's hash. Failures are not kept, as for the
// detector.
func (e *engine) analysis(ctx context.Context) (*analysisModels, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.an != nil {
		return e.an, nil
	}
	dir, err := e.modelDir()
	if err != nil {
		return nil, err
	}
	store := models.Open(dir)
	// The three model sets are independent files: read them on all cores
	// (about 0.25 s of parsing one after the other), while every file's
	// hash is checked. What was read is used only if all hashes match.
	var (
		wg        sync.WaitGroup
		features  *openface.Models
		landmarks *clnf.Model
		nets      [3]*cnn.Net
		verifyErr error
		errs      [3]error
	)
	wg.Go(func() { verifyErr = verifyModels(ctx, store) })
	wg.Add(3)
	go func() {
		defer wg.Done()
		var err error
		if features, err = openface.LoadModels(store.Dir); err != nil {
			errs[0] = worker.Coded(CodeModels, fmt.Errorf("load the AU models: %w", err))
		}
	}()
	go func() {
		defer wg.Done()
		// Without the tables (a folder installed by an older version) the
		// weight panels are built as the files are read and the Sigmas
		// computed as they are needed: slower to start, same results.
		var tableErr, err error
		landmarks, tableErr, err = clnf.LoadPrepared(filepath.Join(dir, filepath.FromSlash(openface.LandmarkerFile)), filepath.Join(dir, TablesDir))
		if err != nil {
			errs[1] = worker.Coded(CodeModels, fmt.Errorf("load the landmark detector: %w", err))
			return
		}
		if tableErr != nil {
			e.log.Warn("some prepared tables of the landmark detector are not used; facemirror models install rewrites them", "err", tableErr)
		}
	}()
	go func() {
		defer wg.Done()
		// Checks these files' hashes itself unless Verify has already.
		files, err := store.MTCNNDat()
		if err != nil {
			errs[2] = worker.Coded(CodeModels, err)
			return
		}
		for i, path := range [3]string{files.PNet, files.RNet, files.ONet} {
			if nets[i], err = cnn.Load(path); err != nil {
				errs[2] = worker.Coded(CodeModels, fmt.Errorf("load the face detector: %w", err))
				return
			}
		}
	}()
	wg.Wait()
	if verifyErr != nil {
		return nil, verifyErr
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	faces := mtcnn.New(nets[0], nets[1], nets[2], mtcnn.DefaultOptions())
	e.an = &analysisModels{faces: faces, landmarks: landmarks, features: features}
	// Parsing the model files leaves tens of MB of garbage; give it back
	// now rather than let the heap grow on top of it.
	debug.FreeOSMemory()
	return e.an, nil
}

// verifyModels checks every model file against its SHA-256.
func verifyModels(ctx context.Context, store *models.Store) error {
	if _, err := store.Verify(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return worker.Coded(CodeModels, err)
	}
	return nil
}

// LoadFeatureModels verifies the model folder and reads OpenFace's
// analysis models from it. The coordinator of a process command needs
// them too (for the per-video Sequence), and both sides must use intact,
// identical files.
func LoadFeatureModels(ctx context.Context, store *models.Store) (*openface.Models, error) {
	if err := verifyModels(ctx, store); err != nil {
		return nil, err
	}
	m, err := openface.LoadModels(store.Dir)
	if err != nil {
		return nil, worker.Coded(CodeModels, fmt.Errorf("load the AU models: %w", err))
	}
	return m, nil
}

// analyse serves KindAnalyse: it tracks the landmarks from the warm-up's
// first frame to the end of the range and streams each reported frame's
// openface.FrameResult.
func (e *engine) analyse(ctx context.Context, call *worker.Call) (any, error) {
	var req AnalyseRequest
	if err := call.Decode(&req); err != nil {
		return nil, err
	}
	if req.Start < 0 || req.End <= req.Start || req.WarmUp < 0 {
		return nil, worker.Coded(worker.CodeBadRequest, fmt.Errorf("analyse: frames [%d, %d) with warm-up %d", req.Start, req.End, req.WarmUp))
	}
	// A helper's first request loads the models, about 0.2 s on both
	// cores; the video is opened and its first frames decoded meanwhile.
	// A model error still comes first, as if they had been loaded before.
	loaded := make(chan error, 1)
	var an *analysisModels
	go func() {
		var err error
		an, err = e.analysis(ctx)
		loaded <- err
	}()
	models := sync.OnceValue(func() error { return <-loaded })
	r, err := openVideo(ctx, req.Path)
	if err != nil {
		return nil, cmp.Or(models(), err)
	}
	defer r.Close()
	info := r.Info()

	from := req.Start - min(req.WarmUp, req.Start)
	walk := &frameWalker{r: r, call: call}
	if err := walk.skipTo(from); err != nil {
		if err := models(); err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, video.ErrFrameRange) {
			res := AnalyseResult{Width: info.Width, Height: info.Height}
			res.Total, res.Ended = r.End()
			return res, nil
		}
		return nil, worker.Coded(CodeBadInput, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ahead := newAheadReader(ctx, r, req.End)
	if err := models(); err != nil {
		cancel()
		ahead.close()
		return nil, err
	}
	// Loading may have taken a while on the first request.
	if err := call.Alive(); err != nil {
		cancel()
		ahead.close()
		return nil, err
	}

	tracker := clnf.NewTracker(an.landmarks, clnf.MTCNN{Detector: an.faces})
	analyser := an.features.NewAnalyser()
	analyser.KeepAligned = req.Aligned
	res := AnalyseResult{Width: info.Width, Height: info.Height}

	// Three goroutines overlap on the two cores: this one tracks frame i
	// (the tracker carries each fit into the next frame, so tracking is
	// one sequence), while the frames after it are decoded (aheadReader)
	// and the AU stage of frame i-1 runs and its result goes out
	// (analyseStage).
	stage := newAnalyseStage(call, req.Path, analyser, ahead, cancel)
	err = func() error {
		last := time.Now()
		// Up to 720p the frame after the current one is read before the
		// current one is tracked, so that the tracker fits it while the
		// validator rates the current one (clnf.Tracker.TrackAhead): a
		// core is free for it there. At 1080p decoding keeps both cores
		// busy, and the fit ahead only costs memory.
		lookAhead := info.Width*info.Height <= maxLookAheadArea
		fr, err := ahead.next()
		for i := from; ; i++ {
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return worker.Coded(CodeBadInput, err)
			}
			f := fr.frame
			if f.Index < i {
				ahead.release(fr.mat)
				return fmt.Errorf("analyse %s: read frame %d where frame %d was due", req.Path, f.Index, i)
			}
			if f.Index > i {
				// Frames i to f.Index-1 could not be decoded (the gap is
				// in the result). The face may have moved meanwhile: the
				// frame after them starts a new track, as a video's
				// first frame does.
				tracker.Reset()
				i = f.Index
			}
			if !res.VariableRate && irregular(info, f) {
				res.VariableRate = true
			}
			// held tells that next is read and its Mat must go back on any
			// early return.
			var (
				next    aheadFrame
				nextErr error
				held    bool
				nextMat gocv.Mat
			)
			if lookAhead {
				next, nextErr = ahead.next()
				// A frame after lost ones is not fitted ahead: its track
				// starts afresh.
				if held = nextErr == nil; held && next.frame.Index == i+1 {
					nextMat = next.mat
				}
			}
			lm, terr := tracker.TrackAhead(ctx, fr.mat, nextMat)
			if terr != nil {
				if held {
					ahead.release(next.mat)
				}
				ahead.release(fr.mat)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("track the face in frame %d of %s: %w", i, req.Path, terr)
			}
			if i < req.Start {
				ahead.release(fr.mat)
				res.WarmUp++
				if time.Since(last) > time.Second {
					if err := call.Alive(); err != nil {
						if held {
							ahead.release(next.mat)
						}
						return err
					}
					last = time.Now()
				}
			} else {
				if !stage.send(tracked{index: i, mat: fr.mat, lm: lm}) {
					if held {
						ahead.release(next.mat)
					}
					return nil // the stage failed; wait reports why
				}
				res.Frames++
			}
			if lookAhead {
				fr, err = next, nextErr
			} else {
				fr, err = ahead.next()
			}
		}
	}()
	// A failed AU stage cancels the tracking, whose error is then only
	// the cancellation.
	if serr := stage.wait(); serr != nil {
		err = serr
	}
	cancel()
	var gaps []video.Gap
	res.Total, res.Ended, gaps = ahead.close()
	res.Gaps = gapsOf(gaps)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// maxLookAheadArea is the largest frame (in pixels, 1280x720) whose
// analysis reads a frame ahead for the tracker (see analyse).
const maxLookAheadArea = 1280 * 720

// tracked is a tracked frame on its way to the AU stage.
type tracked struct {
	index int
	mat   gocv.Mat
	lm    clnf.Result
}

// analyseStage runs the AU stage of tracked frames in order on a goroutine
// of its own and sends each result to the client.
type analyseStage struct {
	in     chan tracked
	failed chan struct{} // closed at the first error
	done   chan struct{}
	err    error // set before failed is closed
}

// newAnalyseStage starts the stage; it gives every frame's Mat back to
// ahead, and calls cancel when it fails.
func newAnalyseStage(call *worker.Call, path string, a *openface.Analyser, ahead *aheadReader, cancel func()) *analyseStage {
	s := &analyseStage{in: make(chan tracked, 1), failed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for t := range s.in {
			if s.err != nil {
				ahead.release(t.mat)
				continue
			}
			enc, err := analyseTracked(a, t.mat, t.lm)
			ahead.release(t.mat)
			if err == nil {
				err = emitFrame(call, EventFrame, "", t.index, enc)
			} else {
				err = fmt.Errorf("frame %d of %s: %w", t.index, path, err)
			}
			if err != nil {
				s.err = err
				close(s.failed)
				cancel()
			}
		}
	}()
	return s
}

// send queues a tracked frame; it reports false once the stage has failed
// (it still gives the frame's Mat back).
func (s *analyseStage) send(t tracked) bool {
	select {
	case <-s.failed:
		s.in <- t
		return false
	default:
	}
	s.in <- t
	return true
}

// wait lets the queued frames through and returns the stage's first
// error.
func (s *analyseStage) wait() error {
	close(s.in)
	<-s.done
	return s.err
}

// irregular reports whether frame f is shown more than a quarter of a
// frame interval away from where a constant rate of info.FPS puts it.
func irregular(info video.Info, f video.Frame) bool {
	fps := info.FPS.Float()
	if info.Kind != video.Video || !(fps > 0) {
		return false
	}
	want := float64(f.Index) / fps
	return math.Abs(f.Time.Seconds()-want) > 0.25/fps
}

// analyseTracked runs OpenFace's per-frame analysis on a tracked frame and
// encodes the result for the wire (openface.FrameResult.MarshalBinary).
func analyseTracked(a *openface.Analyser, mat gocv.Mat, lm clnf.Result) ([]byte, error) {
	_, enc, err := analyseFrame(a, mat, lm, true)
	return enc, err
}

// analyseFrame is analyseTracked that also returns the result itself;
// without aus only the frame's geometry (openface.Analyser.Geometry).
func analyseFrame(a *openface.Analyser, mat gocv.Mat, lm clnf.Result, aus bool) (openface.FrameResult, []byte, error) {
	analyse := a.Analyse
	if !aus {
		analyse = a.Geometry
	}
	in := openface.Landmarks{
		Points:           lm.Landmarks[:],
		Global:           lm.Global,
		Local:            lm.Local,
		Success:          lm.Success,
		DetectionSuccess: lm.DetectionSuccess,
		Confidence:       lm.Confidence,
	}
	// The eye models' state, for the eye landmarks and the gaze. A
	// landmark model without both leaves Eyes empty, and the analysis
	// derives them from the landmarks.
	left, okL := lm.Part(openface.LeftEyePart)
	right, okR := lm.Part(openface.RightEyePart)
	if okL && okR {
		for i, p := range [2]clnf.Part{left, right} {
			in.Eyes[i] = openface.Eye{Points: p.Landmarks, Global: p.Global, Local: p.Local}
		}
	}
	fr, err := analyse(mat, in)
	if err != nil {
		return fr, nil, fmt.Errorf("analyse: %w", err)
	}
	enc, err := fr.MarshalBinary()
	if err != nil {
		return fr, nil, fmt.Errorf("encode: %w", err)
	}
	return fr, enc, nil
}

// openVideo opens a request's video; a file that cannot be read is the
// client's CodeBadInput, with package video's message naming it.
func openVideo(ctx context.Context, path string) (*video.Reader, error) {
	r, err := video.Open(ctx, path)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, worker.Coded(CodeBadInput, err)
	}
	return r, nil
}
