package job

import (
	"fmt"
	"slices"
	"strings"

	"facemirror/app/helper"
)

// Frames a damaged or cut-off video loses. A helper decodes on past
// damaged data (package video) and its frame events then jump over the
// frames that could not be decoded; the coordinator learns of each gap
// from the jump, so that the Sequence goes on without them (Sequence.Skip:
// no row, the later rows keep their frame numbers), and of every gap,
// with its times and the lost end of a cut-off file, from the request's
// result.

// lose records that frames from to to-1 could not be decoded, as a jump
// in a chunk's frame events showed, and adds the frames now in order.
func (j *job) lose(from, to int) (added int, complete bool, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return 0, false, errJobFailed
	}
	if j.lost == nil {
		j.lost = map[int]bool{}
	}
	for i := max(from, j.next); i < to; i++ {
		j.lost[i] = true
	}
	for _, s := range j.seams {
		j.settleLocked(s)
	}
	return j.drainLocked()
}

// addGaps merges the gaps a helper's result lists into the job's.
func (j *job) addGaps(gaps []helper.Gap) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, g := range gaps {
		if !slices.Contains(j.gaps, g) {
			j.gaps = append(j.gaps, g)
		}
	}
	slices.SortFunc(j.gaps, func(a, b helper.Gap) int { return a.From - b.From })
}

// lostIn counts the frames of [from, to) that gaps lose inside the video
// (not at a cut-off end).
func lostIn(gaps []helper.Gap, from, to int) int {
	n := 0
	for _, g := range gaps {
		if !g.Tail {
			n += max(0, min(g.To, to)-max(g.From, from))
		}
	}
	return n
}

// gapWarnings words a video's gaps for the user: which frames, at what
// times, and why.
func gapWarnings(gaps []helper.Gap) []string {
	var inside []string
	lost := 0
	var out []string
	for _, g := range gaps {
		if g.Tail {
			out = append(out, fmt.Sprintf("the file is cut off: %s (%s) that its container lists are missing",
				frameSpan(g), timeSpan(g)))
			continue
		}
		inside = append(inside, fmt.Sprintf("%s at %s", frameSpan(g), timeSpan(g)))
		lost += g.To - g.From
	}
	if len(inside) > 0 {
		what := "1 frame"
		if lost > 1 {
			what = fmt.Sprintf("%d frames", lost)
		}
		out = append([]string{fmt.Sprintf("the file is damaged: %s could not be decoded and were left out (%s); every other frame was analysed",
			what, strings.Join(inside, ", "))}, out...)
	}
	return out
}

// frameSpan names a gap's frames as the CSV counts them, from 1.
func frameSpan(g helper.Gap) string {
	if g.To-g.From == 1 {
		return fmt.Sprintf("frame %d", g.From+1)
	}
	return fmt.Sprintf("frames %d-%d", g.From+1, g.To)
}

// timeSpan is a gap's time in the video.
func timeSpan(g helper.Gap) string {
	return fmt.Sprintf("%.2f-%.2f s", g.Start, g.End)
}
