package openface

import (
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"facemirror/internal/sharedtest"
	"facemirror/pipeline/pdm"
)

// TestLoadModels checks which files the configuration chain resolves to
// and the layout it gives.
func TestLoadModels(t *testing.T) {
	m := testModels(t)
	dir := sharedtest.Models(t)
	f := m.Files()
	want := ModelFiles{
		AUConfig:      filepath.Join(dir, "AU_predictors", "main_dynamic_svms.txt"),
		AUPredictors:  filepath.Join(dir, "AU_predictors", "AU_all_best.txt"),
		AUPDM:         filepath.Join(dir, "AU_predictors", "In-the-wild_aligned_PDM_68.txt"),
		Triangulation: filepath.Join(dir, "AU_predictors", "tris_68_full.txt"),
		LandmarkPDM:   filepath.Join(dir, "model", "pdms", "In-the-wild_aligned_PDM_68.txt"),
	}
	if f != want {
		t.Fatalf("files %+v, want %+v", f, want)
	}
	// The two PDMs OpenFace reads are the same file content.
	h := func(p string) [32]byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	if h(f.AUPDM) != h(f.LandmarkPDM) {
		t.Error("the AU and landmark PDMs differ")
	}
	l := m.Layout()
	cols := l.Columns()
	if l.Gaze || len(cols) != 426 || cols[5] != "pose_Tx" || cols[len(cols)-1] != "AU45_c" {
		t.Fatalf("layout: gaze %v, %d columns, %s … %s", l.Gaze, len(cols), cols[5], cols[len(cols)-1])
	}
	if got := len(m.Predictors().Intensity) + len(m.Predictors().Occurrence); got != 35 {
		t.Fatalf("%d predictors, want 35", got)
	}
}

// TestLoadModelsErrors checks that a missing or damaged model file is
// reported by name.
func TestLoadModelsErrors(t *testing.T) {
	src := sharedtest.Models(t)
	// mirror makes a model folder whose entries link to the shared files,
	// with some files replaced.
	mirror := func(t *testing.T, replace map[string]string) string {
		dir := t.TempDir()
		for _, sub := range []string{"AU_predictors", "model"} {
			entries, err := os.ReadDir(filepath.Join(src, sub))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				rel := sub + "/" + e.Name()
				dst := filepath.Join(dir, sub, e.Name())
				if text, ok := replace[rel]; ok {
					if text != "" {
						if err := os.WriteFile(dst, []byte(text), 0o644); err != nil {
							t.Fatal(err)
						}
					}
					continue
				}
				if err := os.Symlink(filepath.Join(src, sub, e.Name()), dst); err != nil {
					t.Fatal(err)
				}
			}
		}
		return dir
	}
	tests := []struct {
		name    string
		replace map[string]string
		is      error
		names   string
	}{
		{"no AU configuration", map[string]string{"AU_predictors/main_dynamic_svms.txt": ""}, fs.ErrNotExist, "main_dynamic_svms.txt"},
		{"configuration without PDM", map[string]string{"AU_predictors/main_dynamic_svms.txt": "AUPredictor AU_all_best.txt\nTriangulation tris_68_full.txt\n"}, ErrModelConfig, "main_dynamic_svms.txt"},
		{"damaged AU PDM", map[string]string{"AU_predictors/In-the-wild_aligned_PDM_68.txt": "# mean\n204\n1\n6\n1.0\n2.0\n"}, pdm.ErrFormat, "AU_predictors/In-the-wild_aligned_PDM_68.txt"},
		{"missing landmark PDM folder", map[string]string{"model/pdms": ""}, fs.ErrNotExist, "In-the-wild_aligned_PDM_68.txt"},
		{"missing triangulation", map[string]string{"AU_predictors/tris_68_full.txt": ""}, fs.ErrNotExist, "tris_68_full.txt"},
		{"missing predictor list", map[string]string{"AU_predictors/AU_all_best.txt": ""}, fs.ErrNotExist, "AU_all_best.txt"},
		{"missing predictor file", map[string]string{"AU_predictors/svr_combined": ""}, fs.ErrNotExist, "svr_combined"},
		{"no CLNF model", map[string]string{"model/main_clnf_general.txt": ""}, fs.ErrNotExist, "main_clnf_general.txt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadModels(mirror(t, tc.replace))
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
			if !strings.Contains(filepath.ToSlash(err.Error()), tc.names) {
				t.Errorf("error %q does not name %s", err, tc.names)
			}
		})
	}
	if _, err := LoadModels(filepath.Join(t.TempDir(), "nowhere")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing folder: %v", err)
	}
}
