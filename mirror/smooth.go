package mirror

import (
	"errors"
	"fmt"
)

// Observation is one frame's raw midline; OK is false when that frame had no
// successful fit (its Line is then ignored).
type Observation struct {
	Line Line
	OK   bool
}

// ErrNoFit means that no frame of the track has a fitted face, so there is no
// midline to smooth or interpolate.
var ErrNoFit = errors.New("mirror: no frame of the track has a fitted face")

// Smoothing parameters; doc.go explains the method and why.
const (
	// The lengths, in frames, of the local straight-line fits: the short
	// windows follow fast movements, the long ones average jitter away when
	// the head is still or moving steadily.
	shortWindow = 7
	longWindow  = 21
	// smoothFloor (px²) is added to each window's mean squared residual so
	// that noise-free tracks (residual 0) give finite, equal weights.
	smoothFloor = 1e-4
)

// Smooth returns one midline per frame for the whole track
// (len(out) == len(obs)). Frames without a fit take the midline interpolated
// between the nearest fitted frames before the smoothing, so they never pull
// it; the glabella and the chin are then smoothed by adaptively weighted local
// straight-line fits (see doc.go). It returns an error wrapping ErrNoFit when
// obs is empty or no frame is OK.
func Smooth(obs []Observation) ([]Line, error) {
	filled, err := fillGaps(obs)
	if err != nil {
		return nil, err
	}
	return smoothLines(filled), nil
}

// fillGaps returns the track with every frame that has no fit replaced by the
// linear interpolation between the nearest fitted frames before and after
// it, or by the nearest fitted frame at the ends of the track.
func fillGaps(obs []Observation) ([]Line, error) {
	if len(obs) == 0 {
		return nil, fmt.Errorf("mirror: empty track: %w", ErrNoFit)
	}
	out := make([]Line, len(obs))
	prev := -1 // last OK frame seen
	for i, o := range obs {
		if !o.OK {
			continue
		}
		if !o.Line.finite() {
			return nil, fmt.Errorf("mirror: frame %d: midline %+v is not finite", i, o.Line)
		}
		out[i] = o.Line
		if prev < 0 {
			for j := range i {
				out[j] = o.Line
			}
		} else {
			for j := prev + 1; j < i; j++ {
				out[j] = lerpLine(out[prev], o.Line, j-prev, i-j)
			}
		}
		prev = i
	}
	if prev < 0 {
		return nil, fmt.Errorf("mirror: none of %d frames is fitted: %w", len(obs), ErrNoFit)
	}
	for j := prev + 1; j < len(out); j++ {
		out[j] = out[prev]
	}
	return out, nil
}

// lerpLine interpolates between a (da frames before) and b (db frames after).
// The weighted sum over the total distance is exact whenever the true values
// are, unlike a + (b-a)·t with an inexact fraction t.
func lerpLine(a, b Line, da, db int) Line {
	f := func(u, v float64) float64 {
		return (float64(u*float64(db)) + float64(v*float64(da))) / float64(da+db)
	}
	return Line{
		Glabella: Point{f(a.Glabella.X, b.Glabella.X), f(a.Glabella.Y, b.Glabella.Y)},
		Chin:     Point{f(a.Chin.X, b.Chin.X), f(a.Chin.Y, b.Chin.Y)},
	}
}

// coords are the four smoothed series: glabella x, y and chin x, y.
type coords [4]float64

func toCoords(l Line) coords {
	return coords{l.Glabella.X, l.Glabella.Y, l.Chin.X, l.Chin.Y}
}

func (c coords) line() Line {
	return Line{Glabella: Point{c[0], c[1]}, Chin: Point{c[2], c[3]}}
}

// windowFit is the least-squares straight line through one window of frames
// for each coordinate, value mean[k] + slope[k]·(t − centre), and the weight
// the window gets from its residual.
type windowFit struct {
	mean, slope coords
	centre      float64
	weight      float64
}

// smoothLines runs the adaptive local-linear smoother on a gap-free track.
func smoothLines(in []Line) []Line {
	n := len(in)
	series := make([]coords, n)
	for i, l := range in {
		series[i] = toCoords(l)
	}
	sums := make([]coords, n)
	wsums := make([]float64, n)
	for _, length := range [...]int{shortWindow, longWindow} {
		span := min(length, n)
		suu := float64(span*(span*span-1)) / 12 // Σu² over the window
		// relVar is the variance, relative to the noise's, of a fitted
		// line's value u frames from the window's centre.
		relVar := func(u float64) float64 {
			if suu == 0 {
				return 1
			}
			return 1/float64(span) + float64(u*u)/suu
		}
		for j := range n - span + 1 {
			f := fitWindow(series[j:j+span], j)
			// The window votes for every frame it contains with its line's
			// value there, weighted by the inverse of the variance that value
			// would have from white noise of the window's residual size.
			for t := j; t < j+span; t++ {
				u := float64(t) - f.centre
				w := f.weight / relVar(u)
				for k := range sums[t] {
					sums[t][k] += float64(w * (f.mean[k] + float64(f.slope[k]*u)))
				}
				wsums[t] += w
			}
		}
	}
	out := make([]Line, n)
	for t, sum := range sums {
		for k := range sum {
			sum[k] /= wsums[t]
		}
		out[t] = sum.line()
	}
	return out
}

// fitWindow fits the straight lines of one window starting at frame start.
// Products are wrapped in float64() so that no platform fuses them into FMAs:
// the output is the same on every architecture.
func fitWindow(w []coords, start int) windowFit {
	n := len(w)
	centre := float64(n-1) / 2
	var f windowFit
	f.centre = float64(start) + centre
	var suu float64
	for i := range w {
		u := float64(i) - centre
		suu += float64(u * u)
	}
	for k := range f.mean {
		var s float64
		for i := range w {
			s += w[i][k]
		}
		f.mean[k] = s / float64(n)
		if suu > 0 {
			var su float64
			for i := range w {
				su += float64((float64(i) - centre) * (w[i][k] - f.mean[k]))
			}
			f.slope[k] = su / suu
		}
	}
	var rss float64
	for i := range w {
		u := float64(i) - centre
		for k := range f.mean {
			r := w[i][k] - f.mean[k] - float64(f.slope[k]*u)
			rss += float64(r * r)
		}
	}
	dof := max(1, len(f.mean)*(n-2))
	m := rss/float64(dof) + smoothFloor
	// The square makes a window that straddles the start or end of a
	// movement, whose residual is tens of times the noise, count hundreds of
	// times less than a window on either side of it.
	f.weight = 1 / float64(m*m)
	return f
}
