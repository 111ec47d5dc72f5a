package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"

	"facemirror/app/helper"
	"facemirror/app/job"
	"facemirror/app/worker"
	"facemirror/pipeline/video"
)

// probeUsage is the usage line of the probe command.
const probeUsage = "probe [--faces] [--json] [--ep auto|cpu|coreml|cuda] [--verbose] FILE..."

// sampleFractions are the positions in a video where probe --faces looks
// for the face: first frame, quarters, last frame.
var sampleFractions = []float64{0, 0.25, 0.5, 0.75, 1}

// ProbeReport is what probe reports about one file; --json prints a list
// of them.
type ProbeReport struct {
	// File is the path as given.
	File string `json:"file"`
	// Kind is "video" or "image"; empty when the file could not be read.
	Kind string `json:"kind,omitempty"`
	// Frames is the exact number of decodable frames.
	Frames int `json:"frames"`
	// Listed is the number of frames the file's container lists when
	// fewer decode (a damaged or cut-off file); Lost says which are
	// missing, numbered from 1.
	Listed int         `json:"listed,omitempty"`
	Lost   []ProbeLost `json:"lost,omitempty"`
	// FPS is the exact frame rate ("30000/1001"); FPSValue its value.
	FPS      string  `json:"fps"`
	FPSValue float64 `json:"fps_value"`
	// Duration is in seconds.
	Duration float64 `json:"duration"`
	// Width and Height are the upright size; Stored* the size as encoded.
	Width        int `json:"width"`
	Height       int `json:"height"`
	StoredWidth  int `json:"stored_width"`
	StoredHeight int `json:"stored_height"`
	// Rotation is the counter-clockwise rotation applied, in degrees.
	Rotation int    `json:"rotation"`
	Codec    string `json:"codec,omitempty"`
	// Truncated marks a file cut off after its index: frames end early.
	Truncated bool `json:"truncated,omitempty"`
	// Faces are the sampled frames' detections (with --faces).
	Faces []ProbeFace `json:"faces,omitempty"`
	// Runtime is the helper's ONNX Runtime (with --faces).
	Runtime *helper.RuntimeInfo `json:"runtime,omitempty"`
	// Error says why the file failed; ErrorCode classifies it (see
	// errorCode). Both are empty for a file that is fine.
	Error     string `json:"error,omitempty"`
	ErrorCode string `json:"error_code,omitempty"`
}

// ProbeFace is the detection on one sampled frame.
type ProbeFace struct {
	Frame int `json:"frame"`
	// Time is the frame's presentation time in seconds.
	Time float64 `json:"time"`
	// Found is false when the frame shows no face.
	Found bool `json:"found"`
	// Count is the number of faces detected on the frame.
	Count int `json:"count"`
	// Box, Raw and Confidence describe the selected face (as DetectedFace).
	Box        *helper.Rect `json:"box,omitempty"`
	Raw        *helper.Rect `json:"raw,omitempty"`
	Confidence float32      `json:"confidence,omitempty"`
}

// probeOptions are probe's flags.
type probeOptions struct {
	faces   bool
	json    bool
	helpers helper.Config
}

func runProbe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("probe", stderr, probeUsage)
	faces := fs.Bool("faces", false, "find the face on sampled frames (first, 25%, 50%, 75%, last) in a helper process")
	asJSON := fs.Bool("json", false, "print JSON for machines")
	ep := fs.String("ep", "auto", "execution provider for the face detector: auto, cpu, coreml or cuda")
	verbose := fs.Bool("verbose", false, "let the helpers log their execution provider choice")
	files, err := parseArgs(fs, args)
	if err != nil {
		return usageStatus(err)
	}
	if err := helper.CheckEP(*ep); err != nil {
		fmt.Fprintln(stderr, "facemirror probe:", err)
		return 2
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "usage: facemirror "+probeUsage)
		return 2
	}
	opts := probeOptions{faces: *faces, json: *asJSON, helpers: helper.Config{EP: *ep, Stderr: stderr, Verbose: *verbose}}
	return probeFiles(ctx, files, opts, stdout, stderr)
}

