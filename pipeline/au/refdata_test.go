package au

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"facemirror/internal/reference"
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

// refInputs are the AU stage's per-frame inputs from the reference dumps.
type refInputs struct {
	success []bool
	local   [][]float32 // fa_p_0..33; nil on failed frames
}

func loadInputs(t testing.TB, v refVideo) refInputs {
	t.Helper()
	fr := reference.Frames(t, v.name)
	in := refInputs{success: make([]bool, len(fr.Rows)), local: make([][]float32, len(fr.Rows))}
	for r := range fr.Rows {
		in.success[r] = fr.Flag(t, r, "success")
		if fr.Str(t, r, "fa_p_0") == "" {
			if in.success[r] {
				t.Fatalf("%s frame %d: successful frame without fa_p_*", v.short, r)
			}
			continue
		}
		loc := make([]float32, 34)
		for j := range loc {
			loc[j] = fr.F32(t, r, "fa_p_"+strconv.Itoa(j))
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
