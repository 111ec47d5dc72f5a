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
		EyePDMs: [2]string{
			filepath.Join(dir, "model", "model_eye", "pdms", "pdm_28_l_eye_3D_closed.txt"),
			filepath.Join(dir, "model", "model_eye", "pdms", "pdm_28_eye_3D_closed.txt"),
		},
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
	for i, want := range []struct{ points, modes int }{{28, 10}, {28, 10}} {
		if md := m.EyePDM(i); md.NumPoints() != want.points || md.NumModes() != want.modes {
			t.Errorf("%s PDM: %d points, %d modes", eyeParts[i], md.NumPoints(), md.NumModes())
		}
	}
	// OpenFace's columns in OpenFace's order.
	l := m.Layout()
	cols := l.Columns()
	ref, err := os.ReadFile(refCSVPath(t, v01))
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(ref), "\n")
	if !l.Gaze || l.EyeLandmarks != 56 || strings.Join(cols, ",") != head {
		t.Fatalf("layout: gaze %v, %d eye landmarks, %d columns %s … %s, want the reference's %d",
			l.Gaze, l.EyeLandmarks, len(cols), cols[5], cols[len(cols)-1], len(strings.Split(head, ",")))
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
		{"no eye models", map[string]string{"model/main_clnf_general.txt": "LandmarkDetector clnf_general.txt\nLandmarkDetector_part model_inner/main_clnf_inner.txt inner 17 0\n"}, ErrModelConfig, "left_eye_28"},
		{"eye model file without its CLNF", map[string]string{"model/main_clnf_general.txt": "LandmarkDetector clnf_general.txt\n" +
			"LandmarkDetector_part model_eye/main_clnf_synth_left.txt left_eye_28 36 8 37 10\n" +
			"LandmarkDetector_part model_eye/clnf_right_synth.txt right_eye_28 42 8 43 10\n"}, ErrModelConfig, "clnf_right_synth.txt"},
		{"eye index out of range", map[string]string{"model/main_clnf_general.txt": "LandmarkDetector clnf_general.txt\n" +
			"LandmarkDetector_part model_eye/main_clnf_synth_left.txt left_eye_28 36 8 37 28\n"}, ErrModelConfig, "main_clnf_general.txt"},
		{"odd eye indices", map[string]string{"model/main_clnf_general.txt": "LandmarkDetector clnf_general.txt\n" +
			"LandmarkDetector_part model_eye/main_clnf_synth_left.txt left_eye_28 36 8 37\n"}, ErrModelConfig, "main_clnf_general.txt"},
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
