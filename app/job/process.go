package job

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"facemirror/app/helper"
	"facemirror/app/worker"
	"facemirror/internal/atomicfile"
	"facemirror/models"
	"facemirror/pipeline/encode"
	"facemirror/pipeline/openface"
	"facemirror/pipeline/video"
)

// Chunking of videos over helpers. Tracking carries each frame's fit into
// the next, so a chunk that does not begin its video starts warmUpFrames
// early with a fresh face detection and throws those frames away; the
// fresh track has then (almost always) converged onto the one a single
// helper would have followed, and the seam (seam.go) switches to it where
// the two agree. The figure was measured on v02 and v04 by comparing the
// landmarks after seams at many positions with a one-helper run.
const (
	warmUpFrames = 60
	// minChunkFrames is the shortest chunk worth a helper's warm-up and
	// detection; shorter videos are not split.
	minChunkFrames = 2 * warmUpFrames
	// maxChunkFrames bounds a chunk, and so the frames the coordinator
	// holds while an earlier chunk is still running (about 19 KB each).
	maxChunkFrames = 1000
	// openEnd is the end of a video's last chunk while its frame count is
	// only the container's claim: the helper goes on to the real end and
	// reports the exact count (AnalyseResult.Ended).
	openEnd = math.MaxInt32
)

// ErrDuplicateOutput reports an input whose outputs would overwrite those
// of an earlier input of the same command (same name in the same folder).
var ErrDuplicateOutput = errors.New("another input of this command writes the same outputs")

// ErrNoFace reports a video in which no frame has a tracked face. Its CSV
// is written (every row with success 0); FileReport.NoFace carries it.
var ErrNoFace = errors.New("no face found in any frame")

// Options configures Run.
type Options struct {
	// Mode is what is computed and written (ModeAUs, ModeMirror,
	// ModeFull); empty means ModeAUs.
	Mode Mode
	// Codec is the video codec of the mirrored and debug videos; empty
	// means encode.H264.
	Codec encode.Codec
	// OutDir receives each input's outputs, named after the input's name
	// without its extension (see Mode); empty means each input's own
	// folder. It is created when missing.
	OutDir string
	// Workers is the number of helper processes; below 1 means
	// runtime.NumCPU().
	Workers int
	// Split cuts each video of mode aus into contiguous chunks, one per
	// helper, instead of giving it whole to one helper. A seam leaves the
	// landmarks a few hundredths of a pixel from OpenFace's, so the
	// default (false) keeps every video whole: the CSVs are then
	// OpenFace's to the last printed digit, and several inputs still run
	// in parallel, one per helper. Modes mirror and full never split.
	Split bool
	// HOG and Aligned also write, in mode aus, what OpenFace's -hogalign
	// and -simalign write: every frame's FHOG descriptor to <stem>.hog in
	// OpenFace's binary layout, and every tracked frame's 112×112 aligned,
	// masked face to <stem>_aligned/frame_det_00_NNNNNN.bmp (NNNNNN the
	// 1-based frame). Other modes ignore them.
	HOG, Aligned bool
	// Helpers says how helpers start (stderr, model folder, ...). The
	// analysis uses no ONNX Runtime (see analysisModels), so the execution
	// provider does not matter here.
	Helpers helper.Config
	// SkipExisting skips an input whose manifest records a complete run
	// of the same mode and version on the same input (FileReport.Skipped);
	// without it, existing outputs are replaced.
	SkipExisting bool
	// Version is the application version, recorded in the manifests and
	// compared by SkipExisting.
	Version string
	// Progress, if set, is called from Run's goroutines, one call at a
	// time, whenever frames have been analysed or a file ends.
	Progress func(Progress)
	// OnEvent, if set, receives each input's stages, previews and
	// per-frame AU values (Event), one call at a time. It must return
	// quickly: the frames of every input wait for it.
	OnEvent func(Event)
	// OnFile, if set, is called with each file's report as soon as it
	// and every file before it are done, in the order of the inputs, one
	// call at a time.
	OnFile func(FileReport)
}

// Progress counts a Run's work so far.
type Progress struct {
	// Files is the number of inputs, FilesDone how many have ended.
	Files, FilesDone int
	// Frames is the number of frame passes of the inputs probed so far
	// (Probing tells whether some are still to be probed): each frame
	// counts once per pass over it, Mode.Passes (the analysis; in mode
	// mirror its mirroring, in mode full each mirrored face's analysis). It is the container's count until
	// a helper has met a video's end, then the exact one; the passes a
	// file will not do (it failed, or had no face to mirror) leave it
	// when the file ends, unless the run was cancelled. FramesDone is
	// how many passes are done.
	Frames, FramesDone int
	Probing            bool
	// Elapsed is the time since Run began; Analysing the time since
	// the first frame arrived (zero before), the base for rates.
	Elapsed, Analysing time.Duration
}

// Rate is the frame passes done per second since the first frame was
// analysed; 0 before.
func (p Progress) Rate() float64 {
	if p.FramesDone == 0 || p.Analysing <= 0 {
		return 0
	}
	return float64(p.FramesDone) / p.Analysing.Seconds()
}

