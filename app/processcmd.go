package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"facemirror/app/helper"
	"facemirror/app/job"
	"facemirror/app/study"
	"facemirror/internal/atomicfile"
	"facemirror/pipeline/encode"
)

// processUsage is the usage line of the process command.
const processUsage = "process [--mode aus|mirror|full] [--video-codec h264|ffv1] [--out DIR] [--workers N] [--split] [--hog] [--aligned] [--skip-existing] [--files-from LIST] [--shard K/N] [--quiet] [--stats] [--verbose] FILE..."

func runProcess(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("process", stderr, processUsage)
	mode := fs.String("mode", "aus", "what to write: aus (OpenFace 2.2's CSV), mirror (left- and right-mirrored and debug videos) or full (mirror, the CSVs of the source and of both mirrored faces, and the asymmetry tables)")
	codec := fs.String("video-codec", "h264", "codec of the written videos: h264 (.mp4, plays everywhere) or ffv1 (lossless .mkv)")
	out := fs.String("out", "", "folder for the outputs (default: beside each input)")
	skip := fs.Bool("skip-existing", false, "skip inputs whose manifest records a complete run of this mode and version on the same file")
	workers := fs.Int("workers", runtime.NumCPU(), "helper processes working in parallel")
	split := fs.Bool("split", false, "in mode aus, cut each video into chunks, one per helper: the last digits then differ from OpenFace's near the cuts (default: every video whole, OpenFace's numbers to the last digit, files in parallel)")
	// The default since the split became optional; accepted so that
	// scripts written for earlier versions keep working.
	whole := fs.Bool("whole-videos", false, "the default: never split a video over helpers")
	hog := fs.Bool("hog", false, "mode aus: also write <stem>.hog, every frame's FHOG descriptor in OpenFace's binary layout (-hogalign)")
	aligned := fs.Bool("aligned", false, "mode aus: also write <stem>_aligned/frame_det_00_NNNNNN.bmp, every tracked frame's 112x112 aligned face (-simalign)")
	quiet := fs.Bool("quiet", false, "no progress line and no per-file lines; errors are still reported")
	stats := fs.Bool("stats", false, "print wall time, frames/s and peak memory summed over all processes")
	verbose := fs.Bool("verbose", false, "let the helpers log what they load")
	filesFrom := fs.String("files-from", "", "also process the files listed in `LIST`, one path per line (- for standard input)")
	shardFlag := fs.String("shard", "", "process only shard `K/N` of the inputs: those at positions K, K+N, K+2N, ... (from 0), for the jobs of a cluster array; with --out, the shard's outcome is recorded there for the report command")
	if askedForEP(args) {
		fmt.Fprintln(stderr, "facemirror process: --ep: process has no execution provider to choose: every number it writes comes from exact CPU code, none from ONNX Runtime (whose face detector differs from OpenFace's); --ep applies to probe --faces and to the window's face search (see the README: Which stages use ONNX Runtime)")
		return 2
	}
	files, err := parseArgs(fs, args)
	if err != nil {
		return usageStatus(err)
	}
	files, shard, err := studyInputs(files, *filesFrom, *shardFlag)
	if err != nil {
		fmt.Fprintf(stderr, "facemirror process: %v\n", err)
		return 2
	}
	m, err := job.ParseMode(*mode)
	if err != nil {
		fmt.Fprintf(stderr, "facemirror process: --%v\n", err)
		return 2
	}
	c, err := encode.ParseCodec(*codec)
	if err != nil {
		fmt.Fprintf(stderr, "facemirror process: --video-codec: %v\n", err)
		return 2
	}
	if (*hog || *aligned) && m != job.ModeAUs {
		fmt.Fprintf(stderr, "facemirror process: --hog and --aligned write OpenFace's files for the source, in mode aus only (not %s)\n", m)
		return 2
	}
	if *split && *whole {
		fmt.Fprintln(stderr, "facemirror process: --split and --whole-videos contradict each other")
		return 2
	}
	if *workers < 1 {
		fmt.Fprintf(stderr, "facemirror process: --workers %d: want at least 1\n", *workers)
		return 2
	}
	if len(files) == 0 && shard != nil {
		// More shards than inputs: nothing for this one.
		fmt.Fprintf(stdout, "shard %s: no inputs\n", shard)
		return 0
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "usage: facemirror "+processUsage)
		return 2
	}
	started := time.Now()

	if *out != "" {
		// Once, before any work: every input would fail the same way.
		if err := os.MkdirAll(*out, 0o755); err != nil {
			fmt.Fprintln(stderr, "facemirror process: create the output folder:", err)
			return job.ExitFailed
		}
		if err := atomicfile.CheckDir(*out); err != nil {
			fmt.Fprintln(stderr, "facemirror process: the output folder:", err)
			return job.ExitFailed
		}
	}
	var line *progressLine
	if !*quiet {
		line = newProgressLine(stderr)
	}
	var last job.Progress
	opts := job.Options{
		Mode:         m,
		Codec:        c,
		SkipExisting: *skip,
		Version:      Version,
		OutDir:       *out,
		Workers:      *workers,
		Split:        *split,
		HOG:          *hog,
		Aligned:      *aligned,
		Helpers:      helper.Config{Stderr: stderr, Verbose: *verbose},
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
	if shard != nil && *out != "" && ctx.Err() == nil {
		rec := study.NewRecord(Version, m, *shard, started, rep)
		if err := rec.Write(study.RecordPath(*out, m, *shard)); err != nil {
			fmt.Fprintln(stderr, "facemirror process:", err)
		}
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

// writeFileReport prints one file's outcome: what was written on stdout
// (unless quiet), failures and warnings on stderr.
func writeFileReport(stdout, stderr io.Writer, r job.FileReport, quiet bool) {
	for _, w := range r.Warnings {
		fmt.Fprintf(stderr, "facemirror process: %s: %s\n", r.File, w)
	}
	// The manifest is listed last; the user came for the others.
	written := r.Outputs
	if n := len(written); n > 0 {
		written = written[:n-1]
	}
	list := r.CSV
	if len(written) > 0 {
		names := make([]string, len(written))
		for i, o := range written {
			names[i] = filepath.Base(o)
		}
		list = filepath.Dir(written[0]) + string(filepath.Separator) + "{" + strings.Join(names, ", ") + "}"
		if len(written) == 1 {
			list = written[0]
		}
	}
	switch {
	case r.Err != nil:
		fmt.Fprintf(stderr, "facemirror process: %v (nothing written)\n", r.Err)
	case r.Skipped:
		if !quiet {
			fmt.Fprintf(stdout, "%s: skipped, its outputs are complete (--skip-existing)\n", r.File)
		}
	case r.NoFace():
		what := "every row has success 0"
		if r.CSV == "" {
			what = "no mirrored videos"
		}
		if quiet {
			fmt.Fprintf(stderr, "facemirror process: %s: %v of %d; %s\n", r.File, job.ErrNoFace, r.Frames, what)
			return
		}
		fmt.Fprintf(stdout, "%s: %d frames, %v (%s) -> %s\n", r.File, r.Frames, job.ErrNoFace, what, list)
	case !quiet && r.Damaged():
		fmt.Fprintf(stdout, "%s: %d of %d frames decoded (damaged file), face tracked in %d -> %s\n", r.File, r.Decoded(), r.Listed(), r.FaceFrames, list)
	case !quiet:
		fmt.Fprintf(stdout, "%s: %d frames, face tracked in %d -> %s\n", r.File, r.Frames, r.FaceFrames, list)
	}
}

// writeProcessSummary prints the count of each outcome.
func writeProcessSummary(w io.Writer, rep job.Report) {
	written, noFace, failed, skipped, damaged := 0, 0, 0, 0, 0
	for _, f := range rep.Files {
		if f.Damaged() {
			damaged++
		}
		switch {
		case f.Err != nil:
			failed++
		case f.Skipped:
			skipped++
		case f.NoFace():
			noFace++
		default:
			written++
		}
	}
	fmt.Fprintf(w, "%d files: %d with a face, %d without a face in any frame, %d failed", len(rep.Files), written, noFace, failed)
	if damaged > 0 {
		fmt.Fprintf(w, ", %d damaged (frames missing)", damaged)
	}
	if skipped > 0 {
		fmt.Fprintf(w, ", %d skipped", skipped)
	}
	fmt.Fprintln(w)
}

// studyInputs adds the files of an input list (--files-from) to files and
// keeps the inputs of a shard (--shard), which it returns (nil without).
func studyInputs(files []string, list, shardSpec string) ([]string, *study.Shard, error) {
	if list != "" {
		r := io.Reader(os.Stdin)
		if list != "-" {
			f, err := os.Open(list)
			if err != nil {
				return nil, nil, fmt.Errorf("--files-from: %w", err)
			}
			defer f.Close()
			r = f
		}
		listed, err := study.ReadList(r)
		if err != nil {
			return nil, nil, fmt.Errorf("--files-from %s: %w", list, err)
		}
		if len(listed) == 0 {
			return nil, nil, fmt.Errorf("--files-from %s: the list names no file", list)
		}
		files = append(files, listed...)
	}
	if shardSpec == "" {
		return files, nil, nil
	}
	s, err := study.ParseShard(shardSpec)
	if err != nil {
		return nil, nil, fmt.Errorf("--%w", err)
	}
	return s.Select(files), &s, nil
}

// askedForEP reports whether the arguments, before any "--", give --ep.
// process had it until its face detection became exact CPU code, and
// probe still has it: scripts and habits carry it over, and the reason it
// is gone serves them better than "flag provided but not defined".
func askedForEP(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "ep" {
			return true
		}
	}
	return false
}
