package job

import (
	"math"

	"facemirror/pipeline/openface"
)

// Seams between the chunks of a video. The helper of a later chunk starts
// tracking warmUpFrames early with a fresh detection; by the chunk's first
// frame its track has almost always converged onto the one the earlier
// chunk's helper continues, but in a hard stretch (a hand over the face,
// fast motion) the two can still differ by a pixel or more. So the earlier
// chunk's helper goes on for seamOverlap frames past its end, and the
// seam switches from its frames to the later chunk's at the first frame
// where the two tracks agree to within seamAgreement: up to there the
// output is exactly what one helper would have written, and from there on
// the later track has joined it. When they never agree within the overlap,
// the switch is at its end.
const (
	seamOverlap   = 30
	seamAgreement = 0.01 // px, mean over the landmarks
)

// seam is the boundary before the chunk that starts at frame start.
type seam struct {
	start int
	// cursor is the next frame to compare; switchAt the first frame taken
	// from the later chunk, −1 until decided.
	cursor, switchAt int
	// tail holds the earlier chunk's frames from start on, head the later
	// chunk's, until the switch is decided.
	tail, head map[int]openface.FrameResult
}

func newSeam(start int) *seam {
	return &seam{
		start:    start,
		cursor:   start,
		switchAt: -1,
		tail:     map[int]openface.FrameResult{},
		head:     map[int]openface.FrameResult{},
	}
}

// decide compares the two tracks as far as both have arrived and reports
// whether the switch is now decided. end is the video's frame count when
// known exactly, else −1; lost tells the frames that could not be decoded,
// which neither chunk sends.
func (s *seam) decide(end int, lost func(int) bool) bool {
	for s.switchAt < 0 {
		i := s.cursor
		if i >= s.start+seamOverlap {
			s.switchAt = i
			break
		}
		if end >= 0 && i >= end {
			// The video ends inside the overlap: the earlier chunk covers
			// all of it.
			s.switchAt = i
			break
		}
		if lost(i) {
			// Neither chunk has the frame: compare the next.
			s.cursor++
			continue
		}
		a, okA := s.tail[i]
		b, okB := s.head[i]
		if !okA || !okB {
			return false
		}
		if meanDistance(a.Landmarks, b.Landmarks) <= seamAgreement {
			s.switchAt = i
			break
		}
		s.cursor++
	}
	return true
}

// meanDistance is the mean distance between two landmark sets (x block,
// y block); +Inf when they cannot be compared.
func meanDistance(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 || len(a)%2 != 0 {
		return math.Inf(1)
	}
	n := len(a) / 2
	sum := 0.0
	for i := 0; i < n; i++ {
		sum += math.Hypot(float64(a[i])-float64(b[i]), float64(a[i+n])-float64(b[i+n]))
	}
	return sum / float64(n)
}