// Remaining estimates the time left at the rate so far; ok is false
// before there is a rate. While Probing, more inputs are to come, so it is
// a lower bound.
func (p Progress) Remaining() (left time.Duration, ok bool) {
	rate := p.Rate()
	if rate == 0 {
		return 0, false
	}
	return time.Duration(float64(max(0, p.Frames-p.FramesDone)) / rate * float64(time.Second)), true
}

// FileReport is the outcome for one input.
type FileReport struct {
	// File is the input as given.
	File string
	// CSV is the source's CSV written (modes aus and full); empty when
	// none was.
	CSV string
	// Outputs are every file written for the input, the manifest last;
	// nil when it failed.
	Outputs []string
	// Frames is the input's number of frames (the CSV's rows; 0 when it
	// could not be probed); FaceFrames how many have success 1.
	Frames, FaceFrames int
	// Skipped tells that the input was not processed because its
	// manifest records a complete run (Options.SkipExisting).
	Skipped bool
	// Warnings are things the user should know about a finished input.
	Warnings []string
	// Gaps are the stretches of frames of a damaged or cut-off input that
	// could not be decoded (also in Warnings); the others were processed.
	Gaps []helper.Gap
	// Elapsed is the time from the input's start to its end.
	Elapsed time.Duration
	// Err says why the input has no outputs; nil when it has them.
	Err error
}

// NoFace reports whether the input was processed but no frame has a face:
// its CSV has success 0 in every row, and no mirrored video was written.
func (r FileReport) NoFace() bool { return r.Err == nil && !r.Skipped && r.FaceFrames == 0 }

// Damaged reports whether the input was processed but some of its frames
// could not be decoded (Gaps).
func (r FileReport) Damaged() bool { return r.Err == nil && len(r.Gaps) > 0 }

// Decoded is the number of the input's frames that decoded: Frames less
// those lost inside the video.
func (r FileReport) Decoded() int { return r.Frames - lostIn(r.Gaps, 0, r.Frames) }

// Listed is the number of frames the input's container lists: Frames
// plus a lost tail.
func (r FileReport) Listed() int {
	n := r.Frames
	for _, g := range r.Gaps {
		if g.Tail {
			n += g.To - g.From
		}
	}
	return n
}

// Report is the outcome of a Run.
type Report struct {
	// Files are the inputs' reports, in the order given.
	Files []FileReport
	// Frames is the number of frames analysed and written.
	Frames int
	// Elapsed is the run's wall time, helper start-up and shut-down
	// included.
	Elapsed time.Duration
	// FirstFrame is when a helper reported the run's first analysed
	// frame (zero if none was): with the time the process started, what
	// start-up costs.
	FirstFrame time.Time
	// Helpers are the exit states of every helper process the run
	// started (all have exited when Run returns): their resource
	// usage.
	Helpers []*os.ProcessState
}

// Exit statuses of the process command (see ExitStatus).
const (
	// ExitFailed: some input could not be read or processed; it has no
	// outputs. The other inputs were processed.
	ExitFailed = 1
	// ExitNoFace: every input was processed, but in at least one no frame
	// shows a face (its CSV rows all have success 0; no mirrored videos).
	ExitNoFace = 3
	// ExitDamaged: every input was processed, but some frames of at least
	// one could not be decoded (a damaged or cut-off file; the report
	// says which). It outranks ExitNoFace.
	ExitDamaged = 4
	// ExitInterrupted: the run was cancelled (Ctrl-C); files finished
	// before stay, no partial output is left.
	ExitInterrupted = 130
)

// ExitStatus returns the process command's exit status for the run: 0
// when every input has its outputs with a face in some frame (or was
// skipped), ExitFailed when any input has none (which outranks
// ExitNoFace), ExitNoFace when in some input no frame has a face.
func (r Report) ExitStatus() int {
	status := 0
	for _, f := range r.Files {
		switch {
		case f.Err != nil:
			return ExitFailed
		case f.Damaged():
			status = ExitDamaged
		case f.NoFace() && status != ExitDamaged:
			status = ExitNoFace
		}
	}
	return status
}

// Run runs opts.Mode over every input (see Mode for what each writes).
// Every input's track of the face is OpenFace 2.2's FeatureExtraction
// pipeline (landmarks, gaze, head pose, AUs), as in its CSV.
//
// The heavy work runs in opts.Workers helper processes, which take the
// inputs from one queue. By default each video goes to one helper whole,
// which tracks it from its first frame to its last as OpenFace does; the
// helpers use both cores within one video, and several videos run in
// parallel. In mode aus with opts.Split, a video is instead cut by its
// container's frame count into contiguous chunks (planChunks), the last
// one running to wherever the video really ends. In modes mirror and
// full the same helper that tracks a video also mirrors and encodes it
// (mirror.go), its midline a few frames behind the tracking.
//
// Each helper streams its frames' per-frame results back, the helper that
// meets the end of the video reports the exact frame count, and this
// process puts the frames in order through the video's openface.Sequence
// (running medians, AU prediction, post-processing) and writes the CSV
// atomically. For given options the output is the same, byte for byte,
// on every run. One input's failure never stops the others. The helpers'
// own messages go to opts.Helpers.Stderr. Run returns when every helper
// has exited.
func Run(ctx context.Context, files []string, opts Options) Report {
	workers := opts.Workers
	if workers < 1 {
		workers = runtime.NumCPU()
	}
	r := newRun(ctx, files, opts, workers)
	r.run()
	return r.report()
}

