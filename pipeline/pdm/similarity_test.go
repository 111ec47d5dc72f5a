package pdm

import (
	"math/rand"
	"testing"
)

// TestSumMatchesOpenCV checks sumCV (the RMS radius sum of
// AlignShapesWithScale) against cv::sum of the OpenCV library gocv links,
// for the shapes OpenFace aligns (68 and 24 points, and a few others that
// exercise the SIMD blocks and both tails), and on a case where the
// float32 tail sum loses what a float64 sum keeps.
func TestSumMatchesOpenCV(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, n := range []int{68, 24, 51, 28, 8, 9, 3} {
		for trial := 0; trial < 200; trial++ {
			v := make([]float32, 2*n)
			for i := range v {
				x := float32(rng.NormFloat64() * 60)
				v[i] = x * x
			}
			m := matFrom32(n, 2, v)
			want := m.Sum().Val1
			m.Close()
			if got := sumCV(v); got != want {
				t.Fatalf("%d points, trial %d: sumCV %v, cv::sum %v", n, trial, got, want)
			}
		}
	}
	tail := make([]float32, 20)
	tail[16], tail[17], tail[18], tail[19] = 1, 0x1p-24, 0x1p-24, 0x1p-24
	if got := sumCV(tail); got != 1 {
		t.Errorf("tail sum %v, want 1 (float32 partial sums)", got)
	}
}
