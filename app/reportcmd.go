package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"facemirror/app/job"
	"facemirror/app/study"
	"facemirror/pipeline/encode"
)

// reportUsage is the usage line of the report command.
const reportUsage = "report [--mode aus|mirror|full] [--video-codec h264|ffv1] [--out DIR] [--hog] [--aligned] [--files-from LIST] [--shard K/N] [--json] [FILE...]"

// runReport is "facemirror report": with the inputs, mode and output
// folder of a study's process commands (all its shards), it lists which
// inputs are done, which failed and why, and which are missing. Without
// inputs it takes those the shard records in --out name. It exits with 0
// when every input is done, 1 otherwise.
func runReport(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("report", stderr, reportUsage)
	mode := fs.String("mode", "aus", "the process commands' mode")
	codec := fs.String("video-codec", "h264", "the process commands' video codec (modes mirror and full)")
	out := fs.String("out", "", "the process commands' output folder, with the shard records (default: beside each input)")
	hog := fs.Bool("hog", false, "the process commands asked for the HOG files")
	aligned := fs.Bool("aligned", false, "the process commands asked for the aligned faces")
	filesFrom := fs.String("files-from", "", "the study's input list, `LIST` (- for standard input)")
	shardFlag := fs.String("shard", "", "report only shard `K/N` of the inputs")
	asJSON := fs.Bool("json", false, "print every input's state as JSON")
	files, err := parseArgs(fs, args)
	if err != nil {
		return usageStatus(err)
	}
	m, err := job.ParseMode(*mode)
	if err != nil {
		fmt.Fprintf(stderr, "facemirror report: --%v\n", err)
		return 2
	}
	c, err := encode.ParseCodec(*codec)
	if err != nil {
		fmt.Fprintf(stderr, "facemirror report: --video-codec: %v\n", err)
		return 2
	}
	if len(files) == 0 && *filesFrom == "" && *out != "" {
		// The study's inputs as its shards recorded them.
		if files, err = study.Inputs(*out, m); err != nil {
			fmt.Fprintln(stderr, "facemirror report:", err)
			return 1
		}
	}
	files, _, err = studyInputs(files, *filesFrom, *shardFlag)
	if err != nil {
		fmt.Fprintf(stderr, "facemirror report: %v\n", err)
		return 2
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "facemirror report: no inputs: give them as for the process commands (FILE... or --files-from), or --out with the shard records")
		return 2
	}
	entries, err := study.Check(files, job.Options{Mode: m, Codec: c, OutDir: *out, HOG: *hog, Aligned: *aligned, Version: Version})
	if err != nil {
		fmt.Fprintln(stderr, "facemirror report:", err)
		return 1
	}
	counts := map[study.State]int{}
	for _, e := range entries {
		counts[e.State]++
	}
	if *asJSON {
		type entry struct {
			File   string      `json:"file"`
			State  study.State `json:"state"`
			Detail string      `json:"detail,omitempty"`
		}
		list := make([]entry, len(entries))
		for i, e := range entries {
			list[i] = entry{e.File, e.State, e.Detail}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(list); err != nil {
			fmt.Fprintln(stderr, "facemirror report:", err)
			return 1
		}
	} else {
		for _, e := range entries {
			// Done inputs are listed only when there is something to
			// know about them; a study has thousands.
			if e.State == study.Done && e.Detail == "" {
				continue
			}
			fmt.Fprintf(stdout, "%-7s %s", e.State, e.File)
			if e.Detail != "" {
				fmt.Fprintf(stdout, ": %s", e.Detail)
			}
			fmt.Fprintln(stdout)
		}
		fmt.Fprintf(stdout, "%d inputs: %d done, %d failed, %d missing\n", len(entries), counts[study.Done], counts[study.Failed], counts[study.Missing])
	}
	if counts[study.Done] != len(entries) {
		return 1
	}
	return 0
}
