package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"path/filepath"
	"slices"
	"strings"

	"facemirror/app"
	"facemirror/app/export"
	"facemirror/app/job"
	"facemirror/pipeline/asymmetry"
	"facemirror/ui/backend"
)

// desktopBackend presents app.Desktop to the window in the window's own
// plain types; it is the only place that knows both.
type desktopBackend struct{ d *app.Desktop }

func (b desktopBackend) Probe(ctx context.Context, path string) (backend.Probe, error) {
	info, err := b.d.Probe(ctx, path)
	if err != nil {
		return backend.Probe{}, err
	}
	return backend.Probe{
		Frames:   info.Frames,
		FPS:      info.FPS.Float(),
		Duration: info.Duration,
		Width:    info.Width,
		Height:   info.Height,
		Rotation: info.Rotation,
	}, nil
}

func (b desktopBackend) Thumbnail(ctx context.Context, path string) (image.Image, *backend.FaceBox, error) {
	frame, face, err := b.d.FirstFrame(ctx, path)
	if err != nil || face == nil {
		return frame, nil, err
	}
	box := face.Box
	return frame, &backend.FaceBox{
		X: float64(box.X), Y: float64(box.Y), Width: float64(box.W), Height: float64(box.H),
		Confidence: float64(face.Confidence),
	}, nil
}

func (b desktopBackend) About(ctx context.Context) ([]backend.Fact, error) {
	facts, err := b.d.About(ctx)
	out := make([]backend.Fact, len(facts))
	for i, f := range facts {
		out[i] = backend.Fact{Name: f.Name, Value: f.Value}
	}
	return out, err
}

func (b desktopBackend) Completed(ctx context.Context, files []string, s backend.RunSettings) ([]bool, error) {
	opts, err := jobOptions(s)
	if err != nil {
		return nil, err
	}
	return b.d.Completed(files, opts), nil
}

func (b desktopBackend) Process(ctx context.Context, files []string, s backend.RunSettings, ev backend.RunEvents) []backend.FileResult {
	opts, err := jobOptions(s)
	if err != nil {
		out := make([]backend.FileResult, len(files))
		for i, f := range files {
			out[i] = backend.FileResult{File: i, Path: f, Outcome: backend.Failed, Err: err}
		}
		return out
	}
	opts.SkipExisting = s.SkipComplete
	if ev.Progress != nil {
		opts.Progress = func(p job.Progress) {
			left, ok := p.Remaining()
			ev.Progress(backend.RunProgress{
				Files: p.Files, FilesDone: p.FilesDone, Frames: p.Frames, FramesDone: p.FramesDone,
				Rate: p.Rate(), Left: left, LeftKnown: ok,
			})
		}
	}
	opts.OnEvent = func(e job.Event) {
		switch {
		case e.Kind == job.EventStage && ev.Stage != nil:
			ev.Stage(e.File, string(e.Stage))
		case e.Kind == job.EventPreview && ev.Preview != nil && e.Preview != nil:
			ev.Preview(e.File, backend.Preview{Frame: e.Preview.Frame, Source: e.Preview.Source, Left: e.Preview.Left, Right: e.Preview.Right})
		case e.Kind == job.EventAUs && ev.AUs != nil && e.AUs != nil:
			ev.AUs(e.File, backend.FrameAUs{Side: e.AUs.Side, Frame: e.AUs.Frame, Time: e.AUs.Time, Names: e.AUs.Names, Intensity: e.AUs.Intensity})
		}
	}
	results := make([]backend.FileResult, len(files))
	convert := func(i int, r job.FileReport) backend.FileResult {
		out := backend.FileResult{
			File: i, Path: r.File, Err: r.Err, Elapsed: r.Elapsed, Frames: r.Frames, FaceFrames: r.FaceFrames,
			Outputs: r.Outputs, Warnings: r.Warnings,
		}
		o := outputsOf(r.File, r.Outputs)
		out.Left, out.Right = o.left, o.right
		switch {
		case r.Skipped:
			out.Outcome = backend.Skipped
		case r.Err != nil && errors.Is(r.Err, context.Canceled):
			out.Outcome = backend.Cancelled
		case r.Err != nil:
			out.Outcome = backend.Failed
		case r.Damaged():
			out.Outcome = backend.Damaged
		case r.NoFace():
			out.Outcome = backend.NoFace
		}
		return out
	}
	reported := 0
	opts.OnFile = func(r job.FileReport) {
		// Reports come in the order of the inputs.
		i := reported
		reported++
		if ev.File != nil {
			ev.File(convert(i, r))
		}
	}
	rep := b.d.Run(ctx, files, opts)
	for i, r := range rep.Files {
		results[i] = convert(i, r)
	}
	return results
}

