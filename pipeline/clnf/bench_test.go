package clnf

import (
	"context"
	"io"
	"testing"

	"facemirror/internal/sharedtest"
	"facemirror/pipeline/video"

	"gocv.io/x/gocv"
)

// benchFrames decodes the first count BGR frames of a test video.
func benchFrames(b *testing.B, short string, count int) []gocv.Mat {
	b.Helper()
	rd, err := video.Open(context.Background(), sharedtest.Media(b, "videos/"+testVideos[short]+".mp4"))
	if err != nil {
		b.Fatal(err)
	}
	defer rd.Close()
	var out []gocv.Mat
	for len(out) < count {
		f, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, f.Mat)
	}
	return out
}

// BenchmarkTrack measures one tracked frame (windows 9/7, parts for the
// large v04 face, validator), after a detection on frame 0.
func BenchmarkTrack(b *testing.B) {
	m := testModel(b)
	det := testDetector(b)
	for _, short := range []string{"v01", "v04"} {
		b.Run(short, func(b *testing.B) {
			frames := benchFrames(b, short, 31)
			defer func() {
				for _, f := range frames {
					f.Close()
				}
			}()
			tr := NewTracker(m, det)
			if _, err := tr.Track(context.Background(), frames[0]); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// Tracking frames 1..30 over and over keeps the fit on the
				// face without a new detection.
				if _, err := tr.Track(context.Background(), frames[1+i%30]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDetectFromBox measures the initialisation from a face box: 11
// rotation hypotheses, each a full fit with windows 11/9/7, parts and
// validator (the MTCNN detection itself is not included).
func BenchmarkDetectFromBox(b *testing.B) {
	m := testModel(b)
	det := testDetector(b)
	for _, short := range []string{"v01", "v04"} {
		b.Run(short, func(b *testing.B) {
			frames := benchFrames(b, short, 1)
			defer frames[0].Close()
			box, ok, err := det.DetectFace(context.Background(), frames[0])
			if err != nil || !ok {
				b.Fatalf("no face: %v", err)
			}
			tr := NewTracker(m, nil)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tr.Reset()
				if _, err := tr.FitFromBox(context.Background(), frames[0], box); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