// probeFiles probes every file, several at a time, and prints the reports
// in the order given as they become ready. One file's failure never stops
// the others.
func probeFiles(ctx context.Context, files []string, opts probeOptions, stdout, stderr io.Writer) int {
	parallel := min(len(files), max(1, runtime.NumCPU()))
	var pool *worker.Pool
	if opts.faces {
		// Each helper runs ONNX Runtime with its share of the cores.
		helpers := min(len(files), max(1, runtime.NumCPU()/2))
		opts.helpers.Threads = max(1, runtime.NumCPU()/helpers)
		pool = opts.helpers.NewPool(ctx, helpers)
		defer pool.Close()
	}

	reports := make([]ProbeReport, len(files))
	ready := make([]chan struct{}, len(files))
	for i := range ready {
		ready[i] = make(chan struct{})
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			reports[i] = probeFile(ctx, f, pool)
			close(ready[i])
		}()
	}

	status := 0
	for i := range files {
		<-ready[i]
		switch {
		case reports[i].Error != "":
			status = 1
		case reports[i].Listed > 0 && status == 0:
			// As for process: readable, but frames are missing.
			status = job.ExitDamaged
		}
		if !opts.json {
			writeReport(stdout, reports[i])
		}
	}
	wg.Wait()
	if opts.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(reports); err != nil {
			fmt.Fprintln(stderr, "facemirror probe:", err)
			return 1
		}
	} else if len(files) > 1 {
		failed, damaged := 0, 0
		for _, r := range reports {
			switch {
			case r.Error != "":
				failed++
			case r.Listed > 0:
				damaged++
			}
		}
		fmt.Fprintf(stdout, "%d files: %d fine, ", len(files), len(files)-failed-damaged)
		if damaged > 0 {
			fmt.Fprintf(stdout, "%d damaged (frames missing), ", damaged)
		}
		fmt.Fprintf(stdout, "%d failed\n", failed)
	}
	return status
}

// probeFile describes one file; with a pool it also detects the face on
// sampled frames.
func probeFile(ctx context.Context, path string, pool *worker.Pool) ProbeReport {
	rep := ProbeReport{File: path}
	info, err := video.Probe(ctx, path)
	if err != nil {
		rep.Error, rep.ErrorCode = err.Error(), errorCode(err)
		return rep
	}
	rep.Kind = info.Kind.String()
	rep.Frames = info.Decodable()
	if len(info.Gaps) > 0 {
		rep.Listed = max(info.Listed(), info.Frames)
		for _, g := range info.Gaps {
			rep.Lost = append(rep.Lost, ProbeLost{First: g.From + 1, Last: g.To, Start: g.Start.Seconds(), End: g.End.Seconds(), Tail: g.Tail})
		}
	}
	rep.FPS = info.FPS.String()
	rep.FPSValue = info.FPS.Float()
	rep.Duration = info.Duration.Seconds()
	rep.Width, rep.Height = info.Width, info.Height
	rep.StoredWidth, rep.StoredHeight = info.StoredWidth, info.StoredHeight
	rep.Rotation = info.Rotation
	rep.Codec = info.Codec
	rep.Truncated = info.Truncated
	if pool == nil {
		return rep
	}

	frames := sampleFrames(info.Frames)
	found := map[int]helper.FrameFaces{}
	res, err := helper.Detect(ctx, pool, helper.DetectRequest{Path: path, Frames: frames}, func(f helper.FrameFaces) error {
		found[f.Index] = f
		return nil
	})
	if err != nil {
		rep.Error, rep.ErrorCode = err.Error(), errorCode(err)
		return rep
	}
	rep.Runtime = &res.Runtime
	anyFace := false
	for _, idx := range frames {
		f, ok := found[idx]
		if !ok {
			continue
		}
		pf := ProbeFace{Frame: idx, Time: f.Time.Seconds(), Count: len(f.Faces)}
		if face, ok := f.Face(); ok {
			box, raw := face.Box, face.Raw
			pf.Found, pf.Box, pf.Raw, pf.Confidence = true, &box, &raw, face.Confidence
			anyFace = true
		}
		rep.Faces = append(rep.Faces, pf)
	}
	switch {
	case len(res.Missing) > 0:
		rep.Error = fmt.Sprintf("frames %v could not be decoded although the file counts %d frames", res.Missing, info.Frames)
		rep.ErrorCode = "frames_missing"
	case !anyFace:
		rep.Error = fmt.Sprintf("no face found (looked at %s)", framesPhrase(frames))
		rep.ErrorCode = "no_face"
	}
	return rep
}