// jobOptions turns the window's settings into a job's.
func jobOptions(s backend.RunSettings) (job.Options, error) {
	var mode job.Mode
	switch s.Mode {
	case backend.ModeFull:
		mode = job.ModeFull
	case backend.ModeMirror:
		mode = job.ModeMirror
	case backend.ModeAUs:
		mode = job.ModeAUs
	default:
		return job.Options{}, fmt.Errorf("unknown mode %q", s.Mode)
	}
	return job.Options{Mode: mode, OutDir: s.OutDir, Workers: s.Workers}, nil
}

func (b desktopBackend) Export(ctx context.Context, kind backend.ExportKind, dst string, results []backend.FileResult) (backend.ExportReport, error) {
	videos := make([]export.Video, len(results))
	for i, r := range results {
		videos[i] = exportVideo(r)
	}
	var rep export.Report
	var err error
	switch kind {
	case backend.ExportAUs:
		rep, err = export.AUs(dst, videos)
	case backend.ExportSummary:
		rep, err = export.Summary(dst, videos)
	default:
		return backend.ExportReport{}, fmt.Errorf("export %s: unknown kind %d", dst, kind)
	}
	return backend.ExportReport{Rows: rep.Rows, Skipped: rep.Skipped}, err
}

// outputSet is a finished file's outputs by what they hold, found by the
// names every mode gives them (see app/job's Mode).
type outputSet struct {
	sourceCSV, leftCSV, rightCSV, summary string
	// The written pictures: videos, or PNGs for a still image.
	left, right, debug string
}

func outputsOf(path string, outputs []string) outputSet {
	base := filepath.Base(path)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	var o outputSet
	for _, p := range outputs {
		name := filepath.Base(p)
		csv := filepath.Ext(name) == ".csv"
		switch strings.TrimSuffix(name, filepath.Ext(name)) {
		case stem:
			if csv {
				o.sourceCSV = p
			}
		case stem + "_left_mirrored":
			if csv {
				o.leftCSV = p
			} else {
				o.left = p
			}
		case stem + "_right_mirrored":
			if csv {
				o.rightCSV = p
			} else {
				o.right = p
			}
		case stem + "_summary":
			o.summary = p
		case stem + "_debug":
			o.debug = p
		}
	}
	return o
}

// exportVideo is what the exports take of a finished file.
func exportVideo(r backend.FileResult) export.Video {
	o := outputsOf(r.Path, r.Outputs)
	return export.Video{Name: filepath.Base(r.Path), Source: o.sourceCSV, Left: o.leftCSV, Right: o.rightCSV, Summary: o.summary}
}

func (b desktopBackend) Frame(ctx context.Context, path string, index int) (image.Image, error) {
	return b.d.Frame(ctx, path, index)
}

func (b desktopBackend) Review(ctx context.Context, r backend.FileResult) (backend.Review, error) {
	v := exportVideo(r)
	var rev backend.Review
	for _, s := range []struct{ side, csv string }{
		{backend.SideSource, v.Source}, {backend.SideLeft, v.Left}, {backend.SideRight, v.Right},
	} {
		if s.csv == "" {
			continue
		}
		f, err := b.d.ReadCSV(s.csv)
		if err != nil {
			return backend.Review{}, err
		}
		if rev.Names == nil {
			rev.Names = f.Layout.IntensityAUs
		}
		side := backend.ReviewSide{Side: s.side}
		for _, row := range f.Rows {
			side.Times = append(side.Times, row.Timestamp)
			side.Intensity = append(side.Intensity, row.Intensity)
		}
		rev.Sides = append(rev.Sides, side)
		rev.Frames = max(rev.Frames, len(f.Rows))
	}
	if v.Summary != "" {
		recs, err := b.d.ReadSummary(v.Summary)
		if err != nil {
			return backend.Review{}, err
		}
		if len(recs) == 0 || !slices.Equal(recs[0], asymmetry.SummaryColumns()) {
			return backend.Review{}, fmt.Errorf("read summary %s: unexpected header", v.Summary)
		}
		for _, rec := range recs[1:] {
			rev.Summary = append(rev.Summary, backend.SummaryRow{
				Item: rec[0], Kind: rec[1], Frames: rec[2],
				MeanLeft: rec[3], MeanRight: rec[4], MeanAbsDiff: rec[5], Asymmetry: rec[6],
			})
		}
	}
	// The debug video shows the source with its midline and landmarks,
	// what the window's first picture is about.
	o := outputsOf(r.Path, r.Outputs)
	rev.Source, rev.Left, rev.Right = r.Path, o.left, o.right
	if o.debug != "" {
		rev.Source = o.debug
	}
	if len(rev.Sides) == 0 && rev.Left == "" {
		return backend.Review{}, fmt.Errorf("%s: no results to review", filepath.Base(r.Path))
	}
	return rev, nil
}
