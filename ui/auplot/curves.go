package auplot

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Sides of a curve. The source is the unmirrored face, the only side in
// AUs-only mode; left and right are its two mirrored halves.
const (
	SideSource = "source"
	SideLeft   = "left"
	SideRight  = "right"
)

// Errors wrapped by the methods of [Curves], for use with [errors.Is].
var (
	ErrUnknownSide = errors.New("unknown side")
	ErrUnknownAU   = errors.New("unknown AU")
)

// maxFrames bounds the frame numbers Add accepts. Frames are stored by
// number, so a corrupt number must not allocate gigabytes; the bound is
// more than a day of video at 60 frames per second.
const maxFrames = 1 << 23

// side indices into Curves.tracks, in drawing order: the right curve is
// drawn last, over the others.
const (
	source = iota
	left
	right
	numSides
)

func sideIndex(side string) (int, bool) {
	switch side {
	case SideSource:
		return source, true
	case SideLeft:
		return left, true
	case SideRight:
		return right, true
	}
	return 0, false
}

// Curves holds the per-frame AU intensities of one video, for each side.
// The zero value is not usable; create one with [NewCurves].
//
// A Curves is not safe for concurrent use.
type Curves struct {
	names  []string
	index  map[string]int
	tracks [numSides]track
	maxT   float64 // latest time seen on any side, in seconds
}

// track is the data of one side. Frames are stored by frame number rather
// than appended, so that frames arriving out of order end up in order and a
// repeated frame replaces the earlier one without a search.
type track struct {
	t []float64   // time of each frame in seconds; NaN where the frame is absent
	v [][]float32 // v[au][frame]; float32 is ample for display and halves memory
	n int         // number of frames present
}

// NewCurves returns an empty Curves for the intensity AUs named in names,
// in the order in which Add receives their values (the CSV column order).
// The names should be distinct; a repeated name refers to its first
// column.
func NewCurves(names []string) *Curves {
	c := &Curves{
		names: slices.Clone(names),
		index: make(map[string]int, len(names)),
	}
	for i, name := range names {
		if _, dup := c.index[name]; !dup {
			c.index[name] = i
		}
	}
	for s := range c.tracks {
		c.tracks[s].v = make([][]float32, len(names))
	}
	return c
}

// Names returns the AU names given to [NewCurves].
func (c *Curves) Names() []string {
	return slices.Clone(c.names)
}

// Add records the intensities of one frame of side, taken t seconds into
// the video. Frames may arrive in any order; adding a frame again replaces
// its earlier values, as happens when a failed helper is restarted from
// frame 0. A NaN intensity is shown as a gap in the curve.
//
// Add returns an error, and records nothing, for an unknown side, a
// negative or absurdly large frame number, a time that is negative or not
// finite, or a number of intensities other than the number of names.
func (c *Curves) Add(side string, frame int, t float64, intensity []float64) error {
	s, ok := sideIndex(side)
	if !ok {
		return fmt.Errorf("auplot: add frame %d: %w %q", frame, ErrUnknownSide, side)
	}
	switch {
	case len(intensity) != len(c.names):
		return fmt.Errorf("auplot: add %s frame %d: got %d intensities, want %d", side, frame, len(intensity), len(c.names))
	case frame < 0 || frame >= maxFrames:
		return fmt.Errorf("auplot: add %s frame %d: frame number out of range [0, %d)", side, frame, maxFrames)
	case t < 0 || math.IsNaN(t) || math.IsInf(t, 0):
		return fmt.Errorf("auplot: add %s frame %d: invalid time %v", side, frame, t)
	}

	tr := &c.tracks[s]
	if frame >= len(tr.t) {
		tr.t = growNaN(tr.t, frame+1)
		for i := range tr.v {
			tr.v[i] = growNaN(tr.v[i], frame+1)
		}
	}
	if math.IsNaN(tr.t[frame]) {
		tr.n++
	}
	tr.t[frame] = t
	for i, x := range intensity {
		tr.v[i][frame] = float32(x)
	}
	c.maxT = max(c.maxT, t)
	return nil
}

// growNaN extends s to length n, filling the new elements with NaN so that
// frames not yet received read as absent.
func growNaN[E float32 | float64](s []E, n int) []E {
	old := len(s)
	if n <= old {
		return s
	}
	s = slices.Grow(s, n-old)[:n]
	nan := E(math.NaN())
	for i := old; i < n; i++ {
		s[i] = nan
	}
	return s
}

// Len returns the number of distinct frames recorded for side, or 0 for an
// unknown side.
func (c *Curves) Len(side string) int {
	s, ok := sideIndex(side)
	if !ok {
		return 0
	}
	return c.tracks[s].n
}

// Latest returns the intensities of au in the most recent frame where both
// the left and the right side have a value for it. The live view shows
// these next to the plot; ok is false when there is no such frame or au is
// unknown.
func (c *Curves) Latest(au string) (left, right float64, ok bool) {
	a, known := c.index[au]
	if !known {
		return 0, 0, false
	}
	l, r := c.pair(a)
	for f := len(l) - 1; f >= 0; f-- {
		if !math.IsNaN(float64(l[f])) && !math.IsNaN(float64(r[f])) {
			return float64(l[f]), float64(r[f]), true
		}
	}
	return 0, 0, false
}

// Asymmetry returns the asymmetry index of au over the frames where both
// the left and the right side have a value for it:
//
//	ai = (meanL - meanR) / (meanL + meanR)
//
// It is positive when the left side moves more, and lies in [-1, 1] for
// non-negative intensities. ok is false when there are no such frames, the
// denominator is 0, or au is unknown.
func (c *Curves) Asymmetry(au string) (ai float64, ok bool) {
	a, known := c.index[au]
	if !known {
		return 0, false
	}
	l, r := c.pair(a)
	var sumL, sumR float64
	n := 0
	for f := range l {
		if math.IsNaN(float64(l[f])) || math.IsNaN(float64(r[f])) {
			continue
		}
		sumL += float64(l[f])
		sumR += float64(r[f])
		n++
	}
	// The counts cancel out of the ratio of means.
	den := sumL + sumR
	if n == 0 || den == 0 {
		return 0, false
	}
	return (sumL - sumR) / den, true
}

// pair returns the left and right values of AU column a over the frames
// both sides may have. Absent frames hold NaN, so callers need test only
// the values.
func (c *Curves) pair(a int) (l, r []float32) {
	l, r = c.tracks[left].v[a], c.tracks[right].v[a]
	n := min(len(l), len(r))
	return l[:n], r[:n]
}
