package mirror

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// uprightLine is a face-like midline through the frame's centre, tilted 5°.
func uprightLine(w, h int) Line {
	tilt := 5 * math.Pi / 180
	g := Point{float64(w) / 2, float64(h) / 4}
	r := float64(h) / 2
	return Line{g, Point{g.X - r*math.Sin(tilt), g.Y + r*math.Cos(tilt)}}
}

func BenchmarkMirrorBoth(b *testing.B) {
	for _, size := range [][2]int{{1920, 1080}, {480, 360}} {
		w, h := size[0], size[1]
		b.Run(fmt.Sprintf("%dx%d", w, h), func(b *testing.B) {
			src := randomImage(rand.New(rand.NewPCG(1, 1)), w, h, 3*w)
			right, left := NewImage(w, h), NewImage(w, h)
			l := uprightLine(w, h)
			b.SetBytes(int64(len(src.Pix)))
			for b.Loop() {
				if err := MirrorBoth(right, left, src, l); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMirror1080p(b *testing.B) {
	src := randomImage(rand.New(rand.NewPCG(1, 1)), 1920, 1080, 3*1920)
	dst := NewImage(1920, 1080)
	l := uprightLine(1920, 1080)
	for b.Loop() {
		if err := Mirror(dst, src, l, Right); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSmooth36000(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	obs := make([]Observation, 36000)
	for i := range obs {
		a := 0.2 * math.Sin(float64(i)/50)
		obs[i] = Observation{
			Line: Line{
				Point{960 + 300*math.Sin(a) + rng.NormFloat64(), 300 + rng.NormFloat64()},
				Point{960 + rng.NormFloat64(), 700 + rng.NormFloat64()},
			},
			OK: i%97 != 0,
		}
	}
	for b.Loop() {
		if _, err := Smooth(obs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDrawDebug1080p(b *testing.B) {
	img := greyImage(1920, 1080)
	d := Debug{Face: true, Line: uprightLine(1920, 1080), Landmarks: faceLandmarks(960, 570, 300), YawDeg: 4.2}
	var p DebugPainter
	for b.Loop() {
		p.Draw(img, d)
	}
}
