package clnf

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"facemirror/internal/sharedtest"
	"facemirror/pipeline/video"

	"gocv.io/x/gocv"
)

// A tracker whose model takes its Sigmas from a cache written by
// WriteSigmaCache, or also its weight panels (LoadPrepared with the
// tables of WritePanelTables), tracks exactly as one that computes them:
// the same landmarks, bit for bit, through v04's detection (all
// hypotheses, window 11) and tracking with the part models. Writing the
// cache again keeps the valid tables; a damaged table is refused,
// reported, and computed instead.
func TestSigmaCache(t *testing.T) {
	path := filepath.Join(sharedtest.Models(t), "model", "main_clnf_general.txt")
	dir := t.TempDir()
	writer, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := writer.WriteSigmaCache(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	uses := writer.sigmaUses()
	var size int64
	for _, u := range uses {
		st, err := os.Stat(filepath.Join(dir, u.file))
		if err != nil {
			t.Fatal(err)
		}
		size += st.Size()
	}
	t.Logf("%d tables, %.1f MB, written in %v", len(uses), float64(size)/1e6, time.Since(start).Round(time.Millisecond))

	cached, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := cached.UseSigmaCache(dir)
	if err != nil || n != len(uses) {
		t.Fatalf("UseSigmaCache: %d of %d tables, %v", n, len(uses), err)
	}

	// Damage one table (a new file: the old one is mapped, and cutting a
	// mapped file short would fault its readers); a second write replaces
	// just that one.
	damaged := filepath.Join(dir, uses[0].file)
	if err := os.WriteFile(damaged+".new", []byte("not a table"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(damaged+".new", damaged); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, uses[1].file)
	before, _ := os.Stat(other)
	partial, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := partial.UseSigmaCache(dir); err == nil || n != len(uses)-1 {
		t.Errorf("with a damaged table: %d attached, error %v", n, err)
	}
	if err := writer.WriteSigmaCache(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(other); !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("a valid table was rewritten")
	}
	if n, err := mustLoad(t, path).UseSigmaCache(dir); err != nil || n != len(uses) {
		t.Errorf("after the repair: %d attached, %v", n, err)
	}

	if err := writer.WritePanelTables(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	panels, _ := filepath.Glob(filepath.Join(dir, "*.panels"))
	if len(panels) != 8 {
		t.Fatalf("%d panel tables, want one per scale of the main model and the three parts (8): %v", len(panels), panels)
	}
	before, _ = os.Stat(panels[0])
	if err := writer.WritePanelTables(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(panels[0]); !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("a valid panel table was rewritten")
	}
	prepared, tableErr, err := LoadPrepared(path, dir)
	if err != nil || tableErr != nil {
		t.Fatalf("LoadPrepared: %v, tables: %v", err, tableErr)
	}

	rd, err := video.Open(context.Background(), sharedtest.Media(t, "videos/"+testVideos["v04"]+".mp4"))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	det := testDetector(t)
	trackers := []*Tracker{NewTracker(mustLoad(t, path), det), NewTracker(cached, det), NewTracker(partial, det), NewTracker(prepared, det)}
	mat := gocv.NewMat()
	defer mat.Close()
	for f := 0; f < 12; f++ {
		if _, err := rd.ReadInto(&mat); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		var want Result
		for k, tr := range trackers {
			got, err := tr.Track(context.Background(), mat)
			if err != nil {
				t.Fatal(err)
			}
			if k == 0 {
				want = got
				continue
			}
			if got.Landmarks != want.Landmarks || got.Confidence != want.Confidence {
				t.Fatalf("frame %d, tracker %d: landmarks differ from computed Sigmas (%.3g px)", f, k, meanDist(got.Landmarks[:], want.Landmarks[:]))
			}
		}
	}
}

func mustLoad(t *testing.T, path string) *Model {
	t.Helper()
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
