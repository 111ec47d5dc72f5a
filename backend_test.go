package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"facemirror/app/export"
	"facemirror/app/job"
	"facemirror/internal/sharedtest"
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

// Review reads a finished full run's CSVs and summary, and picks the
// videos whose frames the window shows.
func TestReview(t *testing.T) {
	dir := t.TempDir()
	ref := sharedtest.Reference(t, "v01_talking_frontal_glasses_480x360/v01_talking_frontal_glasses_480x360.csv")
	csvData, err := os.ReadFile(ref)
	if err != nil {
		t.Fatal(err)
	}
	var outputs []string
	for _, name := range []string{"p1.csv", "p1_left_mirrored.csv", "p1_right_mirrored.csv"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, csvData, 0o644); err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, p)
	}
	summary := filepath.Join(dir, "p1_summary.csv")
	if err := os.WriteFile(summary, []byte("item,kind,frames,mean_left,mean_right,mean_abs_diff,asymmetry_index\nAU01,au,300,0.1469,0.1000,0.2235,0.1900\nupper,region,300,0.1,0.1,0.0,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, summary, filepath.Join(dir, "p1_left_mirrored.mp4"), filepath.Join(dir, "p1_right_mirrored.mp4"), filepath.Join(dir, "p1_debug.mp4"))
	b := desktopBackend{}
	rev, err := b.Review(context.Background(), backend.FileResult{Path: "/in/p1.mp4", Outputs: outputs})
	if err != nil {
		t.Fatal(err)
	}
	if len(rev.Names) != 17 || rev.Frames != 300 || len(rev.Sides) != 3 || rev.Sides[1].Side != backend.SideLeft || len(rev.Sides[2].Intensity) != 300 {
		t.Errorf("review: %d AUs, %d frames, %d sides", len(rev.Names), rev.Frames, len(rev.Sides))
	}
	if rev.Source != filepath.Join(dir, "p1_debug.mp4") || rev.Left != filepath.Join(dir, "p1_left_mirrored.mp4") || rev.Right != filepath.Join(dir, "p1_right_mirrored.mp4") {
		t.Errorf("videos %q %q %q", rev.Source, rev.Left, rev.Right)
	}
	want := []backend.SummaryRow{
		{Item: "AU01", Kind: "au", Frames: "300", MeanLeft: "0.1469", MeanRight: "0.1000", MeanAbsDiff: "0.2235", Asymmetry: "0.1900"},
		{Item: "upper", Kind: "region", Frames: "300", MeanLeft: "0.1", MeanRight: "0.1", MeanAbsDiff: "0.0"},
	}
	if !slices.Equal(rev.Summary, want) {
		t.Errorf("summary %+v, want %+v", rev.Summary, want)
	}
	if _, err := b.Review(context.Background(), backend.FileResult{Path: "/in/p2.mp4"}); err == nil {
		t.Error("a result without outputs gave a review")
	}
}