// report sums up a finished run.
func (r *run) report() Report {
	report := Report{Files: make([]FileReport, len(r.jobs))}
	for i, j := range r.jobs {
		f := j.report()
		report.Files[i] = f
		if f.Err == nil {
			report.Frames += f.Frames
		}
	}
	report.Helpers = r.pool.ExitStates()
	report.Elapsed = time.Since(r.start)
	r.mu.Lock()
	report.FirstFrame = r.firstAt
	r.mu.Unlock()
	return report
}

// chunk is one helper request: frames [start, end) of a job, entered
// warmUp frames early.
type chunk struct {
	start, end, warmUp int
}

// planChunks splits a video of n frames into contiguous chunks for the
// given number of helpers. Only the number of helpers and frames decide
// the plan, so the output for a given number of workers never depends on
// timing. A chunk after the first costs its warm-up frames too, so the
// first chunk is longer by that much and every chunk has the same work.
// Videos up to maxChunkFrames get one chunk per helper, as long as each
// chunk reports at least minChunkFrames; longer videos get chunks of at
// most about maxChunkFrames, taken in turn by the helpers.
func planChunks(n, workers int) []chunk {
	if n <= 0 {
		return nil
	}
	k := max(1, (n+maxChunkFrames-1)/maxChunkFrames)
	k = max(k, workers)
	for k > 1 && (n+(k-1)*warmUpFrames)/k-warmUpFrames < minChunkFrames {
		k--
	}
	// Boundary i is where the work (frames reported plus warm-up) of the
	// chunks before it reaches i/k of the total.
	total := n + (k-1)*warmUpFrames
	bound := func(i int) int {
		if i == 0 {
			return 0
		}
		return i*total/k - (i-1)*warmUpFrames
	}
	out := make([]chunk, k)
	for i := range out {
		out[i] = chunk{start: bound(i), end: bound(i + 1)}
		if i > 0 {
			out[i].warmUp = warmUpFrames
		}
	}
	out[k-1].end = n
	return out
}

// run is one Run call's shared state.
type run struct {
	ctx     context.Context
	opts    Options
	workers int
	pool    *worker.Pool
	jobs    []*job
	start   time.Time
	// probe reads an input's header: video.ProbeHeader (tests give
	// videos a wrong container frame count through it).
	probe func(context.Context, string) (video.Info, error)
	// dirChecked holds what checkOutputDir found of each output folder,
	// stale the temporary-looking names each held when first met (plan's
	// goroutine only).
	dirChecked map[string]error
	stale      map[string][]string

	// tokens bounds the chunks that are queued, running or done but not
	// yet sequenced, and so the frames held in memory.
	tokens chan struct{}
	queue  chan *queued
	// allEnded is closed when every job has ended.
	allEnded chan struct{}
	evMu     sync.Mutex // serialises OnEvent

	mu        sync.Mutex // guards the fields below and serialises callbacks
	frames    int
	done      int
	probed    int
	filesDone int
	firstAt   time.Time
	reported  int
	finishing sync.WaitGroup
}

// queued is a chunk in the queue with its job.
type queued struct {
	job *job
	c   chunk
}

// withDefaults fills in what empty Options fields mean.
func (o Options) withDefaults() Options {
	if o.Mode == "" {
		o.Mode = ModeAUs
	}
	if o.Codec == "" {
		o.Codec = encode.H264
	}
	return o
}

func newRun(ctx context.Context, files []string, opts Options, workers int) *run {
	opts = opts.withDefaults()
	h := opts.Helpers
	h.Threads = 1
	// Every mode tracks the face: helpers load those models while this
	// process reads its own and probes the first input.
	h.Preload = true
	r := &run{
		ctx:      ctx,
		opts:     opts,
		workers:  workers,
		pool:     h.NewPool(ctx, workers),
		start:    time.Now(),
		probe:    video.ProbeHeader,
		tokens:   make(chan struct{}, 2*workers),
		queue:    make(chan *queued),
		allEnded: make(chan struct{}),

		dirChecked: map[string]error{},
		stale:      map[string][]string{},
	}
	seen := map[string]string{}
	for i, f := range files {
		j := &job{run: r, index: i, path: f, csv: CSVPath(f, opts.OutDir), out: newOutputs(f, opts.OutDir, opts.Mode, opts.Codec)}
		key := filepath.Clean(j.out.stem)
		if first, dup := seen[key]; dup {
			j.err = fmt.Errorf("%s: %w (%s, like %s)", filepath.Base(f), ErrDuplicateOutput, j.out.manifest, first)
		} else {
			seen[key] = f
		}
		r.jobs = append(r.jobs, j)
	}
	if len(r.jobs) == 0 {
		close(r.allEnded)
	}
	return r
}

