package clnf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"facemirror/internal/sharedtest"
)

// TestLoadStructure checks what Load assembles from main_clnf_general.txt:
// three scales for the main model, the three part models with their index
// maps and settings, and the kernel tables.
func TestLoadStructure(t *testing.T) {
	m := testModel(t)
	if got := m.NumPoints(); got != 68 {
		t.Errorf("main model has %d points, want 68", got)
	}
	if got := len(m.main.scales); got != 3 {
		t.Fatalf("main model has %d scales, want 3", got)
	}
	for i, want := range []float64{0.25, 0.35, 0.5} {
		if got := m.main.scales[i].PatchScaling; got != want {
			t.Errorf("scale %d: patch scaling %v, want %v", i, got, want)
		}
	}
	type partWant struct {
		name           string
		points, modes  int
		scales         int
		firstMain      int
		firstPart      int
		pairs          int
		windows        []int
		reg, sigma, wf float32
	}
	wants := []partWant{
		{"inner", 51, 32, 1, 17, 0, 51, []int{9}, 2.5, 1.75, 2.5},
		{"left_eye_28", 28, 10, 2, 36, 8, 6, []int{3, 5, 9}, 0.5, 1, 0},
		{"right_eye_28", 28, 10, 2, 42, 8, 6, []int{3, 5, 9}, 0.5, 1, 0},
	}
	if len(m.parts) != len(wants) {
		t.Fatalf("%d part models, want %d", len(m.parts), len(wants))
	}
	for i, w := range wants {
		p := m.parts[i]
		if p.name != w.name || p.pdm.NumPoints() != w.points || p.pdm.NumModes() != w.modes || len(p.scales) != w.scales {
			t.Errorf("part %d: %s with %d points, %d modes, %d scales; want %+v", i, p.name, p.pdm.NumPoints(), p.pdm.NumModes(), len(p.scales), w)
		}
		if len(p.mapping) != w.pairs || p.mapping[0] != [2]int{w.firstMain, w.firstPart} {
			t.Errorf("part %s: mapping %v, want %d pairs starting (%d, %d)", p.name, p.mapping, w.pairs, w.firstMain, w.firstPart)
		}
		s := p.set
		if len(s.windowsInit) != len(w.windows) || s.reg != w.reg || s.sigma != w.sigma || s.weightFactor != w.wf || s.validate || s.refineHierarchical || s.refineParameters {
			t.Errorf("part %s: settings %+v", p.name, s)
		}
	}
	for _, ws := range []int{11, 9, 7} {
		if m.main.kde[ws] == nil {
			t.Errorf("main model has no kernel table for window %d", ws)
		}
	}
	for _, ws := range []int{3, 5} {
		if m.parts[1].kde[ws] == nil {
			t.Errorf("left eye has no kernel table for window %d", ws)
		}
	}
}

// TestLoadErrors feeds Load broken description files.
func TestLoadErrors(t *testing.T) {
	models := filepath.Join(sharedtest.Models(t), "model")
	cases := []struct {
		name, content, wantErr string
	}{
		{"no detector", "DetectionValidator " + filepath.Join(models, "detection_validation/validator_cnn.txt") + "\n", "names no LandmarkDetector"},
		{"odd pairs", "LandmarkDetector_part " + filepath.Join(models, "model_inner/main_clnf_inner.txt") + " inner 17 0 18\n", "even count"},
		{"bad index", "LandmarkDetector_part " + filepath.Join(models, "model_inner/main_clnf_inner.txt") + " inner 17 x\n", "index \"x\""},
		{"unknown part", "LandmarkDetector_part " + filepath.Join(models, "model_inner/main_clnf_inner.txt") + " mouth 17 0\n", "unsupported part"},
		{"missing clnf", "LandmarkDetector nowhere.txt\n", "nowhere.txt"},
		{"index out of range", "LandmarkDetector " + filepath.Join(models, "clnf_general.txt") + "\nLandmarkDetector_part " + filepath.Join(models, "model_inner/main_clnf_inner.txt") + " inner 68 0\n", "out of range"},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Paths in a description are relative to it: rewrite the
			// absolute ones as relative.
			content := strings.ReplaceAll(c.content, models+"/", mustRel(t, dir, models)+"/")
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".txt")
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("Load of %q: %v, want an error mentioning %q", content, err, c.wantErr)
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "absent.txt")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want a not-exist error", err)
	}
}

func mustRel(t *testing.T, from, to string) string {
	t.Helper()
	r, err := filepath.Rel(from, to)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
