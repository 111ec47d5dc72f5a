package mirror

import "errors"

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
//
// Smooth runs a Smoother over obs, so that the two cannot differ by a bit.
func Smooth(obs []Observation) ([]Line, error) {
	var s Smoother
	out := make([]Line, 0, len(obs))
	for _, o := range obs {
		var err error
		if out, err = s.add(o, out); err != nil {
			return nil, err
		}
	}
	return s.close(out)
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

// windowSet holds the fits of consecutive windows of one length, numbered
// by their first frame, as far as they are still needed.
type windowSet struct {
	span int     // frames per window: its length, or the track's if shorter
	suu  float64 // Σu² over a window
	fits queue[windowFit]
}

func newWindowSet(span int) windowSet {
	return windowSet{span: span, suu: float64(span*(span*span-1)) / 12}
}

// relVar is the variance, relative to the noise's, of a fitted line's value
// u frames from the window's centre.
func (ws *windowSet) relVar(u float64) float64 {
	if ws.suu == 0 {
		return 1
	}
	return 1/float64(ws.span) + float64(u*u)/ws.suu
}

// vote adds to sum and wsum the votes for frame t of the windows that
// contain it in a track of n frames, in increasing order of their start
// (float addition is not associative, so the order is part of the result).
// Each window votes with its line's value at t, weighted by the inverse of
// the variance that value would have from white noise of the window's
// residual size.
func (ws *windowSet) vote(t, n int, sum *coords, wsum *float64) {
	lo, hi := max(0, t-ws.span+1), min(t, n-ws.span)
	// The sums are kept in variables, which unlike an array's elements can
	// stay in registers; each is still added to in the same order.
	s0, s1, s2, s3, sw := sum[0], sum[1], sum[2], sum[3], *wsum
	for _, f := range ws.fits.slice(lo, hi+1) {
		u := float64(t) - f.centre
		w := f.weight / ws.relVar(u)
		s0 += float64(w * (f.mean[0] + float64(f.slope[0]*u)))
		s1 += float64(w * (f.mean[1] + float64(f.slope[1]*u)))
		s2 += float64(w * (f.mean[2] + float64(f.slope[2]*u)))
		s3 += float64(w * (f.mean[3] + float64(f.slope[3]*u)))
		sw += w
	}
	*sum, *wsum = coords{s0, s1, s2, s3}, sw
}

// smoothFrame returns frame t's smoothed midline in a track of n frames:
// the weighted mean of the votes of the short windows, then of the long
// ones, that contain t. Their fits must be in wins.
func smoothFrame(t, n int, wins *[2]windowSet) Line {
	var sum coords
	var wsum float64
	for i := range wins {
		wins[i].vote(t, n, &sum, &wsum)
	}
	for k := range sum {
		sum[k] /= wsum
	}
	return sum.line()
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
