package study

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"facemirror/app/job"
	"facemirror/internal/atomicfile"
)

// recordFormat is the shard record's version, for readers of old files.
const recordFormat = 1

// Record is what a shard's run leaves in its output folder
// (RecordPath): each of its inputs and how it ended. The manifests say
// which inputs are done; the records also tell failed inputs, which have
// no manifest, from inputs no run has reached.
type Record struct {
	Format   int           `json:"format"`
	Version  string        `json:"version"`
	Mode     job.Mode      `json:"mode"`
	Shard    string        `json:"shard"`
	Started  time.Time     `json:"started"`
	Finished time.Time     `json:"finished"`
	Inputs   []RecordInput `json:"inputs"`
}

// RecordInput is one input of a shard and how its run ended.
type RecordInput struct {
	// File is the input's absolute path.
	File string `json:"file"`
	// Outcome is "done", "no_face", "damaged", "skipped" or "failed".
	Outcome string `json:"outcome"`
	// Error says why a failed input failed.
	Error string `json:"error,omitempty"`
}

// RecordPath is where the run of shard s in mode m records its inputs in
// the output folder dir.
func RecordPath(dir string, m job.Mode, s Shard) string {
	return filepath.Join(dir, fmt.Sprintf("facemirror_%s_shard_%d_of_%d.json", m, s.K, s.N))
}

// NewRecord makes the record of a shard's finished run from its report.
func NewRecord(version string, m job.Mode, s Shard, started time.Time, rep job.Report) Record {
	rec := Record{Format: recordFormat, Version: version, Mode: m, Shard: s.String(), Started: started.UTC(), Finished: time.Now().UTC()}
	for _, f := range rep.Files {
		in := RecordInput{File: absolute(f.File)}
		switch {
		case f.Err != nil:
			in.Outcome, in.Error = "failed", f.Err.Error()
		case f.Skipped:
			in.Outcome = "skipped"
		case f.Damaged():
			in.Outcome = "damaged"
		case f.NoFace():
			in.Outcome = "no_face"
		default:
			in.Outcome = "done"
		}
		rec.Inputs = append(rec.Inputs, in)
	}
	return rec
}

// Write writes the record to path atomically.
func (r Record) Write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("shard record: %w", err)
	}
	if err := atomicfile.WriteBytes(path, append(b, '\n')); err != nil {
		return fmt.Errorf("shard record: %w", err)
	}
	return nil
}

// readRecords reads the records of mode m in dir, oldest run first. An
// unreadable record is an error: the account would be wrong without it.
func readRecords(dir string, m job.Mode) ([]Record, error) {
	paths, err := filepath.Glob(filepath.Join(dir, fmt.Sprintf("facemirror_%s_shard_*_of_*.json", m)))
	if err != nil {
		return nil, err
	}
	var recs []Record
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("shard record: %w", err)
		}
		var r Record
		if err := json.Unmarshal(b, &r); err != nil || r.Format != recordFormat {
			return nil, fmt.Errorf("shard record %s: not a record of this version of FaceMirror", p)
		}
		recs = append(recs, r)
	}
	sort.SliceStable(recs, func(a, b int) bool { return recs[a].Finished.Before(recs[b].Finished) })
	return recs, nil
}

// State is where an input of a study stands.
type State string

// The states Check reports.
const (
	// Done: its outputs are complete (its manifest records a complete run
	// of this mode and version on this very input).
	Done State = "done"
	// Failed: the last run that reached it failed; Entry.Detail says why.
	Failed State = "failed"
	// Missing: no run has completed it, and none recorded a failure.
	Missing State = "missing"
)

// Entry is one input's state in a study.
type Entry struct {
	File  string
	State State
	// Detail says why a failed input failed, or that a done one had no
	// face or missing frames.
	Detail string
}

// Check gives the state of each input of a study whose runs used opts
// (mode, codec, output folder, version): done from the manifests,
// failed from the shard records in opts.OutDir, missing otherwise. Each
// input is hashed, as --skip-existing does.
func Check(files []string, opts job.Options) ([]Entry, error) {
	last := map[string]RecordInput{}
	if opts.OutDir != "" {
		recs, err := readRecords(opts.OutDir, opts.Mode)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			for _, in := range r.Inputs {
				last[in.File] = in
			}
		}
	}
	done := job.Completed(files, opts)
	entries := make([]Entry, len(files))
	for i, f := range files {
		in, recorded := last[absolute(f)]
		e := Entry{File: f, State: Missing}
		switch {
		case done[i]:
			e.State = Done
			if recorded && (in.Outcome == "damaged" || in.Outcome == "no_face") {
				e.Detail = map[string]string{"damaged": "frames missing: the file is damaged", "no_face": "no face in any frame"}[in.Outcome]
			}
		case recorded && in.Outcome == "failed":
			e.State, e.Detail = Failed, in.Error
		}
		entries[i] = e
	}
	return entries, nil
}

// Inputs lists the inputs the shard records of mode m in dir name, in
// the order of the records and their inputs, each once.
func Inputs(dir string, m job.Mode) ([]string, error) {
	recs, err := readRecords(dir, m)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var files []string
	for _, r := range recs {
		for _, in := range r.Inputs {
			if !seen[in.File] {
				seen[in.File] = true
				files = append(files, in.File)
			}
		}
	}
	return files, nil
}

func absolute(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}