// sampleFrames returns the distinct frame indices at sampleFractions of a
// video with n frames.
func sampleFrames(n int) []int {
	if n <= 0 {
		return []int{0}
	}
	seen := map[int]bool{}
	var out []int
	for _, f := range sampleFractions {
		i := int(math.Round(f * float64(n-1)))
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	sort.Ints(out)
	return out
}

func framesPhrase(frames []int) string {
	if len(frames) == 1 {
		return fmt.Sprintf("frame %d", frames[0])
	}
	s := make([]string, len(frames))
	for i, f := range frames {
		s[i] = fmt.Sprint(f)
	}
	return fmt.Sprintf("%d frames: %s", len(frames), strings.Join(s, ", "))
}

// errorCode classifies a file's error for --json.
func errorCode(err error) string {
	codes := []struct {
		err  error
		code string
	}{
		{video.ErrEmpty, "empty"},
		{video.ErrNotFile, "not_a_file"},
		{video.ErrNotMedia, "not_media"},
		{video.ErrTruncated, "truncated"},
		{video.ErrNoVideoStream, "no_video_stream"},
		{video.ErrCorruptImage, "corrupt_image"},
		{video.ErrUnreadable, "unreadable"},
		{video.ErrNoFrames, "no_frames"},
		{os.ErrNotExist, "not_found"},
		{os.ErrPermission, "permission"},
		{context.Canceled, "canceled"},
		{context.DeadlineExceeded, "canceled"},
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	if code := worker.RemoteCode(err); code != "" {
		return code
	}
	if worker.IsHelperFailure(err) {
		return "helper"
	}
	return "failed"
}

// ProbeLost is a stretch of frames that could not be decoded: First to
// Last (from 1), shown from Start to End seconds; Tail marks the missing
// end of a cut-off file.
type ProbeLost struct {
	First int     `json:"first"`
	Last  int     `json:"last"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Tail  bool    `json:"tail,omitempty"`
}

// writeReport prints one file's report for people: a heading line, then
// aligned "key value" lines.
func writeReport(w io.Writer, r ProbeReport) {
	var b strings.Builder
	b.WriteString(r.File + "\n")
	line := func(key, format string, args ...any) {
		fmt.Fprintf(&b, "  %-9s %s\n", key, fmt.Sprintf(format, args...))
	}
	if r.Kind != "" {
		line("kind", "%s", r.Kind)
		if r.Listed > 0 {
			line("frames", "%d of the %d listed decode", r.Frames, r.Listed)
			for _, g := range r.Lost {
				span := fmt.Sprintf("frames %d-%d", g.First, g.Last)
				if g.First == g.Last {
					span = fmt.Sprintf("frame %d", g.First)
				}
				what := "damaged, not decodable"
				if g.Tail {
					what = "missing: the file is cut off"
				}
				line("lost", "%s (%s-%s): %s", span, formatSeconds(g.Start), formatSeconds(g.End), what)
			}
		} else {
			line("frames", "%d", r.Frames)
		}
		if r.Kind == video.Video.String() {
			line("fps", "%s (%.3f)", r.FPS, r.FPSValue)
			line("duration", "%s", formatSeconds(r.Duration))
		}
		line("size", "%dx%d", r.Width, r.Height)
		if r.Rotation != 0 {
			line("rotation", "%d° (stored %dx%d)", r.Rotation, r.StoredWidth, r.StoredHeight)
		} else {
			line("rotation", "0°")
		}
		line("codec", "%s", r.Codec)
		if r.Truncated {
			line("warning", "the file is cut off; frames end at the cut")
		}
	}
	if len(r.Faces) > 0 {
		fmt.Fprintf(&b, "  %-9s %6s %10s %8s %8s %8s %8s %11s\n", "faces", "frame", "time", "x", "y", "width", "height", "confidence")
		for _, f := range r.Faces {
			if !f.Found {
				fmt.Fprintf(&b, "  %-9s %6d %10s   no face\n", "", f.Frame, formatSeconds(f.Time))
				continue
			}
			fmt.Fprintf(&b, "  %-9s %6d %10s %8.1f %8.1f %8.1f %8.1f %11.6f\n", "", f.Frame, formatSeconds(f.Time),
				f.Box.X, f.Box.Y, f.Box.W, f.Box.H, f.Confidence)
		}
	}
	if r.Runtime != nil {
		line("detector", "MTCNN on ONNX Runtime %s (%s)", r.Runtime.Version, r.Runtime.EP)
	}
	if r.Error != "" {
		line("error", "%s", r.Error)
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

// formatSeconds prints seconds with millisecond precision.
func formatSeconds(s float64) string {
	return fmt.Sprintf("%.3f s", s)
}
