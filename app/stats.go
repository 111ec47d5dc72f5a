package app

import (
	"fmt"
	"io"
	"strings"
)

// writeStats prints a run's figures for --stats (and make bench): wall
// time, frames per second with helper start-up and shut-down included,
// and peak memory summed over this process and every helper, each
// process's peak resident set size as the kernel recorded it.
func writeStats(w io.Writer, rep ProcessReport) {
	secs := rep.Elapsed.Seconds()
	fps := 0.0
	if secs > 0 {
		fps = float64(rep.Frames) / secs
	}
	fmt.Fprintf(w, "stats: wall %.2f s, %d frames, %.1f frames/s (start-up included)", secs, rep.Frames, fps)
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
	fmt.Fprintf(w, ", peak memory %.0f MB summed over %d processes (this process %.0f MB, helpers %s MB)\n",
		megabytes(total), 1+len(helpers), megabytes(self), strings.Join(helpers, " + "))
}

func megabytes(b int64) float64 { return float64(b) / (1 << 20) }
