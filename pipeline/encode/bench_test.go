package encode

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"facemirror/internal/sharedtest"
	"facemirror/pipeline/video"
)

// BenchmarkWrite1080p writes real 1080p frames (the first 48 of d04,
// cycled) and reports frames/s including Commit, so the encoder's
// buffered frames count. Run with e.g. -benchtime=100x.
func BenchmarkWrite1080p(b *testing.B) {
	src := sharedtest.Media(b, "derived/d04_emotions_upscaled_1920x1080_19.7s.mp4")
	frames := loadFrames(b, src, 48)
	for _, c := range codecs {
		b.Run(string(c), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench"+c.Ext())
			opts := Options{Codec: c, Width: 1920, Height: 1080, Rate: video.Rational{Num: 24000, Den: 1001}}
			w, err := Create(context.Background(), path, opts)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(frames[0])))
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if err := w.Write(frames[i%len(frames)], 0); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Commit(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
		})
	}
}

func loadFrames(b *testing.B, path string, n int) [][]byte {
	b.Helper()
	r, err := video.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var frames [][]byte
	for len(frames) < n {
		f, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		frames = append(frames, f.Mat.ToBytes())
		f.Mat.Close()
	}
	return frames
}
