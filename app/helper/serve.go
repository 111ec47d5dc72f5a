package helper

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"facemirror/app/worker"
	"facemirror/internal/cvparallel"
	"facemirror/models"
	"facemirror/pipeline/mtcnn"
	"facemirror/pipeline/onnxrt"
	"facemirror/pipeline/video"
)

// seekChunk is how many frames a detect request skips between two signs of
// life to its client; decoding a chunk takes well under a second even for
// 4K video.
const seekChunk = 32

// Usage is the helper command's usage line.
const Usage = "worker [--ep auto|cpu|coreml|cuda] [--threads N] [--models DIR] [--ort LIB] [--verbose] [--preload]"

// Main is "facemirror worker" with its arguments after "worker" (as
// Config.Options builds them): it parses them and serves (Serve). It
// returns the exit status.
func Main(ctx context.Context, args []string, version string, stdin io.Reader, stdout, stderr io.Writer) int {
	forgetHelperEnv()
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: facemirror "+Usage)
		fs.PrintDefaults()
	}
	opts := ServeOptions{Version: version}
	fs.StringVar(&opts.EP, "ep", "auto", "execution provider: auto, cpu, coreml or cuda")
	fs.IntVar(&opts.Threads, "threads", 0, "ONNX Runtime intra-op threads (0: ONNX Runtime's default)")
	fs.StringVar(&opts.ModelsDir, "models", "", "model folder (default $"+models.EnvDir+" or the user cache folder)")
	fs.StringVar(&opts.Library, "ort", "", "ONNX Runtime shared library (default: the usual lookup)")
	fs.BoolVar(&opts.Verbose, "verbose", false, "also log informational messages (execution provider choice)")
	fs.BoolVar(&opts.Preload, "preload", false, "load the landmark and analysis models at once, not on the first request that needs them")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "facemirror worker: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if dir := os.Getenv(EnvCPUProfile); dir != "" {
		stop, err := startCPUProfile(dir)
		if err != nil {
			fmt.Fprintln(stderr, "facemirror worker:", err)
			return 1
		}
		defer stop()
	}
	return Serve(ctx, opts, stdin, stdout, stderr)
}

// EnvCPUProfile names a folder into which every helper writes a Go CPU
// profile of its whole life (helper-PID.pprof), for finding where a
// run's time goes (go tool pprof).
const EnvCPUProfile = "FACEMIRROR_CPUPROFILE"

