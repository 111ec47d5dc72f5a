package au

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"facemirror/internal/sharedtest"
	"facemirror/pipeline/fhog"
	"facemirror/pipeline/pdm"
)

// refVideo names a video with full-precision reference dumps.
type refVideo struct {
	short, name string
}

var refVideos = []refVideo{
	{"v01", "v01_talking_frontal_glasses_480x360"},
	{"v02", "v02_emotions_sad_to_laughing_640x360_pexels"},
	{"v04", "v04_eyeclosure_cheekpuff_smile_glasses_512x480"},
}

// table is a CSV file with a header.
type table struct {
	path string
	col  map[string]int
	rows [][]string
}

func readTable(t testing.TB, path string) *table {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tb := &table{path: path, col: map[string]int{}, rows: recs[1:]}
	for i, h := range recs[0] {
		tb.col[h] = i
	}
	return tb
}

func fullprec(t testing.TB, v refVideo, suffix string) *table {
	t.Helper()
	return readTable(t, sharedtest.Reference(t, "fullprec/"+v.name+"_"+suffix+".csv"))
}

func (tb *table) index(t testing.TB, name string) int {
	t.Helper()
	i, ok := tb.col[name]
	if !ok {
		t.Fatalf("%s: no column %q", tb.path, name)
	}
	return i
}

func (tb *table) str(t testing.TB, row int, name string) string {
	t.Helper()
	return tb.rows[row][tb.index(t, name)]
}

// f64 parses a %.17g value.
func (tb *table) f64(t testing.TB, row int, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(tb.str(t, row, name), 64)
	if err != nil {
		t.Fatalf("%s row %d %s: %v", tb.path, row, name, err)
	}
	return v
}

// f32 parses a %.9g float value as float32, which gives it back exactly.
func (tb *table) f32(t testing.TB, row int, name string) float32 {
	t.Helper()
	v, err := strconv.ParseFloat(tb.str(t, row, name), 32)
	if err != nil {
		t.Fatalf("%s row %d %s: %v", tb.path, row, name, err)
	}
	return float32(v)
}

func (tb *table) flag(t testing.TB, row int, name string) bool {
	t.Helper()
	return tb.str(t, row, name) == "1"
}

// refInputs are the AU stage's per-frame inputs from the reference dumps.
type refInputs struct {
	success []bool
	local   [][]float32 // fa_p_0..33; nil on failed frames
}

func loadInputs(t testing.TB, v refVideo) refInputs {
	t.Helper()
	fr := fullprec(t, v, "frames")
	in := refInputs{success: make([]bool, len(fr.rows)), local: make([][]float32, len(fr.rows))}
	for r := range fr.rows {
		in.success[r] = fr.flag(t, r, "success")
		if fr.str(t, r, "fa_p_0") == "" {
			if in.success[r] {
				t.Fatalf("%s frame %d: successful frame without fa_p_*", v.short, r)
			}
			continue
		}
		loc := make([]float32, 34)
		for j := range loc {
			loc[j] = fr.f32(t, r, "fa_p_"+strconv.Itoa(j))
		}
		in.local[r] = loc
	}
	return in
}

var (
	modelOnce sync.Once
	modelPred *Predictors
	modelPDM  *pdm.Model
	modelErr  error
)

// loadModels reads the shared AU predictors and PDM once per test binary.
func loadModels(t testing.TB) (*Predictors, *pdm.Model) {
	t.Helper()
	dir := sharedtest.Models(t)
	modelOnce.Do(func() {
		modelPred, modelErr = LoadPredictors(filepath.Join(dir, "AU_predictors", "AU_all_best.txt"))
		if modelErr == nil {
			modelPDM, modelErr = pdm.Load(filepath.Join(dir, "AU_predictors", "In-the-wild_aligned_PDM_68.txt"))
		}
	})
	if modelErr != nil {
		t.Fatal(modelErr)
	}
	return modelPred, modelPDM
}

// v01HOG returns the descriptors of OpenFace's v01 .hog file.
func v01HOG(t testing.TB) []fhog.Frame {
	t.Helper()
	path := sharedtest.Reference(t, "v01_talking_frontal_glasses_480x360/v01_talking_frontal_glasses_480x360.hog")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	frames, err := fhog.ReadHOGFile(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return frames
}
