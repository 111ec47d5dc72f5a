package job

import (
	"testing"

	"facemirror/pipeline/openface"
)

// A seam switches at the first frame where the two tracks agree, waits
// while either track's frame is missing, switches at the end of the
// overlap when they never agree, and at the video's end when it comes
// first.
func TestSeamDecide(t *testing.T) {
	at := func(x float32) openface.FrameResult {
		return openface.FrameResult{Landmarks: []float32{x, x + 10, 5, 6}}
	}
	const s = 100
	cases := []struct {
		name       string
		tail, head map[int]float32 // landmark x per frame
		end        int
		decided    bool
		switchAt   int
	}{
		{"agree at once", map[int]float32{100: 1}, map[int]float32{100: 1.005}, -1, true, 100},
		{"agree later", map[int]float32{100: 1, 101: 1, 102: 1}, map[int]float32{100: 2, 101: 1.5, 102: 1}, -1, true, 102},
		{"head missing", map[int]float32{100: 1, 101: 1}, map[int]float32{100: 2}, -1, false, -1},
		{"tail missing", map[int]float32{}, map[int]float32{100: 1}, -1, false, -1},
		{"video ends", map[int]float32{100: 1, 101: 1}, map[int]float32{100: 2, 101: 2}, 102, true, 102},
	}
	never := func() (tail, head map[int]float32) {
		tail, head = map[int]float32{}, map[int]float32{}
		for i := s; i < s+seamOverlap; i++ {
			tail[i], head[i] = 1, 3
		}
		return
	}
	tail, head := never()
	cases = append(cases, struct {
		name       string
		tail, head map[int]float32
		end        int
		decided    bool
		switchAt   int
	}{"never agree", tail, head, -1, true, s + seamOverlap})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sm := newSeam(s)
			for i, x := range tc.tail {
				sm.tail[i] = at(x)
			}
			for i, x := range tc.head {
				sm.head[i] = at(x)
			}
			if got := sm.decide(tc.end, func(int) bool { return false }); got != tc.decided || sm.switchAt != tc.switchAt {
				t.Errorf("decide = %v, switch at %d; want %v, %d", got, sm.switchAt, tc.decided, tc.switchAt)
			}
		})
	}
}