// run processes every job and shuts the helpers down.
func (r *run) run() {
	var dispatchers sync.WaitGroup
	for range r.workers {
		dispatchers.Add(1)
		go func() {
			defer dispatchers.Done()
			r.dispatch()
		}()
	}
	r.plan()
	close(r.queue)
	dispatchers.Wait()
	r.finishing.Wait()
	<-r.allEnded
	for _, j := range r.jobs {
		if j.cancel != nil {
			j.cancel()
		}
	}
	r.pool.Close()
	// With every helper gone, nothing writes any more: what a cancelled
	// helper left of a failed input's outputs goes now.
	for _, j := range r.jobs {
		if j.stage != nil {
			j.stage.discard()
			j.stage.sweep()
		}
	}
}

// dispatch runs the queued requests on one helper's share of the pool
// until the queue is closed and empty.
func (r *run) dispatch() {
	for q := range r.queue {
		if r.opts.Mode == ModeAUs {
			q.job.runChunk(q)
		} else {
			q.job.runMirrorVideo(q)
		}
	}
}

// plan probes the inputs in order and queues their chunks. Probing the
// next input overlaps with the helpers' work on the previous ones.
func (r *run) plan() {
	r.warm()
	features, featErr := r.loadFeatures(r.opts.Mode != ModeMirror)
	for _, j := range r.jobs {
		if j.err == nil && featErr != nil {
			j.err = featErr
		}
		j.started = time.Now()
		if j.err == nil {
			j.out.sweepStale(r.staleIn(filepath.Dir(j.out.stem)))
		}
		if j.err == nil && r.opts.SkipExisting {
			j.skipped = j.completeBefore()
		}
		if j.err == nil && !j.skipped {
			j.err = r.checkOutputDir(j)
		}
		if j.err == nil && !j.skipped {
			j.inStat, _ = os.Stat(j.path)
			j.event(Event{Kind: EventStage, Stage: r.opts.Mode.firstStage()})
			j.prepare(features)
		}
		r.mu.Lock()
		r.probed++
		if j.err == nil && !j.skipped {
			j.share = j.frames * r.opts.Mode.Passes()
			r.frames += j.share
		}
		r.progress()
		r.mu.Unlock()
		if j.err != nil || j.skipped {
			j.end()
			continue
		}
		j.queue()
	}
}

// staleIn lists dir's temporary-looking names once per run (see
// sweepStale).
func (r *run) staleIn(dir string) []string {
	names, ok := r.stale[dir]
	if !ok {
		names = staleCandidates(dir)
		r.stale[dir] = names
	}
	return names
}

// checkOutputDir refuses an input whose output folder cannot be written
// (read-only, full, no permission) before any work on it; each folder is
// tried once per run.
func (r *run) checkOutputDir(j *job) error {
	dir := filepath.Dir(j.out.stem)
	err, ok := r.dirChecked[dir]
	if !ok {
		err = atomicfile.CheckDir(dir)
		r.dirChecked[dir] = err
	}
	if err != nil {
		return fmt.Errorf("%s: cannot write its outputs: %w", filepath.Base(j.path), err)
	}
	return nil
}

// warm starts the helpers the inputs will need, and with them their model
// loading (Preload), while this process reads its AU models and probes the
// first input. Not for inputs that do not exist,
// which fail at once, nor with SkipExisting, where every input may turn
// out done.
func (r *run) warm() {
	if r.opts.SkipExisting {
		return
	}
	// A whole video takes one helper, a split one all of them. A study
	// may list thousands of inputs: look only until that many are wanted.
	want := 0
	for _, j := range r.jobs {
		if want >= r.workers {
			break
		}
		if j.err != nil {
			continue
		}
		if _, err := os.Stat(j.path); err != nil {
			continue
		}
		want++
		if r.opts.Split && r.opts.Mode == ModeAUs {
			want = r.workers
		}
	}
	r.pool.Warm(want)
}

// queue puts the job's chunks in the queue, each with a token, until
// they are all in or the job has failed.
func (j *job) queue() {
	r := j.run
	for _, c := range j.chunks {
		select {
		case r.tokens <- struct{}{}:
		case <-r.ctx.Done():
			// Chunks already queued end with the same error.
			j.fail(j.interrupted())
			return
		}
		j.mu.Lock()
		// Once every frame is in, the chunks left lie past the video's
		// real end.
		stop := j.err != nil || j.written
		if !stop {
			j.acquired++
		}
		j.mu.Unlock()
		if stop {
			<-r.tokens
			return
		}
		r.queue <- &queued{job: j, c: c}
	}
}

