package au

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"facemirror/internal/reference"
	"facemirror/internal/sharedtest"
)

func TestLoadPredictorsMatchesModelTable(t *testing.T) {
	p, _ := loadModels(t)
	wantI := []string{"AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12", "AU14", "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU45"}
	wantO := append(append([]string(nil), wantI[:16]...), "AU28", "AU45")
	if got := strings.Join(p.IntensityNames(), " "); got != strings.Join(wantI, " ") {
		t.Errorf("intensity AUs %s, want %s", got, strings.Join(wantI, " "))
	}
	if got := strings.Join(p.OccurrenceNames(), " "); got != strings.Join(wantO, " ") {
		t.Errorf("occurrence AUs %s, want %s", got, strings.Join(wantO, " "))
	}
	// au_models.csv lists kind, dynamic flag and cutoff as OpenFace read them.
	tb := reference.ReadTable(t, sharedtest.Reference(t, "fullprec/au_models.csv"))
	byKey := map[string]Predictor{}
	for _, pr := range append(append([]Predictor(nil), p.Intensity...), p.Occurrence...) {
		byKey[pr.Kind.String()+" "+pr.AU] = pr
	}
	for r := range tb.Rows {
		key := tb.Str(t, r, "kind") + " " + tb.Str(t, r, "au")
		pr, ok := byKey[key]
		if !ok {
			t.Errorf("%s missing", key)
			continue
		}
		if dyn := tb.Flag(t, r, "dynamic"); pr.Dynamic != dyn {
			t.Errorf("%s dynamic %v, want %v", key, pr.Dynamic, dyn)
		}
		want := NoCutoff
		if s := tb.Str(t, r, "cutoff"); s != "" {
			want = tb.F64(t, r, "cutoff")
		}
		if pr.Cutoff != want {
			t.Errorf("%s cutoff %v, want %v", key, pr.Cutoff, want)
		}
		if !strings.HasSuffix(pr.File, ".dat") || len(pr.Weights) != FeatureLen || len(pr.Means) != FeatureLen {
			t.Errorf("%s: file %q, %d weights, %d means", key, pr.File, len(pr.Weights), len(pr.Means))
		}
		if pr.Kind == Occurrence && pr.PosClass+pr.NegClass != 1 {
			t.Errorf("%s: class values %v/%v", key, pr.PosClass, pr.NegClass)
		}
	}
	if len(tb.Rows) != len(byKey) {
		t.Errorf("%d predictors, au_models.csv has %d", len(byKey), len(tb.Rows))
	}
}

