package app

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"os"
	"runtime"

	"facemirror/app/helper"
	"facemirror/app/job"
	"facemirror/app/worker"
	"facemirror/models"
	"facemirror/pipeline/openfacecsv"
	"facemirror/pipeline/video"

	"gocv.io/x/gocv"
)

// Desktop serves the window. File facts are read in this process (decoding
// needs no ONNX Runtime); face detection runs in one helper process that is
// started on first use and replaced if it dies.
type Desktop struct {
	helpers helper.Config
	pool    *worker.Pool
}

// Fact is one named line of the About facts.
type Fact struct {
	Name, Value string
}

// helperNice is the nice value of the window's helpers. They keep both
// cores busy while the window must stay responsive, and the window's own
// drawing (in software under Xvfb) waited up to 1.3 s for a core while a
// 1080p video was processed at equal priority.
const helperNice = 10

// NewDesktop returns the window's service; it lives until ctx ends or Close.
// Its helpers run at a lower CPU priority than the window (helperNice).
func NewDesktop(ctx context.Context, h helper.Config) *Desktop {
	if h.Nice == 0 {
		h.Nice = helperNice
	}
	return &Desktop{helpers: h, pool: h.NewPool(ctx, 1)}
}

// Close stops the helper.
func (d *Desktop) Close() error { return d.pool.Close() }

// Probe returns the exact facts of a video or image file (every frame is
// decoded once to count them).
func (d *Desktop) Probe(ctx context.Context, path string) (video.Info, error) {
	return video.Probe(ctx, path)
}

// FirstFrame decodes the first upright frame and asks a helper for the face
// OpenFace would track in it. face is nil when there is none.
func (d *Desktop) FirstFrame(ctx context.Context, path string) (frame image.Image, face *helper.DetectedFace, err error) {
	r, err := video.Open(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	f, err := r.Read()
	r.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("read the first frame of %s: %w", path, err)
	}
	frame, err = f.Mat.ToImage()
	f.Mat.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("convert the first frame of %s: %w", path, err)
	}
	var found *helper.DetectedFace
	_, err = helper.Detect(ctx, d.pool, helper.DetectRequest{Path: path, Frames: []int{0}}, func(ff helper.FrameFaces) error {
		if sel, ok := ff.Face(); ok {
			found = &sel
		}
		return nil
	})
	if err != nil {
		return frame, nil, describeDetectError(path, err)
	}
	return frame, found, nil
}

// describeDetectError turns a helper's error into the sentence a user reads.
func describeDetectError(path string, err error) error {
	var re *worker.RemoteError
	if errors.As(err, &re) {
		return fmt.Errorf("%s: %s", path, re.Message)
	}
	return fmt.Errorf("find the face in %s: %w", path, err)
}

// About returns the facts of Help ▸ About: versions, the helper's ONNX
// Runtime and the model files' state.
func (d *Desktop) About(ctx context.Context) ([]Fact, error) {
	facts := []Fact{
		{"FaceMirror", Version},
		{"Go", fmt.Sprintf("%s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)},
		{"OpenCV", fmt.Sprintf("%s (gocv %s)", gocv.OpenCVVersion(), gocv.Version())},
	}
	rt := "unavailable"
	if info, err := helper.QueryRuntime(ctx, d.pool); err != nil {
		rt += ": " + err.Error()
	} else {
		rt = describeRuntime(info)
	}
	facts = append(facts, Fact{"ONNX Runtime", rt})

	dir, err := models.DefaultDir()
	if err != nil {
		return append(facts, Fact{"Models", "unknown folder: " + err.Error()}), nil
	}
	checks, err := models.Open(dir).Verify(ctx)
	if err != nil {
		return append(facts, Fact{"Models", fmt.Sprintf("%s: cannot verify: %v", dir, err)}), nil
	}
	bad := 0
	for _, c := range checks {
		if c.Err != nil {
			bad++
		}
	}
	status := fmt.Sprintf("%s, %d files, all verified (%s)", models.OpenFaceRelease, len(checks), dir)
	if bad > 0 {
		status = fmt.Sprintf("%d of %d files unusable in %s; %s", bad, len(checks), dir, models.RepairHint)
	}
	facts = append(facts, Fact{"Models", status},
		Fact{"Model licence", "OpenFace 2.2 models: academic, non-commercial research use only"})
	return facts, nil
}

// Run runs a job over files for the window, with the desktop's helper
// settings and this program's version; see job.Run. Its helpers are its
// own, started for the run and stopped when it ends, so that a run never
// waits behind the window's face searches.
func (d *Desktop) Run(ctx context.Context, files []string, opts job.Options) job.Report {
	opts.Helpers = d.helpers
	opts.Version = Version
	return job.Run(ctx, files, opts)
}

// Completed tells which files a Run with opts would skip as complete.
func (d *Desktop) Completed(files []string, opts job.Options) []bool {
	opts.Version = Version
	return job.Completed(files, opts)
}

// Frame decodes frame index (from 0) of a video, upright. Frames are
// decoded from the start up to it (video.Reader.Seek is exact that way).
func (d *Desktop) Frame(ctx context.Context, path string, index int) (image.Image, error) {
	r, err := video.OpenAt(ctx, path, index)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("read frame %d of %s: %w", index, path, err)
	}
	defer f.Mat.Close()
	img, err := f.Mat.ToImage()
	if err != nil {
		return nil, fmt.Errorf("convert frame %d of %s: %w", index, path, err)
	}
	return img, nil
}

// ReadCSV reads an OpenFace CSV that FaceMirror wrote.
func (d *Desktop) ReadCSV(path string) (*openfacecsv.File, error) {
	return openfacecsv.ReadFile(path)
}

// ReadSummary reads the rows of a <stem>_summary.csv (see package
// pipeline/asymmetry), its header first.
func (d *Desktop) ReadSummary(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read summary: %w", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read summary %s: %w", path, err)
	}
	return recs, nil
}