// loadFeatures creates the output folder and, when the mode writes CSVs
// (needed), reads the AU models the Sequences need (the helpers read their
// own copy). Mode mirror needs none: loading them would cost this process
// about 100 MB and a second of checking the model files that the helpers
// check anyway.
func (r *run) loadFeatures(needed bool) (*openface.Models, error) {
	if r.opts.OutDir != "" {
		if err := os.MkdirAll(r.opts.OutDir, 0o755); err != nil {
			return nil, fmt.Errorf("create the output folder: %w", err)
		}
	}
	if !needed {
		return nil, nil
	}
	dir := r.opts.Helpers.ModelsDir
	if dir == "" {
		d, err := models.DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	m, err := helper.LoadFeatureModels(r.ctx, models.Open(dir))
	// Parsing leaves tens of MB of garbage that this process would
	// otherwise hold for the whole run.
	debug.FreeOSMemory()
	return m, err
}

// progress reports the counts; r.mu is held.
func (r *run) progress() {
	if r.opts.Progress == nil {
		return
	}
	p := Progress{
		Files:      len(r.jobs),
		FilesDone:  r.filesDone,
		Frames:     r.frames,
		FramesDone: r.done,
		Probing:    r.probed < len(r.jobs),
		Elapsed:    time.Since(r.start),
	}
	if !r.firstAt.IsZero() {
		p.Analysing = time.Since(r.firstAt)
	}
	r.opts.Progress(p)
}

// reportReady hands the reports of ended jobs to OnFile in input order;
// r.mu is held.
func (r *run) reportReady() {
	for r.reported < len(r.jobs) && r.jobs[r.reported].ended {
		if r.opts.OnFile != nil {
			r.opts.OnFile(r.jobs[r.reported].report())
		}
		r.reported++
	}
}

// job is one input.
type job struct {
	run   *run
	index int // in the run's inputs
	path  string
	csv   string
	out   outputs
	// started is when the job was taken up; skipped that its manifest
	// records a complete run (Options.SkipExisting).
	started time.Time
	skipped bool

	ctx    context.Context
	cancel context.CancelFunc
	chunks []chunk

	mu sync.Mutex
	// frames is the video's frame count: the container's claim until a
	// helper meets the end of the video (exact then true).
	frames  int
	exact   bool
	seq     *openface.Sequence
	next    int // the next frame the Sequence needs
	pending map[int]openface.FrameResult
	// lost are the frames that could not be decoded (gaps.go), gaps
	// every stretch of them the helpers reported.
	lost map[int]bool
	gaps []helper.Gap
	// inStat is the input as its processing began; facts its hash and
	// stamp once checkInput has found it unchanged at the end.
	inStat fs.FileInfo
	facts  ManifestInput
	// inflight counts the chunks whose request has not returned: the job
	// completes only after every result (and its gaps) is in.
	inflight int
	// seams are the boundaries between chunks, by the first frame of the
	// later chunk.
	seams    map[int]*seam
	faces    int
	acquired int // chunks queued with a token
	released int // chunks whose token was given back
	written  bool
	err      error
	ended    bool // guarded by run.mu: the report is final
	// share and counted, guarded by run.mu, are the frame passes this
	// job added to the run's Progress.Frames and those it has counted
	// done; when it ends the difference is settled (end).
	share, counted int

	// What modes mirror and full keep of the source besides the
	// Sequence: the header, the AU models, the track and its frame
	// timing; and what they wrote.
	info     video.Info
	features *openface.Models
	vfr      bool
	auNames  []string
	stages   []stageStart
	stage    *staging
	// rec writes the HOG file and the aligned faces (Options.HOG and
	// Aligned) as the frames come in order.
	rec      *recorder
	files    []string
	warnings []string
	elapsed  time.Duration
}

// prepare reads the input's header and plans its chunks.
func (j *job) prepare(features *openface.Models) {
	info, err := j.run.probe(j.run.ctx, j.path)
	if err != nil {
		j.err = err
		if j.run.ctx.Err() != nil {
			j.err = j.interrupted()
		}
		return
	}
	// Mode mirror writes no CSV: the source's frames need no AU stage.
	var seq *openface.Sequence
	if j.run.opts.Mode != ModeMirror {
		if seq, err = openface.NewSequence(features, info); err != nil {
			j.err = fmt.Errorf("%s: %w", filepath.Base(j.path), err)
			return
		}
		j.auNames = features.Layout().IntensityAUs
	}
	if o := j.run.opts; o.Mode == ModeAUs && (o.HOG || o.Aligned) {
		if j.rec, err = newRecorder(j.out.stem, o.HOG, o.Aligned); err != nil {
			j.err = fmt.Errorf("%s: %w", filepath.Base(j.path), err)
			return
		}
	}
	j.ctx, j.cancel = context.WithCancel(j.run.ctx)
	j.frames, j.exact = info.Frames, info.FramesExact
	j.seq = seq
	j.info, j.features = info, features
	j.out.still = info.Kind == video.Image
	j.pending = map[int]openface.FrameResult{}
	// The midline must not depend on how many helpers there are, so
	// mirroring modes track each video whole, as one helper alone would.
	if !j.run.opts.Split || j.run.opts.Mode != ModeAUs {
		j.chunks = []chunk{{start: 0, end: max(info.Frames, 1)}}
	} else {
		j.chunks = planChunks(max(info.Frames, 1), j.run.workers)
	}
	if !j.exact {
		j.chunks[len(j.chunks)-1].end = openEnd
	}
	j.seams = map[int]*seam{}
	for _, c := range j.chunks[1:] {
		j.seams[c.start] = newSeam(c.start)
	}
}

// requestEnd is where a chunk's helper stops: seamOverlap frames past the
// chunk's end when another chunk follows.
func (j *job) requestEnd(c chunk) int {
	if _, ok := j.seams[c.end]; ok {
		return c.end + seamOverlap
	}
	return c.end
}

// runChunk runs one chunk on a helper and checks that all its frames came.
func (j *job) runChunk(q *queued) {
	j.mu.Lock()
	// A chunk queued after the video turned out to end before it has
	// nothing left to do.
	skip := j.err != nil || j.written
	if !skip {
		j.inflight++
	}
	j.mu.Unlock()
	if skip {
		return
	}
	end := j.requestEnd(q.c)
	req := helper.AnalyseRequest{Path: j.path, Start: q.c.start, End: end, WarmUp: q.c.warmUp, Aligned: j.run.opts.Aligned}
	last := -1 // the last frame the request's helper sent; a retry starts again
	res, err := helper.Analyse(j.ctx, j.run.pool, req, func(index int, fr openface.FrameResult) error {
		expect := last + 1
		if index <= last || last < 0 {
			expect = q.c.start
		}
		last = index
		if index > expect {
			// The frames between could not be decoded.
			if err := j.settle(j.lose(expect, index)); err != nil {
				return err
			}
		}
		return j.add(q.c, index, fr)
	})
	j.addGaps(res.Gaps)
	j.mu.Lock()
	j.inflight--
	complete := j.completeLocked()
	j.mu.Unlock()
	j.settle(0, complete, nil)
	if err == nil && res.Retried {
		j.warnRetry(q.c.start)
	}
	if err == nil && res.VariableRate {
		j.mu.Lock()
		j.vfr = true
		j.mu.Unlock()
	}
	switch {
	case err != nil && j.run.ctx.Err() != nil:
		// Whatever the pool made of it, the run was interrupted.
		err = j.interrupted()
	case err != nil && worker.IsHelperFailure(err):
		err = j.helperFailed(err, q.c, last)
	case err != nil && worker.RemoteCode(err) != helper.CodeBadInput:
		// The video package's errors name the file; the others get it,
		// with the frames they hit.
		err = fmt.Errorf("%s: %s: %w", filepath.Base(j.path), j.span(q.c), err)
	case err == nil && res.Ended:
		if want := max(0, min(end, res.Total)-q.c.start) - lostIn(res.Gaps, q.c.start, min(end, res.Total)); res.Frames != want {
			err = fmt.Errorf("%s: a helper analysed %d frames from frame %d of a video of %d frames; the file decodes differently each time",
				filepath.Base(j.path), res.Frames, q.c.start+1, res.Total)
		} else {
			err = j.setTotal(res.Total)
		}
	case err == nil && (end == openEnd || res.Frames != end-q.c.start-lostIn(res.Gaps, q.c.start, end)):
		err = fmt.Errorf("%s: a helper analysed %d of %s; the file changed or decodes differently each time",
			filepath.Base(j.path), res.Frames, j.span(chunk{start: q.c.start, end: end}))
	}
	if err != nil {
		j.fail(err)
	}
}

// helperFailed is the error of a request whose helper failed as a whole
// (crashed, hung, broke the protocol, did not start) on both of the pool's
// tries: it names the file, the frames asked for and where the last
// helper stopped, for the user to find the place in the video.
func (j *job) helperFailed(err error, c chunk, last int) error {
	where := "before sending a frame"
	if last >= 0 {
		where = fmt.Sprintf("after frame %d", last+1)
	}
	return fmt.Errorf("%s: %s: its helper failed twice, the second time %s: %w", filepath.Base(j.path), j.span(c), where, err)
}

// span names the frames of c as the CSV counts them, from 1; an open end
// is the container's count.
func (j *job) span(c chunk) string {
	end := c.end
	if end == openEnd {
		j.mu.Lock()
		end = max(j.frames, c.start+1)
		j.mu.Unlock()
	}
	return fmt.Sprintf("frames %d-%d", c.start+1, end)
}

// warnRetry records, for the report and the manifest, that a helper
// stopped and a fresh one did the work again from frame index from (the
// message counts frames from 1, as the CSV does). When the pool gave up an
// accelerated execution provider for the CPU at that failure (or an
// earlier one), the fresh helper ran on the CPU and the message says so.
func (j *job) warnRetry(from int) {
	msg := fmt.Sprintf("a helper stopped (crash or hang); the frames from %d on were processed again by a fresh helper", from+1)
	if why, ok := j.run.pool.FellBack(); ok {
		msg += " " + why + ", as is every later helper of this run"
	}
	j.mu.Lock()
	j.warnings = append(j.warnings, msg)
	j.mu.Unlock()
}

// setTotal records the exact frame count a helper found at the end of the
// video; the CSV is written once every frame is in.
func (j *job) setTotal(total int) error {
	j.mu.Lock()
	if j.err != nil {
		j.mu.Unlock()
		return nil
	}
	if j.exact {
		known := j.frames
		j.mu.Unlock()
		if total != known {
			return fmt.Errorf("%s: helpers found %d and %d frames; the file changed or decodes differently each time",
				filepath.Base(j.path), known, total)
		}
		return nil
	}
	if total == 0 {
		// The helper that starts at frame 0 reports a video without a
		// decodable frame as such; this is only a second opinion.
		j.mu.Unlock()
		return fmt.Errorf("%s: %w", filepath.Base(j.path), video.ErrNoFrames)
	}
	delta := total - j.frames
	j.frames, j.exact = total, true
	// A seam waiting for frames past the end is decided now.
	for _, s := range j.seams {
		j.settleLocked(s)
	}
	added, complete, err := j.drainLocked()
	j.mu.Unlock()
	if err != nil {
		return err
	}
	r := j.run
	r.mu.Lock()
	j.share += delta * r.opts.Mode.Passes()
	r.frames += delta * r.opts.Mode.Passes()
	r.progress()
	r.mu.Unlock()
	if added > 0 {
		j.framesDone(added)
	}
	if complete {
		r.finishing.Add(1)
		go j.finish()
	}
	return nil
}

// interrupted is the error of a job stopped by the run's cancellation.
func (j *job) interrupted() error {
	return fmt.Errorf("%s: interrupted: %w", filepath.Base(j.path), j.run.ctx.Err())
}

// errJobFailed stops the event stream of a chunk whose job has failed.
var errJobFailed = errors.New("the file's analysis has failed")

// add takes one analysed frame of chunk c from a helper and feeds the
// Sequence every frame that is now next in order. Frames of a retried
// chunk arrive a second time; the copies are identical and are dropped.
func (j *job) add(c chunk, index int, fr openface.FrameResult) error {
	return j.settle(j.sequence(c, index, fr))
}

// settle reports frames added to the Sequence and finishes the job when
// it is complete; an error fails the job and stops the frame events.
func (j *job) settle(added int, complete bool, err error) error {
	if err != nil {
		if !errors.Is(err, errJobFailed) {
			j.fail(err)
		}
		return errJobFailed
	}
	if added > 0 {
		j.framesDone(added)
	}
	if complete {
		j.run.finishing.Add(1)
		go j.finish()
	}
	return nil
}

// sequence stores a frame of chunk c (around a seam, with the seam until
// it is decided) and adds the frames now in order to the Sequence. It
// returns how many were added and whether the video is complete (once).
func (j *job) sequence(c chunk, index int, fr openface.FrameResult) (added int, complete bool, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return 0, false, errJobFailed
	}
	if index < j.next || (j.exact && index >= j.frames) {
		return 0, false, nil
	}
	switch {
	case index >= c.end && j.seams[c.end] != nil:
		// Past the chunk's end: the earlier side of the next seam.
		s := j.seams[c.end]
		if s.switchAt < 0 {
			s.tail[index] = fr
			j.settleLocked(s)
		} else if index < s.switchAt {
			j.pending[index] = fr
		}
	case j.seams[c.start] != nil:
		s := j.seams[c.start]
		if s.switchAt < 0 {
			s.head[index] = fr
			j.settleLocked(s)
		} else if index >= s.switchAt {
			j.pending[index] = fr
		}
	default:
		j.pending[index] = fr
	}
	return j.drainLocked()
}

