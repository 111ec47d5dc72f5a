package video

import (
	"context"
	"math"
	"time"
)

// A Gap is a stretch of a video's frames that could not be decoded:
// damaged data in the middle of the file, or, at its end, the frames its
// container lists beyond the last one that decodes (a file cut off).
type Gap struct {
	// From is the index of the first lost frame and To that of the frame
	// after the last, so To-From frames are lost.
	From, To int
	// Start and End are the times of frames From and To (for a Tail, End
	// is the container's duration).
	Start, End time.Duration
	// Tail marks the frames lost at the end of the file.
	Tail bool
}

// Frames is the number of frames lost.
func (g Gap) Frames() int { return g.To - g.From }

// resumeReads is how many failed reads in a row end a video. OpenCV's
// FFmpeg backend gives up on a frame at the first packet the decoder
// refuses, while FFmpeg itself skips such packets and decodes on; so after
// a failed read the Reader reads again, each read going at least one packet
// further, until a frame decodes or this many reads have failed. At the
// end of a healthy file each of these reads fails at once (about 2 µs).
const resumeReads = 512

// timeline follows the decoder through a video: the index and time of
// each frame it decodes, and the gaps between them.
type timeline struct {
	clock frameClock
	// listed is the container's exact frame count (the MP4/MOV sample
	// table's), 0 when unknown; a video that stops decoding before it has
	// a Tail gap.
	listed   int
	tableEnd time.Duration
	next     int // index of the frame the decoder gives next, if nothing is lost
	gaps     []Gap
}

func newTimeline(src *source) timeline {
	return timeline{clock: newFrameClock(src.table, src.info.FPS), listed: len(src.table), tableEnd: src.tableEnd}
}

// advance decodes the next frame through decode (a read or a grab that
// reports success), reading on past damaged data, and returns its index
// and time; ok is false at the end of the video. pos is the decoder's
// CAP_PROP_POS_MSEC after a decode.
func (tl *timeline) advance(ctx context.Context, decode func() bool, pos func() float64) (index int, t time.Duration, ok bool, err error) {
	if decode() {
		from := tl.next
		p := pos()
		// The decoder may also drop frames without failing a read (a
		// damaged frame it cannot conceal); on a sample table the frame's
		// own time tells how many.
		if j := tl.clock.later(p); j > from {
			tl.gaps = append(tl.gaps, Gap{From: from, To: j, Start: tl.clock.predict(from), End: tl.clock.table[j]})
			tl.clock.n = j
		}
		index = tl.clock.n
		tl.next = index + 1
		return index, tl.clock.next(p), true, nil
	}
	if tl.next == 0 {
		// Nothing decodes: the caller reports the file as such.
		return 0, 0, false, nil
	}
	for range resumeReads {
		if err := ctx.Err(); err != nil {
			return 0, 0, false, err
		}
		if !decode() {
			continue
		}
		from, start := tl.next, tl.clock.predict(tl.next)
		// A frame without a time (the decoder's last frames at a cut
		// carry none) is the next one.
		index, t := tl.clock.resume(pos())
		if index > from {
			tl.gaps = append(tl.gaps, Gap{From: from, To: index, Start: start, End: t})
		}
		tl.next = index + 1
		return index, t, true, nil
	}
	if tl.listed > tl.next {
		tl.gaps = append(tl.gaps, Gap{From: tl.next, To: tl.listed, Start: tl.clock.predict(tl.next), End: tl.tableEnd, Tail: true})
	}
	return 0, 0, false, nil
}

// predict is the time frame i has on the container's table, or, without
// one, the time it would have at the nominal rate after the last frame.
func (c *frameClock) predict(i int) time.Duration {
	if c.table != nil && i < len(c.table) {
		return c.table[i]
	}
	if c.n == 0 {
		return time.Duration(i) * c.step
	}
	return c.prev + time.Duration(i-(c.n-1))*c.step
}

// later returns the index after c.n whose sample-table time is the
// decoder's time posMsec for the frame just decoded, or c.n when that time
// is the next frame's, is unusable or is on no later frame of the table.
func (c *frameClock) later(posMsec float64) int {
	dec := time.Duration(math.Round(posMsec * float64(time.Millisecond)))
	i := c.n
	if c.table == nil || i == 0 || i >= len(c.table) || !(posMsec > 0 && dec > c.prev) || absDuration(dec-c.table[i]) <= agreeTolerance {
		return i
	}
	for j := i + 1; j < len(c.table) && c.table[j] <= dec+agreeTolerance; j++ {
		if absDuration(dec-c.table[j]) <= agreeTolerance {
			return j
		}
	}
	return i
}

// resume places a frame decoded after damaged data on the timeline by the
// decoder's time for it: at the index whose sample-table time it is, or,
// without a table, as many nominal frame intervals after the last frame
// as its time lies. Without a usable time the frame follows the last one.
func (c *frameClock) resume(posMsec float64) (index int, t time.Duration) {
	dec := time.Duration(math.Round(posMsec * float64(time.Millisecond)))
	if !(posMsec > 0 && dec > c.prev) {
		index = c.n
		return index, c.next(posMsec)
	}
	if c.table != nil {
		for j := c.n; j < len(c.table) && c.table[j] <= dec+agreeTolerance; j++ {
			if absDuration(dec-c.table[j]) <= agreeTolerance {
				c.n = j
				return j, c.next(posMsec)
			}
		}
		// The table does not know this time: it no longer describes what
		// decodes, as when a decoder time disagrees with it.
		c.table = nil
		c.usedDecoder = true
	}
	steps := 1
	if c.n > 0 {
		steps = max(1, int(math.Round(float64(dec-c.prev)/float64(c.step))))
	}
	c.n += steps - 1
	index = c.n
	t = c.next(posMsec)
	// The interval before this frame spans the gap; the next extrapolation
	// must not take it for the frame rate.
	c.prev2 = c.prev - c.step
	return index, t
}