// predictorDir makes a temporary predictor folder holding a list and .dat
// files given by name.
func predictorDir(t *testing.T, list string, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lp := filepath.Join(dir, "list.txt")
	if err := os.WriteFile(lp, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	return lp
}

func sharedDat(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedtest.Models(t), "AU_predictors", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadPredictorsErrors(t *testing.T) {
	svr := sharedDat(t, "svr_combined/AU_1_dynamic_intensity_comb.dat") // type 1, with cutoff
	svm := sharedDat(t, "svm_combined/AU_4_static.dat")                 // type 4, with class values
	patch := func(b []byte, off int, v []byte) []byte {
		c := append([]byte(nil), b...)
		copy(c[off:], v)
		return c
	}
	le32 := func(v int32) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(v)) }
	le64 := func(v float64) []byte { return binary.LittleEndian.AppendUint64(nil, math.Float64bits(v)) }

	cases := []struct {
		name     string
		list     string
		files    map[string][]byte
		sentinel error
		mention  string
	}{
		{"missing list", "", nil, fs.ErrNotExist, "list.txt"},
		{"missing dat", "a/AU_1.dat AU01\n", nil, fs.ErrNotExist, "AU_1.dat"},
		{"empty list", "\n\n", nil, ErrModel, "no predictors"},
		{"no AU name", "a.dat\n", nil, ErrModel, "line 1"},
		{"duplicate AU", "a.dat AU01\nb.dat AU01\n", map[string][]byte{"a.dat": svr, "b.dat": svr}, ErrModel, "both"},
		{"unknown type", "a.dat AU01\n", map[string][]byte{"a.dat": patch(svr, 0, le32(2))}, ErrModel, "type 2"},
		{"wrong means size", "a.dat AU01\n", map[string][]byte{"a.dat": patch(svr, 16, le32(4464))}, ErrModel, "means is 1×4464"},
		{"wrong matrix type", "a.dat AU01\n", map[string][]byte{"a.dat": patch(svr, 20, le32(5))}, ErrModel, "type 5"},
		{"NaN weight", "a.dat AU01\n", map[string][]byte{"a.dat": patch(svr, 24+8*FeatureLen+12+800, le64(math.NaN()))}, ErrModel, "non-finite"},
		{"bad cutoff", "a.dat AU01\n", map[string][]byte{"a.dat": patch(svr, 4, le64(1.5))}, ErrModel, "cutoff"},
		{"empty dat", "a.dat AU01\n", map[string][]byte{"a.dat": {}}, ErrModel, "ends in the type"},
	}
	// Every truncation point of both layouts must give an error, never a
	// panic or a short predictor.
	for _, src := range []struct {
		name string
		data []byte
	}{{"svr", svr}, {"svm", svm}} {
		for _, n := range []int{1, 3, 4, 7, 11, 12, 20, 23, 100, 24 + 8*FeatureLen, 24 + 8*FeatureLen + 11, len(src.data) - 9, len(src.data) - 1} {
			cases = append(cases, struct {
				name     string
				list     string
				files    map[string][]byte
				sentinel error
				mention  string
			}{"truncated " + src.name + " " + strconv.Itoa(n), "x.dat AU01\n", map[string][]byte{"x.dat": src.data[:n]}, ErrModel, "ends in"})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lp := predictorDir(t, c.list, c.files)
			if c.name == "missing list" {
				lp = filepath.Join(filepath.Dir(lp), "nothere", "list.txt")
			}
			p, err := LoadPredictors(lp)
			if err == nil {
				t.Fatalf("loaded %d+%d predictors, want an error", len(p.Intensity), len(p.Occurrence))
			}
			if !errors.Is(err, c.sentinel) {
				t.Errorf("error %q does not wrap %v", err, c.sentinel)
			}
			if !strings.Contains(err.Error(), c.mention) {
				t.Errorf("error %q does not mention %q", err, c.mention)
			}
			if len(c.files) == 1 {
				for name := range c.files {
					if !strings.Contains(err.Error(), filepath.Join(filepath.Dir(lp), name)) {
						t.Errorf("error %q does not name the file %s", err, name)
					}
				}
			}
		})
	}
}

// TestMeansSharedPerGroup checks OpenFace's rule that a group of
// predictors (kind, dynamic) uses the means of its first file.
func TestMeansSharedPerGroup(t *testing.T) {
	a := sharedDat(t, "svr_combined/AU_4_static_intensity_comb.dat")
	b := sharedDat(t, "svr_combined/AU_1_static_intensity.dat") // different means
	lp := predictorDir(t, "a.dat AU04\nb.dat AU01\n", map[string][]byte{"a.dat": a, "b.dat": b})
	p, err := LoadPredictors(lp)
	if err != nil {
		t.Fatal(err)
	}
	own, err := ReadPredictor(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	byAU := map[string]Predictor{}
	for _, pr := range p.Intensity {
		byAU[pr.AU] = pr
	}
	if sameValues(own.Means, byAU["AU04"].Means) {
		t.Fatal("the test files have equal means")
	}
	if !sameValues(byAU["AU01"].Means, byAU["AU04"].Means) {
		t.Error("AU01 (read second) does not use the means of AU04, the group's first file")
	}
}