// settleLocked tries to decide a seam and, once decided, moves its frames
// to pending: the earlier chunk's before the switch, the later chunk's
// from it on. j.mu is held.
func (j *job) settleLocked(s *seam) {
	if s.tail == nil {
		return
	}
	end := -1
	if j.exact {
		end = j.frames
	}
	if !s.decide(end, func(i int) bool { return j.lost[i] }) {
		return
	}
	for i, fr := range s.tail {
		if i < s.switchAt {
			j.pending[i] = fr
		}
	}
	for i, fr := range s.head {
		if i >= s.switchAt {
			j.pending[i] = fr
		}
	}
	s.tail, s.head = nil, nil
}

// drainLocked adds the pending frames that are next in order to the
// Sequence; see sequence. j.mu is held.
func (j *job) drainLocked() (added int, complete bool, err error) {
	for {
		if j.lost[j.next] {
			if j.seq != nil {
				j.seq.Skip(1)
			}
			j.next++
			added++
			continue
		}
		r, ok := j.pending[j.next]
		if !ok {
			break
		}
		delete(j.pending, j.next)
		if j.seq != nil {
			if err := j.seq.Add(r); err != nil {
				return added, false, fmt.Errorf("%s: frame %d: %w", filepath.Base(j.path), j.next, err)
			}
		}
		if j.rec != nil {
			if err := j.rec.add(j.next, r); err != nil {
				return added, false, fmt.Errorf("%s: %w", filepath.Base(j.path), err)
			}
		}
		if r.Success {
			j.faces++
		}
		if j.run.opts.OnEvent != nil && j.run.opts.Mode != ModeMirror {
			j.auEvent(SideSource, j.next, j.seq.Online())
		}
		j.next++
		added++
	}
	// A chunk whose frames are all in the Sequence holds no memory.
	for j.released < j.acquired && j.chunks[j.released].end <= j.next {
		<-j.run.tokens
		j.released++
	}
	return added, j.completeLocked(), nil
}

