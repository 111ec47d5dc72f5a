package pdm

import (
	"path/filepath"
	"testing"

	"facemirror/internal/sharedtest"
)

// refVideos are the videos with full-precision reference dumps.
var refVideos = []struct {
	short, name string
	w, h        int
}{
	{"v01", "v01_talking_frontal_glasses_480x360", 480, 360},
	{"v02", "v02_emotions_sad_to_laughing_640x360_pexels", 640, 360},
	{"v04", "v04_eyeclosure_cheekpuff_smile_glasses_512x480", 512, 480},
}

func globalFrom(v []float32) Global {
	return Global{Scale: v[0], Rx: v[1], Ry: v[2], Rz: v[3], Tx: v[4], Ty: v[5]}
}

func loadMainPDM(t testing.TB) *Model {
	t.Helper()
	md, err := Load(filepath.Join(sharedtest.Models(t), "AU_predictors", "In-the-wild_aligned_PDM_68.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return md
}
