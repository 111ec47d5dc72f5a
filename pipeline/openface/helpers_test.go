package openface

import (
	"context"
	"testing"

	"gocv.io/x/gocv"

	"facemirror/internal/sharedtest"
	"facemirror/pipeline/openfacecsv"
	"facemirror/pipeline/video"
)

// firstFrames decodes the first n frames of v01 and returns them with
// OpenFace's full-precision landmarks for them. The caller closes the Mats.
func firstFrames(t testing.TB, n int) ([]gocv.Mat, []Landmarks) {
	t.Helper()
	lms, _ := fullPrecLandmarks(t, v01)
	rd, err := video.Open(context.Background(), sharedtest.Media(t, v01.media))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	imgs := make([]gocv.Mat, n)
	for i := range imgs {
		f, err := rd.Read()
		if err != nil {
			t.Fatal(err)
		}
		imgs[i] = f.Mat
	}
	return imgs, lms[:n]
}

// scoreFrames analyses and sequences the given frames (as a 30 fps video).
func scoreFrames(t testing.TB, m *Models, imgs []gocv.Mat, lms []Landmarks) []openfacecsv.Row {
	t.Helper()
	seq, err := NewSequence(m, video.Info{Kind: video.Video, FPS: video.Rational{Num: 30, Den: 1}})
	if err != nil {
		t.Fatal(err)
	}
	an := m.NewAnalyser()
	for i, lm := range lms {
		r, err := an.Analyse(imgs[i], lm)
		if err != nil {
			t.Fatal(err)
		}
		if err := seq.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := seq.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
