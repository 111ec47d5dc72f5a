package openface

import (
	"context"
	"sync"
	"testing"
	"time"

	"facemirror/internal/sharedtest"
	"facemirror/pipeline/au"
	"facemirror/pipeline/fhog"
	"facemirror/pipeline/openfacecsv"
	"facemirror/pipeline/pdm"
	"facemirror/pipeline/video"
)

// BenchmarkAnalyse times the per-frame work on v01 frame 0 (480×360),
// whole and split into its stages.
func BenchmarkAnalyse(b *testing.B) {
	m := testModels(b)
	img, lms := firstFrames(b, 1)
	defer img[0].Close()
	frame, lm := img[0], lms[0]

	b.Run("all", func(b *testing.B) {
		an := m.NewAnalyser()
		for b.Loop() {
			if _, err := an.Analyse(frame, lm); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pose+3D", func(b *testing.B) {
		cam := pdm.DefaultCamera(frame.Cols(), frame.Rows())
		g := globalOf(lm.Global)
		for b.Loop() {
			if _, err := m.lmPDM.HeadPose(lm.Points, g, lm.Local, cam); err != nil {
				b.Fatal(err)
			}
			if _, err := m.lmPDM.CameraShape(lm.Points, g, lm.Local, cam); err != nil {
				b.Fatal(err)
			}
		}
	})
	fit, err := m.auPDM.CalcParams(lm.Points, pdm.Euler{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("refit", func(b *testing.B) {
		for b.Loop() {
			if _, err := m.auPDM.CalcParams(lm.Points, pdm.Euler{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("align+mask", func(b *testing.B) {
		for b.Loop() {
			face, err := m.aligner.Align(frame, lm.Points, fit.Global)
			if err != nil {
				b.Fatal(err)
			}
			face.Close()
		}
	})
	face, err := m.aligner.Align(frame, lm.Points, fit.Global)
	if err != nil {
		b.Fatal(err)
	}
	defer face.Close()
	pix, err := face.DataPtrUint8()
	if err != nil {
		b.Fatal(err)
	}
	var ext fhog.Extractor
	hog := make([]float32, au.HOGLen)
	b.Run("fhog", func(b *testing.B) {
		for b.Loop() {
			if _, err := ext.Extract(hog, pix, face.Cols(), face.Rows(), face.Cols()*3); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The AU stage's per-frame share, which runs in order in the Sequence:
	// running-median update (every other frame) and online prediction.
	b.Run("predict", func(b *testing.B) {
		an, err := au.NewAnalyser(m.predictors, m.auPDM)
		if err != nil {
			b.Fatal(err)
		}
		f := au.Frame{HOG: hog, Local: fit.Local, Success: true}
		for b.Loop() {
			if _, err := an.Add(f); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLandmarksFromCSV times reading v02's 472 CSV rows with the
// recovery of precision, per row.
func BenchmarkLandmarksFromCSV(b *testing.B) {
	m := testModels(b)
	f, err := openfacecsv.ReadFile(refCSVPath(b, v02))
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for b.Loop() {
		if _, err := m.LandmarksFromCSV(context.Background(), f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N)/float64(len(f.Rows)), "ns/row")
}

var (
	v02Once    sync.Once
	v02Results []FrameResult
	v02Info    video.Info
)

// v02FrameResults analyses every frame of v02 once per test binary.
func v02FrameResults(b *testing.B) ([]FrameResult, video.Info) {
	b.Helper()
	m := testModels(b)
	lms, _ := fullPrecLandmarks(b, v02)
	path := sharedtest.Media(b, v02.media)
	v02Once.Do(func() {
		rd, err := video.Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		defer rd.Close()
		v02Info = rd.Info()
		an := m.NewAnalyser()
		for _, lm := range lms {
			f, err := rd.Read()
			if err != nil {
				b.Fatal(err)
			}
			r, err := an.Analyse(f.Mat, lm)
			f.Mat.Close()
			if err != nil {
				b.Fatal(err)
			}
			v02Results = append(v02Results, r)
		}
	})
	if len(v02Results) != len(lms) {
		b.Fatal("v02 frame results missing")
	}
	return v02Results, v02Info
}

// BenchmarkSequence times the in-order part for v02's 472 frames: adding
// the frames (running medians, online predictions) and finishing
// (re-prediction with the final medians, offsets, smoothing, rows).
func BenchmarkSequence(b *testing.B) {
	m := testModels(b)
	results, info := v02FrameResults(b)
	perFrame := func(b *testing.B, d time.Duration) {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N)/float64(len(results)), "ns/frame")
	}
	b.Run("add", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			seq, err := NewSequence(m, info)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range results {
				if err := seq.Add(r); err != nil {
					b.Fatal(err)
				}
			}
		}
		perFrame(b, time.Since(start))
	})
	seq, err := NewSequence(m, info)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range results {
		if err := seq.Add(r); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("finish", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			if _, err := seq.Finish(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		perFrame(b, time.Since(start))
	})
}
