package video

import (
	"math"
	"time"
)

// TimestampSource says where Info.Timestamps and Frame.Time come from.
type TimestampSource int

const (
	// NoTimestamps: a still image.
	NoTimestamps TimestampSource = iota
	// SampleTable: exact presentation times from the MP4/MOV sample tables
	// (stts, ctts, elst), checked frame by frame against the decoder's own
	// timestamp wherever the decoder reports one.
	SampleTable
	// Decoder: OpenCV's CAP_PROP_POS_MSEC after each frame (FFmpeg's
	// presentation time relative to the stream start). Frames for which the
	// decoder reports no time are extrapolated; Info.Extrapolated counts
	// them.
	Decoder
)

func (s TimestampSource) String() string {
	switch s {
	case SampleTable:
		return "sample table"
	case Decoder:
		return "decoder"
	}
	return "none"
}

// agreeTolerance is how far the decoder's time may lie from the sample
// table's before the table is distrusted. Both come from the same integer
// timestamps, so they differ by float rounding only (well below a
// microsecond) unless the table is being misread.
const agreeTolerance = time.Microsecond

// frameClock assigns each decoded frame its presentation time.
//
// OpenCV 4.6's CAP_PROP_POS_MSEC is right for most frames but has two
// measured defects with Debian's FFmpeg 5.1: it treats a frame pts of
// exactly 0 as missing and reports the packet's dts instead (e02 frame 0:
// -16.667 ms instead of 0), and the frames the decoder flushes after the
// last packet carry no pts at all, so it reports 0 for them (the last 2
// frames of every H.264/HEVC test file). When the container's sample table
// is usable it supplies every time and the decoder's times verify it; when
// a verifiable decoder time disagrees, the table is dropped for the rest
// of the video. Without a table, frame 0 is clamped to 0 and a missing
// later time is extrapolated from the previous frame interval.
type frameClock struct {
	table []time.Duration
	step  time.Duration // fallback interval for the second frame, from the nominal fps

	n            int
	prev, prev2  time.Duration
	usedDecoder  bool
	extrapolated int
}

func newFrameClock(table []time.Duration, fps Rational) frameClock {
	step := time.Second / 30
	if fps.Num > 0 && fps.Den > 0 {
		step = time.Duration(math.Round(float64(time.Second) * float64(fps.Den) / float64(fps.Num)))
	}
	return frameClock{table: table, step: step}
}

// next returns the time of the next frame given the decoder's
// CAP_PROP_POS_MSEC for it.
func (c *frameClock) next(posMsec float64) time.Duration {
	i := c.n
	c.n++
	dec := time.Duration(math.Round(posMsec * float64(time.Millisecond)))
	// A decoder time is trustworthy only for a later frame that reports a
	// positive, increasing time: frame 0 may carry the dts quirk, and 0 is
	// what OpenCV reports for a frame without pts.
	decValid := i > 0 && posMsec > 0 && dec > c.prev
	var t time.Duration
	if c.table != nil {
		switch {
		case i >= len(c.table):
			c.table = nil
		case decValid && absDuration(dec-c.table[i]) > agreeTolerance:
			c.table = nil
		default:
			t = c.table[i]
		}
		if c.table == nil {
			c.usedDecoder = true
		}
	} else {
		c.usedDecoder = true
	}
	if c.table == nil {
		switch {
		case i == 0:
			t = max(dec, 0)
		case decValid:
			t = dec
		default:
			step := c.step
			if i >= 2 && c.prev > c.prev2 {
				step = c.prev - c.prev2
			}
			t = c.prev + step
			c.extrapolated++
		}
	}
	c.prev2, c.prev = c.prev, t
	return t
}

func (c *frameClock) source() TimestampSource {
	if c.usedDecoder {
		return Decoder
	}
	return SampleTable
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
