package job

import (
	"fmt"
	"testing"
)

func TestPlanChunks(t *testing.T) {
	w := warmUpFrames
	cases := []struct {
		frames, workers int
		want            []chunk
	}{
		{0, 4, nil},
		{1, 4, []chunk{{0, 1, 0}}},
		// Too short to pay for a second chunk's warm-up.
		{2*minChunkFrames + w - 1, 2, []chunk{{0, 2*minChunkFrames + w - 1, 0}}},
		{300, 1, []chunk{{0, 300, 0}}},
		// v01 on two helpers: the second chunk starts w frames early, so
		// the first is w frames longer; both do the same work.
		{300, 2, []chunk{{0, 150 + w/2, 0}, {150 + w/2, 300, w}}},
		// v04 on three helpers (the figures assume warmUpFrames = 60).
		{587, 3, []chunk{{0, 235, 0}, {235, 411, w}, {411, 587, w}}},
		// Long videos: chunks of at most about maxChunkFrames.
		{2500, 2, []chunk{{0, 873, 0}, {873, 1686, w}, {1686, 2500, w}}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d frames %d workers", tc.frames, tc.workers), func(t *testing.T) {
			got := planChunks(tc.frames, tc.workers)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("planChunks(%d, %d) = %v, want %v", tc.frames, tc.workers, got, tc.want)
			}
		})
	}
}

// Every plan covers the video exactly once, in order, with chunks of equal
// work (frames plus warm-up, to within a frame) and within the size limits.
func TestPlanChunksProperties(t *testing.T) {
	for _, n := range []int{1, 59, 60, 61, 149, 150, 151, 300, 472, 587, 999, 1000, 1001, 4321, 108000} {
		for _, workers := range []int{1, 2, 3, 4, 8, 16} {
			plan := planChunks(n, workers)
			next, lo, hi := 0, n+1, 0
			for i, c := range plan {
				if c.start != next || c.end <= c.start {
					t.Fatalf("n=%d workers=%d: chunk %d %v does not follow frame %d", n, workers, i, c, next)
				}
				if (i == 0) != (c.warmUp == 0) || c.warmUp > c.start {
					t.Errorf("n=%d workers=%d: chunk %d %v has the wrong warm-up", n, workers, i, c)
				}
				if len(plan) > 1 && c.end-c.start < minChunkFrames {
					t.Errorf("n=%d workers=%d: chunk %d %v is shorter than %d frames", n, workers, i, c, minChunkFrames)
				}
				if c.end-c.start > maxChunkFrames+warmUpFrames {
					t.Errorf("n=%d workers=%d: chunk %d %v is too long", n, workers, i, c)
				}
				work := c.end - c.start + c.warmUp
				lo, hi = min(lo, work), max(hi, work)
				next = c.end
			}
			if next != n {
				t.Fatalf("n=%d workers=%d: plan %v ends at %d", n, workers, plan, next)
			}
			if hi-lo > 1 {
				t.Errorf("n=%d workers=%d: chunk work from %d to %d frames", n, workers, lo, hi)
			}
			if n >= workers*(minChunkFrames+warmUpFrames) && len(plan) < workers {
				t.Errorf("n=%d workers=%d: only %d chunks", n, workers, len(plan))
			}
		}
	}
}
