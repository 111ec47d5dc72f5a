package video

import (
	"context"
	"io"
	"testing"

	"gocv.io/x/gocv"

	"facemirror/internal/sharedtest"
)

var benchFiles = []struct{ name, rel string }{
	{"v01_480x360", "videos/v01_talking_frontal_glasses_480x360.mp4"},
	{"d04_1920x1080", "derived/d04_emotions_upscaled_1920x1080_19.7s.mp4"},
}

// BenchmarkDecode reads every frame as an upright BGR Mat, as the
// pipeline does, and reports decoded frames per second.
func BenchmarkDecode(b *testing.B) {
	for _, bf := range benchFiles {
		b.Run(bf.name, func(b *testing.B) {
			path := sharedtest.Media(b, bf.rel)
			frames := 0
			for b.Loop() {
				r, err := Open(context.Background(), path)
				if err != nil {
					b.Fatal(err)
				}
				for {
					f, err := r.Read()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					f.Mat.Close()
					frames++
				}
				r.Close()
			}
			b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// BenchmarkDecodeInto is BenchmarkDecode reusing one Mat (ReadInto).
func BenchmarkDecodeInto(b *testing.B) {
	for _, bf := range benchFiles {
		b.Run(bf.name, func(b *testing.B) {
			path := sharedtest.Media(b, bf.rel)
			m := gocv.NewMat()
			defer m.Close()
			frames := 0
			for b.Loop() {
				r, err := Open(context.Background(), path)
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, err := r.ReadInto(&m)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					frames++
				}
				r.Close()
			}
			b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// BenchmarkProbe measures the exact probe (decode without colour
// conversion, which is also what Seek costs per skipped frame).
func BenchmarkProbe(b *testing.B) {
	for _, bf := range benchFiles {
		b.Run(bf.name, func(b *testing.B) {
			path := sharedtest.Media(b, bf.rel)
			frames := 0
			for b.Loop() {
				info, err := Probe(context.Background(), path)
				if err != nil {
					b.Fatal(err)
				}
				frames += info.Frames
			}
			b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// BenchmarkProbeHeader measures the container-only probe a file list uses.
func BenchmarkProbeHeader(b *testing.B) {
	for _, bf := range benchFiles {
		b.Run(bf.name, func(b *testing.B) {
			path := sharedtest.Media(b, bf.rel)
			for b.Loop() {
				if _, err := ProbeHeader(context.Background(), path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
