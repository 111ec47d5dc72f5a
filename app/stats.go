package app

import (
	"facemirror/app/job"
	"fmt"
	"io"
	"strings"
	"time"
)

// memSampleInterval is how often --stats samples the memory of the run's
// processes. Reading a process's smaps_rollup walks its page tables, which
// costs the kernel time in proportion to its memory: with three 1080p
// encoders running, sampling every 0.1 s took about a fifth of a core
// (mode mirror on d04: 54 s with --stats, 45 s without). The run's memory
// rises in long plateaus (models, then frames and encoders), so half a
// second still finds its peak.
const memSampleInterval = 500 * time.Millisecond

// writeStats prints a run's figures for --stats (and make bench): wall
// time, frames per second with helper start-up and shut-down included,
// the start-up (from the exec of this process, dynamic loading included,
// to the first analysed frame), and peak memory of this process and its helpers together, measured two
// ways. The first, the largest sum of proportional set sizes sampled
// while the run lasted (peakPSS; see memSampler), is the memory the run
// takes: shared pages count once. The second adds up each process's peak
// resident set size as the kernel recorded it, which counts the shared
// libraries (about 80 MB: OpenCV's dependencies, ONNX Runtime, the
// binary) once per process.
func writeStats(w io.Writer, rep job.Report, peakPSS int64, pssOK bool) {
	secs := rep.Elapsed.Seconds()
	fps := 0.0
	if secs > 0 {
		fps = float64(rep.Frames) / secs
	}
	fmt.Fprintf(w, "stats: wall %.2f s, %d frames, %.1f frames/s (start-up included)", secs, rep.Frames, fps)
	if started, err := processStarted(); err == nil && !rep.FirstFrame.IsZero() {
		fmt.Fprintf(w, ", first frame analysed %.2f s after the process started", rep.FirstFrame.Sub(started).Seconds())
	}
	self, ok := selfPeakRSS()
	if !ok {
		fmt.Fprintln(w, ", peak memory not available on this system")
		return
	}
	total := self
	var helpers []string
	for _, st := range rep.Helpers {
		rss, ok := exitPeakRSS(st)
		if !ok {
			continue
		}
		total += rss
		helpers = append(helpers, fmt.Sprintf("%.0f", megabytes(rss)))
	}
	if pssOK {
		fmt.Fprintf(w, ", peak memory %.0f MB (proportional set size summed over this process, its helpers and their encoders, sampled every %v)",
			megabytes(peakPSS), memSampleInterval)
	}
	fmt.Fprintf(w, ", peak RSS %.0f MB summed over %d processes (this process %.0f MB, helpers %s MB)\n",
		megabytes(total), 1+len(helpers), megabytes(self), strings.Join(helpers, " + "))
}

func megabytes(b int64) float64 { return float64(b) / (1 << 20) }