// startCPUProfile starts profiling into dir and returns what stops it.
func startCPUProfile(dir string) (stop func(), err error) {
	path := filepath.Join(dir, fmt.Sprintf("helper-%d.pprof", os.Getpid()))
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("CPU profile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// ServeOptions configures a helper process.
type ServeOptions struct {
	// EP is the execution provider: auto, cpu, coreml or cuda.
	EP string
	// Threads is ONNX Runtime's intra-op thread count (0: its default).
	Threads int
	// ModelsDir and Library override the model folder and the ONNX
	// Runtime library; empty means the usual lookup.
	ModelsDir, Library string
	// Verbose also logs informational messages.
	Verbose bool
	// Version is the program's version, told to clients in the handshake.
	Version string
	// Preload loads the landmark and analysis models as the helper starts
	// (Config.Preload).
	Preload bool
}

// Serve is "facemirror worker": a helper process serving the request
// kinds of this package on stdin and stdout (package app/worker's
// protocol) until its client shuts it down. It returns the exit status.
//
// When stdout is the process's real standard output it is reserved for the
// protocol (worker.ReserveStdout), so that stray prints from ONNX Runtime
// or OpenCV land on stderr. ONNX Runtime and the models load on the first
// request that needs them (the landmark and analysis models at once with
// Preload) and are reused by all later ones.
func Serve(ctx context.Context, opts ServeOptions, stdin io.Reader, stdout, stderr io.Writer) int {
	if err := CheckEP(opts.EP); err != nil {
		fmt.Fprintln(stderr, "facemirror worker:", err)
		return 2
	}
	out := stdout
	if f, ok := stdout.(*os.File); ok && f == os.Stdout {
		reserved, err := worker.ReserveStdout()
		if err != nil {
			fmt.Fprintln(stderr, "facemirror worker:", err)
			return 1
		}
		defer reserved.Close()
		out = reserved
	}
	// The helper's goroutines keep the cores busy; OpenCV's own thread
	// pool would only spin beside them.
	cvparallel.Serial()
	e := &engine{ep: opts.EP, threads: opts.Threads, modelsDir: opts.ModelsDir, library: opts.Library, log: helperLogger(stderr, opts.Verbose)}
	defer e.close()
	if opts.Preload {
		// A failure is not kept: the first request that needs the models
		// loads them again and reports it.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go e.analysis(ctx)
	}
	err := worker.Serve(ctx, stdin, out, worker.ServerOptions{
		Handlers: map[string]worker.Handler{
			KindDetect:  e.detect,
			KindInfo:    e.info,
			KindAnalyse: e.analyse,
			KindMirror:  e.mirror,
		},
		Program: "facemirror",
		Version: opts.Version,
		Log:     stderr,
	})
	if err != nil {
		fmt.Fprintln(stderr, "facemirror worker:", err)
		return 1
	}
	return 0
}

// EPNames are the accepted execution provider names.
func EPNames() []string { return []string{"auto", "cpu", "coreml", "cuda"} }

// CheckEP reports whether ep names an execution provider; empty means auto.
func CheckEP(ep string) error {
	if ep == "" || slices.Contains(EPNames(), ep) {
		return nil
	}
	return fmt.Errorf("--ep %q: want one of %s", ep, strings.Join(EPNames(), ", "))
}

// helperLogger logs warnings (and with verbose, information) to w. The
// time is left out: the client prefixes each line with the helper's name.
func helperLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// engine is a helper's inference state: ONNX Runtime and the sessions,
// loaded once and shared by all requests. (A session runs one batch at a
// time; parallelism comes from several helpers.)
type engine struct {
	ep        string
	threads   int
	modelsDir string
	library   string
	log       *slog.Logger

	mu       sync.Mutex
	rt       *onnxrt.Runtime
	sessions []*onnxrt.Session
	det      *mtcnn.Detector
	an       *analysisModels
}

// runtime loads ONNX Runtime on first use.
func (e *engine) runtime() (*onnxrt.Runtime, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.runtimeLocked()
}

func (e *engine) runtimeLocked() (*onnxrt.Runtime, error) {
	if e.rt != nil {
		return e.rt, nil
	}
	rt, err := onnxrt.Open(onnxrt.Options{Library: e.library, EP: e.ep, Threads: e.threads, Logger: e.log})
	if err != nil {
		return nil, worker.Coded(CodeRuntime, err)
	}
	e.rt = rt
	return rt, nil
}

// detector loads the MTCNN networks on first use and returns them with
// the runtime they run on. Failures are not kept: a model installed
// meanwhile is found by the next request.
func (e *engine) detector() (*mtcnn.Detector, *onnxrt.Runtime, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.det != nil {
		return e.det, e.rt, nil
	}
	rt, err := e.runtimeLocked()
	if err != nil {
		return nil, nil, err
	}
	dir, err := e.modelDir()
	if err != nil {
		return nil, nil, err
	}
	files, err := models.Open(dir).MTCNN()
	if err != nil {
		return nil, nil, worker.Coded(CodeModels, err)
	}
	var sessions []*onnxrt.Session
	for _, path := range []string{files.PNet, files.RNet, files.ONet} {
		s, err := rt.NewSessionFromFile(path)
		if err != nil {
			for _, s := range sessions {
				s.Close()
			}
			return nil, nil, worker.Coded(CodeRuntime, err)
		}
		sessions = append(sessions, s)
	}
	e.sessions = sessions
	e.det = mtcnn.New(sessions[0], sessions[1], sessions[2], mtcnn.DefaultOptions())
	return e.det, rt, nil
}

// modelDir is the model folder: --models, else the usual lookup.
func (e *engine) modelDir() (string, error) {
	if e.modelsDir != "" {
		return e.modelsDir, nil
	}
	dir, err := models.DefaultDir()
	if err != nil {
		return "", worker.Coded(CodeModels, err)
	}
	return dir, nil
}

func (e *engine) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.sessions {
		s.Close()
	}
}

func runtimeInfo(rt *onnxrt.Runtime) RuntimeInfo {
	return RuntimeInfo{Version: rt.Version(), Library: rt.Library(), Providers: rt.Providers(), EP: rt.EP()}
}

// info serves KindInfo.
func (e *engine) info(ctx context.Context, call *worker.Call) (any, error) {
	rt, err := e.runtime()
	if err != nil {
		return nil, err
	}
	return runtimeInfo(rt), nil
}

// detect serves KindDetect: it walks the file to each requested frame and
// streams that frame's detections.
func (e *engine) detect(ctx context.Context, call *worker.Call) (any, error) {
	var req DetectRequest
	if err := call.Decode(&req); err != nil {
		return nil, err
	}
	if req.Every < 0 {
		return nil, worker.Coded(worker.CodeBadRequest, fmt.Errorf("detect: every %d frames", req.Every))
	}
	targets := slices.Clone(req.Frames)
	slices.Sort(targets)
	targets = slices.Compact(targets)
	if len(targets) > 0 && targets[0] < 0 {
		return nil, worker.Coded(worker.CodeBadRequest, fmt.Errorf("detect: frame index %d", targets[0]))
	}

	det, rt, err := e.detector()
	if err != nil {
		return nil, err
	}
	r, err := openVideo(ctx, req.Path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	info := r.Info()
	minFace := int(mtcnn.DefaultOptions().MinFace)
	if min(info.Width, info.Height) < minFace {
		return nil, tooSmall(info, minFace)
	}

	res := DetectResult{Runtime: runtimeInfo(rt)}
	next := func(i int) (int, bool) { // the i-th frame to analyse
		switch {
		case len(req.Frames) > 0:
			if i < len(targets) {
				return targets[i], true
			}
			return 0, false
		case req.Every > 0:
			return i * req.Every, true
		}
		return 0, i == 0
	}
	walk := &frameWalker{r: r, call: call}
	for i := 0; ; i++ {
		target, ok := next(i)
		if !ok {
			break
		}
		f, err := walk.read(target)
		if errors.Is(err, video.ErrFrameRange) || errors.Is(err, io.EOF) {
			if len(req.Frames) > 0 {
				res.Missing = targets[i:]
			}
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, worker.Coded(CodeBadInput, err)
		}
		faces, err := det.Detect(ctx, f.Mat)
		f.Mat.Close()
		if errors.Is(err, mtcnn.ErrImageTooSmall) {
			return nil, tooSmall(info, minFace)
		}
		if err != nil {
			return nil, fmt.Errorf("detect faces on frame %d of %s: %w", f.Index, req.Path, err)
		}
		if err := call.Emit(EventFrame, frameFaces(f, faces)); err != nil {
			return nil, err
		}
		res.Analysed++
	}
	return res, nil
}

// frameWalker reads frames of a file in ascending index order.
type frameWalker struct {
	r    *video.Reader
	call *worker.Call
	next int // index of the frame the next Read returns
}

// read moves to frame index and reads it.
func (w *frameWalker) read(index int) (video.Frame, error) {
	if err := w.skipTo(index); err != nil {
		return video.Frame{}, err
	}
	f, err := w.r.Read()
	if err != nil {
		return video.Frame{}, err
	}
	w.next = f.Index + 1
	return f, nil
}

// skipTo moves forward to frame index. Skipped frames are decoded but not
// converted (Seek), in chunks, with a sign of life to the client at least
// every second.
func (w *frameWalker) skipTo(index int) error {
	last := time.Now()
	for w.next < index {
		step := min(index, w.next+seekChunk)
		if err := w.r.Seek(step); err != nil {
			return err
		}
		w.next = step
		if time.Since(last) > time.Second {
			if err := w.call.Alive(); err != nil {
				return err
			}
			last = time.Now()
		}
	}
	return nil
}

// frameFaces converts the detector's faces for the wire.
func frameFaces(f video.Frame, faces []mtcnn.Face) FrameFaces {
	out := FrameFaces{Index: f.Index, Time: f.Time, Faces: make([]DetectedFace, len(faces)), Selected: -1}
	rect := func(r mtcnn.Rect) Rect { return Rect{X: r.X, Y: r.Y, W: r.W, H: r.H} }
	for i, face := range faces {
		out.Faces[i] = DetectedFace{Box: rect(face.Box), Raw: rect(face.Raw), Confidence: face.Confidence}
	}
	if sel, ok := mtcnn.SelectSingle(faces); ok {
		for i, face := range faces {
			if face == sel {
				out.Selected = i
				break
			}
		}
	}
	return out
}

// tooSmall is the error for a picture below the detector's minimum face
// size, in the user's terms.
func tooSmall(info video.Info, minFace int) error {
	what := "video"
	if info.Kind == video.Image {
		what = "image"
	}
	return worker.Coded(CodeTooSmall, fmt.Errorf("%s too small for face detection (%dx%d; the detector needs at least %d px)",
		what, info.Width, info.Height, minFace))
}
