package mirror

import (
	"errors"
	"fmt"
	"slices"
)

// Smoother is Smooth fed one frame at a time, so that a video can be
// mirrored while it is still being tracked instead of after the whole track.
// The lines it returns are, to the last bit, those Smooth returns for the
// whole track: it hands each frame's line out as soon as no later frame can
// change it, which with no missing frames is 20 frames (a long window less
// one) after the frame was added. A gap holds back the lines of its frames
// and of the 20 before it until the next fitted frame ends it; the lines of
// the last 20 frames and of any frames after the last fit come out at Close.
//
// Its memory does not grow with the track: it keeps the frames that windows
// still to be fitted need, the fits of the windows that frames still to be
// returned need, and, while a gap lasts, only the count of its frames.
//
// The zero value is ready to use. A Smoother is not safe for concurrent use.
type Smoother struct {
	added  int   // frames added so far
	known  int   // frames whose gap-filled value is known: all up to the last OK one, or all after Close
	last   Line  // the last OK frame's midline, frame known−1
	next   int   // the first frame not yet returned
	closed bool  // Close was called
	err    error // the first error, returned again by every later call

	// series holds the gap-filled values of the frames up to known−1 from
	// the first one that a window still to be fitted starts at.
	series queue[coords]

	// wins are the short and the long windows, set up when the first line
	// is computed, since they are shortened when the track is shorter than
	// the windows.
	wins [2]windowSet
}

// windowLengths are the window lengths in the order in which their votes
// are added up, which Smooth's results depend on.
var windowLengths = [2]int{shortWindow, longWindow}

var errClosed = errors.New("mirror: Smoother used after Close")

// NewSmoother returns a Smoother ready for the first frame of a track; it is
// the same as new(Smoother), for callers that prefer a constructor.
func NewSmoother() *Smoother { return new(Smoother) }

// Add appends the next frame's observation to the track and returns the
// midlines that have become final, for the frames after the last one
// returned, in order: none for the first 20 frames or during a gap, one per
// frame otherwise, and a gap's worth when a fitted frame ends a gap. The
// returned lines are the caller's: they never change, and later calls never
// return them again.
//
// A non-finite midline in an OK observation makes Smooth fail for the whole
// track, so Add returns that error, and so does every later call.
func (s *Smoother) Add(o Observation) ([]Line, error) {
	return s.add(o, nil)
}

// Close ends the track and returns the midlines of the frames not returned
// yet: those within a window of the end, whose smoothing depends on where
// the track ends, and those after the last fitted frame. It returns an error
// wrapping ErrNoFit when no frame was added or none is OK, like Smooth.
// The Smoother cannot be used afterwards.
func (s *Smoother) Close() ([]Line, error) {
	return s.close(nil)
}

// add is Add appending to dst, so that Smooth can collect all the lines in
// one slice.
func (s *Smoother) add(o Observation, dst []Line) ([]Line, error) {
	if s.closed {
		return dst, errClosed
	}
	if s.err != nil {
		return dst, s.err
	}
	if err := s.fill(o); err != nil {
		s.err = err
		return dst, err
	}
	// Frame t's line needs the long window that starts at t, that is the
	// frames up to t+longWindow−1; the fits of all the windows up to t then
	// exist, so the track's length does not matter.
	return s.emit(dst, s.known-(longWindow-1)), nil
}

// close is Close appending to dst.
func (s *Smoother) close(dst []Line) ([]Line, error) {
	if s.closed {
		return dst, errClosed
	}
	s.closed = true
	if s.err != nil {
		return dst, s.err
	}
	if err := s.fillEnd(); err != nil {
		s.err = err
		return dst, err
	}
	return s.emit(dst, s.added), nil
}

// fill takes frame s.added's observation. An OK frame makes known the
// values of the gap before it (interpolated between the two fitted frames
// that bound it, or the first fitted frame's before the first fit) and its
// own.
func (s *Smoother) fill(o Observation) error {
	i := s.added
	if o.OK {
		if !o.Line.finite() {
			return fmt.Errorf("mirror: frame %d: midline %+v is not finite", i, o.Line)
		}
		if s.known == 0 {
			c := toCoords(o.Line)
			for range i {
				s.series.push(c)
			}
		} else {
			prev := s.known - 1
			for j := s.known; j < i; j++ {
				s.series.push(toCoords(lerpLine(s.last, o.Line, j-prev, i-j)))
			}
		}
		s.series.push(toCoords(o.Line))
		s.last, s.known = o.Line, i+1
	}
	s.added++
	return nil
}

// fillEnd gives the frames after the last fitted one its midline, once the
// track has ended.
func (s *Smoother) fillEnd() error {
	if s.added == 0 {
		return fmt.Errorf("mirror: empty track: %w", ErrNoFit)
	}
	if s.known == 0 {
		return fmt.Errorf("mirror: none of %d frames is fitted: %w", s.added, ErrNoFit)
	}
	c := toCoords(s.last)
	for ; s.known < s.added; s.known++ {
		s.series.push(c)
	}
	return nil
}

// emit appends to dst the smoothed lines of frames s.next up to limit−1,
// whose windows must all lie within the known frames, and forgets the fits
// and frames that later lines do not need.
func (s *Smoother) emit(dst []Line, limit int) []Line {
	if limit <= s.next {
		return dst
	}
	// Before Close, the first line comes out when at least longWindow frames
	// are known, so the full lengths are right; a shorter track only ends
	// at Close.
	n := s.known
	if s.wins[0].span == 0 {
		for i, length := range windowLengths {
			s.wins[i] = newWindowSet(min(length, n))
		}
	}
	dst = slices.Grow(dst, limit-s.next)
	for t := s.next; t < limit; t++ {
		for i := range s.wins {
			ws := &s.wins[i]
			for j := ws.fits.end(); j <= min(t, n-ws.span); j++ {
				ws.fits.push(fitWindow(s.series.slice(j, j+ws.span), j))
			}
		}
		dst = append(dst, smoothFrame(t, n, &s.wins))
	}
	s.next = limit
	if !s.closed {
		// Frame limit's first window starts at limit−span+1, and the next
		// window to fit at limit.
		for i := range s.wins {
			s.wins[i].fits.dropBefore(limit - s.wins[i].span + 1)
		}
		s.series.dropBefore(limit)
	}
	return dst
}

// queue holds the items numbered from first on of a stream that drops items
// at its front. It moves the live items down to the start of its array
// once the dropped ones are at least as many and not too few, so that its
// memory stays within about twice the most items held at once plus 64, and
// it allocates nothing after growing to that.
type queue[T any] struct {
	first int // the number of items[off]
	off   int
	items []T
}

// end is the number of the item after the last.
func (q *queue[T]) end() int { return q.first + len(q.items) - q.off }

func (q *queue[T]) push(v T) { q.items = append(q.items, v) }

// slice returns items i up to j−1.
func (q *queue[T]) slice(i, j int) []T {
	return q.items[q.off+i-q.first : q.off+j-q.first]
}

// dropBefore forgets the items before item i.
func (q *queue[T]) dropBefore(i int) {
	if i <= q.first {
		return
	}
	q.off += i - q.first
	q.first = i
	if q.off >= 64 && 2*q.off >= len(q.items) {
		q.items = q.items[:copy(q.items, q.items[q.off:])]
		q.off = 0
	}
}