// completeLocked reports, once, that every frame of the video is in the
// Sequence, and gives back the tokens of the job's chunks: those still
// queued lie past the end of the video and will not run. j.mu is held.
func (j *job) completeLocked() bool {
	if !j.exact || j.next != j.frames || j.written || j.inflight > 0 {
		return false
	}
	j.written = true
	for ; j.released < j.acquired; j.released++ {
		<-j.run.tokens
	}
	return true
}

// finish post-processes the AUs and writes the CSV. In the mirroring
// modes the video's mirror request is still running when every frame of
// the source is in; runMirrorVideo finishes those when it ends.
func (j *job) finish() {
	defer j.run.finishing.Done()
	if j.run.opts.Mode != ModeAUs {
		return
	}
	j.mu.Lock()
	seq := j.seq
	j.warnings = append(j.warnings, gapWarnings(j.gaps)...)
	j.mu.Unlock()
	j.event(Event{Kind: EventStage, Stage: StageWriting})
	outputs := []string{j.csv}
	var extra []string
	err := j.checkInput()
	if err != nil && j.rec != nil {
		j.rec.discard()
	}
	if err == nil && j.rec != nil {
		// No frame is added any more: the recorder is this goroutine's.
		extra, err = j.rec.commit()
	}
	if err == nil {
		err = seq.WriteCSV(j.ctx, j.csv)
	}
	if err == nil {
		err = j.writeManifest(outcomeComplete, append(outputs, extra...))
	}
	if err != nil {
		// The HOG file and the aligned faces go with a CSV that failed.
		for _, f := range extra {
			os.RemoveAll(f)
		}
	}
	switch {
	case err == nil:
	case j.run.ctx.Err() != nil:
		err = j.interrupted()
	default:
		err = fmt.Errorf("%s: %w", filepath.Base(j.path), err)
	}
	j.mu.Lock()
	if err != nil && j.err == nil {
		j.err = err
	}
	j.seq = nil
	j.mu.Unlock()
	j.end()
}

