package mirror

import "fmt"

// This file freezes Smooth as it was before the streaming Smoother was
// added (fillGaps, smoothLines, fitWindow and lerpLine copied and renamed),
// so that tests can check, bit for bit, that neither Smooth nor Smoother
// has changed a result. Do not edit it to follow later changes of
// smooth.go: a difference from refSmooth is what the tests must catch.

func refSmooth(obs []Observation) ([]Line, error) {
	filled, err := refFillGaps(obs)
	if err != nil {
		return nil, err
	}
	return refSmoothLines(filled), nil
}

func refFillGaps(obs []Observation) ([]Line, error) {
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
				out[j] = refLerpLine(out[prev], o.Line, j-prev, i-j)
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

func refLerpLine(a, b Line, da, db int) Line {
	f := func(u, v float64) float64 {
		return (float64(u*float64(db)) + float64(v*float64(da))) / float64(da+db)
	}
	return Line{
		Glabella: Point{f(a.Glabella.X, b.Glabella.X), f(a.Glabella.Y, b.Glabella.Y)},
		Chin:     Point{f(a.Chin.X, b.Chin.X), f(a.Chin.Y, b.Chin.Y)},
	}
}

func refSmoothLines(in []Line) []Line {
	n := len(in)
	series := make([]coords, n)
	for i, l := range in {
		series[i] = coords{l.Glabella.X, l.Glabella.Y, l.Chin.X, l.Chin.Y}
	}
	sums := make([]coords, n)
	wsums := make([]float64, n)
	for _, length := range [...]int{7, 21} {
		span := min(length, n)
		suu := float64(span*(span*span-1)) / 12 // Σu² over the window
		relVar := func(u float64) float64 {
			if suu == 0 {
				return 1
			}
			return 1/float64(span) + float64(u*u)/suu
		}
		for j := range n - span + 1 {
			f := refFitWindow(series[j:j+span], j)
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
		out[t] = Line{Glabella: Point{sum[0], sum[1]}, Chin: Point{sum[2], sum[3]}}
	}
	return out
}

func refFitWindow(w []coords, start int) windowFit {
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
	m := rss/float64(dof) + 1e-4
	f.weight = 1 / float64(m*m)
	return f
}
