package app

import (
	"context"
	"facemirror/app/helper"
	"facemirror/app/job"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// processUsage is the usage line of the process command.
const processUsage = "process [--mode aus] [--out DIR] [--workers N] [--whole-videos] [--quiet] [--stats] [--verbose] FILE..."

// processModes are the accepted --mode values. "aus" is OpenFace 2.2's
// FeatureExtraction output: landmarks, pose, PDM parameters and AUs.
var processModes = []string{"aus"}

func runProcess(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("process", stderr, processUsage)
	mode := fs.String("mode", "aus", "what to compute: aus (OpenFace 2.2 FeatureExtraction's CSV without gaze)")
	out := fs.String("out", "", "folder for the CSV files (default: beside each input)")
	workers := fs.Int("workers", runtime.NumCPU(), "helper processes working in parallel")
	whole := fs.Bool("whole-videos", false, "never split a video over helpers: OpenFace's numbers to the last digit, files in parallel")
	quiet := fs.Bool("quiet", false, "no progress line and no per-file lines; errors are still reported")
	stats := fs.Bool("stats", false, "print wall time, frames/s and peak memory summed over all processes")
	verbose := fs.Bool("verbose", false, "let the helpers log what they load")
	files, err := parseArgs(fs, args)
	if err != nil {
		return usageStatus(err)
	}
	if !validMode(*mode) {
		fmt.Fprintf(stderr, "facemirror process: --mode %q: want %s\n", *mode, strings.Join(processModes, " or "))
		return 2
	}
	if *workers < 1 {
		fmt.Fprintf(stderr, "facemirror process: --workers %d: want at least 1\n", *workers)
		return 2
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "usage: facemirror "+processUsage)
		return 2
	}

	if *out != "" {
		// Once, before any work: every input would fail the same way.
		if err := os.MkdirAll(*out, 0o755); err != nil {
			fmt.Fprintln(stderr, "facemirror process: create the output folder:", err)
			return job.ExitFailed
		}
	}
	var line *progressLine
	if !*quiet {
		line = newProgressLine(stderr)
	}
	var last job.Progress
	opts := job.Options{
		OutDir:      *out,
		Workers:     *workers,
		WholeVideos: *whole,
		Helpers:     helper.Config{Stderr: stderr, Verbose: *verbose},
		Progress: func(p job.Progress) {
			last = p
			if line != nil {
				line.update(p)
			}
		},
		OnFile: func(r job.FileReport) {
			if line != nil {
				line.clear()
			}
			writeFileReport(stdout, stderr, r, *quiet)
		},
	}
	var mem *memSampler
	if *stats {
		mem = startMemSampler(memSampleInterval)
	}
	rep := job.Run(ctx, files, opts)
	if line != nil {
		line.finish(last)
	}
	if !*quiet && len(files) > 1 {
		writeProcessSummary(stdout, rep)
	}
	if *stats {
		peak, ok := mem.Stop()
		writeStats(stdout, rep, peak, ok)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "facemirror process: interrupted")
		return job.ExitInterrupted
	}
	return rep.ExitStatus()
}

func validMode(mode string) bool {
	for _, m := range processModes {
		if m == mode {
			return true
		}
	}
	return false
}

// writeFileReport prints one file's outcome: written CSVs on stdout
// (unless quiet), failures on stderr.
func writeFileReport(stdout, stderr io.Writer, r job.FileReport, quiet bool) {
	switch {
	case r.Err != nil:
		fmt.Fprintf(stderr, "facemirror process: %v (no CSV written)\n", r.Err)
	case r.NoFace():
		if quiet {
			fmt.Fprintf(stderr, "facemirror process: %s: %v of %d; every row of %s has success 0\n", r.File, job.ErrNoFace, r.Frames, r.CSV)
			return
		}
		fmt.Fprintf(stdout, "%s: %d frames, %v (every row has success 0) -> %s\n", r.File, r.Frames, job.ErrNoFace, r.CSV)
	case !quiet:
		fmt.Fprintf(stdout, "%s: %d frames, face tracked in %d -> %s\n", r.File, r.Frames, r.FaceFrames, r.CSV)
	}
}

// writeProcessSummary prints the count of each outcome.
func writeProcessSummary(w io.Writer, rep job.Report) {
	written, noFace, failed := 0, 0, 0
	for _, f := range rep.Files {
		switch {
		case f.Err != nil:
			failed++
		case f.NoFace():
			noFace++
		default:
			written++
		}
	}
	fmt.Fprintf(w, "%d files: %d with a face, %d without a face in any frame, %d failed\n", len(rep.Files), written, noFace, failed)
}