// fail records the job's first error, stops its chunks and frees what it
// holds.
func (j *job) fail(err error) {
	j.mu.Lock()
	j.failLocked(err)
	failed := j.err != nil
	j.mu.Unlock()
	if failed {
		j.end()
	}
}

func (j *job) failLocked(err error) {
	// Once every frame is in, the CSV is being written; a chunk that
	// fails afterwards (its helper died before its final message) lost
	// nothing.
	if j.err != nil || j.written {
		return
	}
	j.err = err
	if j.cancel != nil {
		j.cancel()
	}
	j.seq = nil
	if j.rec != nil {
		j.rec.discard()
		j.rec = nil
	}
	j.pending = nil
	j.seams = nil
	for ; j.released < j.acquired; j.released++ {
		<-j.run.tokens
	}
}

// end marks the job's report final and passes on the reports now ready.
// The job's frame passes not counted by now will never be done (it failed,
// or had no need of them, such as the analysis of the mirrored faces of a
// video without a face): they leave the total, so that the run's progress
// reaches it when the last file ends and its rate counts only work done.
// A cancelled run keeps them: its progress shows how far it got.
func (j *job) end() {
	j.mu.Lock()
	if j.elapsed == 0 {
		j.elapsed = time.Since(j.started)
	}
	j.mu.Unlock()
	r := j.run
	r.mu.Lock()
	defer r.mu.Unlock()
	if j.ended {
		return
	}
	j.ended = true
	if rest := j.share - j.counted; rest > 0 && r.ctx.Err() == nil {
		r.frames -= rest
		j.share = j.counted
	}
	r.filesDone++
	r.reportReady()
	r.progress()
	if r.filesDone == len(r.jobs) {
		close(r.allEnded)
	}
}

// framesDone counts frame passes of the job done, for the progress
// report.
func (j *job) framesDone(n int) {
	r := j.run
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.firstAt.IsZero() {
		r.firstAt = time.Now()
	}
	j.counted += n
	r.done += n
	r.progress()
}

// report returns the job's outcome.
func (j *job) report() FileReport {
	j.mu.Lock()
	defer j.mu.Unlock()
	rep := FileReport{File: j.path, Frames: j.frames, FaceFrames: j.faces, Skipped: j.skipped,
		Warnings: j.warnings, Gaps: j.gaps, Elapsed: j.elapsed, Err: j.err}
	if j.err == nil {
		rep.Outputs = j.files
		if j.run.opts.Mode != ModeMirror && !j.skipped {
			rep.CSV = j.csv
		}
	}
	return rep
}
