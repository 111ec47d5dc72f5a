package au

import (
	"math/rand/v2"
	"testing"
)

// The histograms switch from 16-bit to 32-bit counts at the 65,535th frame
// without changing a median: a long run where one bin takes almost every
// frame (it would wrap a 16-bit count) gives the medians of a plain
// recount after every update.
func TestRunningMedianBeyond16BitCounts(t *testing.T) {
	const dims, bins, frames = 3, 50, 80000
	med := make([]float64, dims)
	m := newRunningMedian(med, bins, -1, 1, false)
	counts := make([]int, dims*bins)
	rng := rand.New(rand.NewPCG(1, 2))
	desc := make([]float64, dims)
	for f := 0; f < frames; f++ {
		for i := range desc {
			if rng.IntN(20) == 0 {
				desc[i] = rng.Float64()*2 - 1
			} else {
				desc[i] = 0.31 // nearly every frame in one bin
			}
			counts[i*bins+m.bin(desc[i])]++
		}
		m.update(desc, true)
		if f > 0 && f%997 != 0 && f < frames-3 {
			continue
		}
		cutoff := (f + 2) / 2
		for i := 0; i < dims; i++ {
			j, c := 0, counts[i*bins]
			for c < cutoff && j < bins-1 {
				j++
				c += counts[i*bins+j]
			}
			want := m.min + float64(float64(j)*m.width) + m.half
			if f == 0 {
				want = desc[i]
			}
			if med[i] != want {
				t.Fatalf("frame %d, dimension %d: median %v, want %v", f, i, med[i], want)
			}
		}
	}
	if m.hist32 == nil {
		t.Fatal("the counts never moved to 32 bits")
	}
}
