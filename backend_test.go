package main

import (
	"testing"

	"facemirror/app/export"
	"facemirror/app/job"
	"facemirror/ui/backend"
)

func TestExportVideo(t *testing.T) {
	for _, tc := range []struct {
		name    string
		outputs []string
		want    export.Video
	}{
		{"full", []string{
			"/o/p1.csv", "/o/p1_right_mirrored.mp4", "/o/p1_left_mirrored.mp4", "/o/p1_debug.mp4",
			"/o/p1_right_mirrored.csv", "/o/p1_left_mirrored.csv", "/o/p1_asymmetry.csv", "/o/p1_summary.csv",
			"/o/p1_facemirror.json",
		}, export.Video{Name: "p1.mp4", Source: "/o/p1.csv", Left: "/o/p1_left_mirrored.csv",
			Right: "/o/p1_right_mirrored.csv", Summary: "/o/p1_summary.csv"}},
		{"aus", []string{"/o/p1.csv", "/o/p1_facemirror.json"}, export.Video{Name: "p1.mp4", Source: "/o/p1.csv"}},
		{"mirror", []string{"/o/p1_left_mirrored.mp4", "/o/p1_right_mirrored.mp4", "/o/p1_debug.mp4"}, export.Video{Name: "p1.mp4"}},
		// Another input's CSV in the same folder is not this one's.
		{"other stem", []string{"/o/p10.csv"}, export.Video{Name: "p1.mp4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := exportVideo(backend.FileResult{Path: "/in/p1.mp4", Outputs: tc.outputs})
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestJobOptions(t *testing.T) {
	for mode, want := range map[backend.Mode]job.Mode{
		backend.ModeFull: job.ModeFull, backend.ModeMirror: job.ModeMirror, backend.ModeAUs: job.ModeAUs,
	} {
		o, err := jobOptions(backend.RunSettings{Mode: mode, OutDir: "/o", Workers: 3})
		if err != nil || o.Mode != want || o.OutDir != "/o" || o.Workers != 3 {
			t.Errorf("%s: %+v, %v", mode, o, err)
		}
	}
	if _, err := jobOptions(backend.RunSettings{Mode: "fast"}); err == nil {
		t.Error("an unknown mode was accepted")
	}
}
