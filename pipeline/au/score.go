package au

// scorer evaluates all predictors on feature vectors.
//
// OpenFace computes each group's scores as one OpenCV product
// (x − means − median)·W + b of a 1×4702 row by a 4702×K matrix, which
// OpenCV does itself (too few rows for BLAS): every score is a plain
// sequential sum over the 4702 products, unfused, then the bias is added.
// Every kernel here keeps exactly that chain per score, so scores are
// bit-identical whichever kernel (one or two frames, one or two predictors
// at a time) computes them.
type scorer struct {
	sets  []inputSet
	items []scoreItem // intensity predictors, then occurrence predictors
}

// inputSet is one distinct input vector: the features minus a mean vector,
// minus the running median for dynamic predictors.
type inputSet struct {
	means   []float64
	dynamic bool
	items   []int // indices into scorer.items
}

type scoreItem struct {
	weights []float64
	bias    float64
}

func newScorer(p *Predictors) *scorer {
	s := &scorer{}
	add := func(pr Predictor) {
		idx := len(s.items)
		s.items = append(s.items, scoreItem{weights: pr.Weights, bias: pr.Bias})
		for i := range s.sets {
			if s.sets[i].dynamic == pr.Dynamic && sameValues(s.sets[i].means, pr.Means) {
				s.sets[i].items = append(s.sets[i].items, idx)
				return
			}
		}
		s.sets = append(s.sets, inputSet{means: pr.Means, dynamic: pr.Dynamic, items: []int{idx}})
	}
	for _, pr := range p.Intensity {
		add(pr)
	}
	for _, pr := range p.Occurrence {
		add(pr)
	}
	return s
}

func sameValues(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// scoreScratch holds the per-set input vectors of up to two frames.
type scoreScratch struct {
	d [2][][]float64
}

func (s *scorer) newScratch() *scoreScratch {
	sc := &scoreScratch{}
	for f := range sc.d {
		sc.d[f] = make([][]float64, len(s.sets))
		for i := range sc.d[f] {
			sc.d[f][i] = make([]float64, FeatureLen)
		}
	}
	return sc
}

// score writes the raw scores of every item for the feature vectors xs
// (one or two frames) into out[f] (len(items) values each).
func (s *scorer) score(out [][]float64, xs [][]float64, median []float64, sc *scoreScratch) {
	nf := len(xs)
	for f := 0; f < nf; f++ {
		x := xs[f][:FeatureLen]
		for si, set := range s.sets {
			d := sc.d[f][si][:FeatureLen]
			m := set.means[:FeatureLen]
			if set.dynamic {
				med := median[:FeatureLen]
				for k := range d {
					d[k] = (x[k] - m[k]) - med[k]
				}
			} else {
				for k := range d {
					d[k] = x[k] - m[k]
				}
			}
		}
	}
	for si, set := range s.sets {
		items := set.items
		j := 0
		for ; j+1 < len(items); j += 2 {
			a, b := &s.items[items[j]], &s.items[items[j+1]]
			if nf == 2 {
				r00, r01, r10, r11 := dot2x2(sc.d[0][si], sc.d[1][si], a.weights, b.weights)
				out[0][items[j]], out[0][items[j+1]] = r00+a.bias, r01+b.bias
				out[1][items[j]], out[1][items[j+1]] = r10+a.bias, r11+b.bias
			} else {
				r0, r1 := dot1x2(sc.d[0][si], a.weights, b.weights)
				out[0][items[j]], out[0][items[j+1]] = r0+a.bias, r1+b.bias
			}
		}
		if j < len(items) {
			a := &s.items[items[j]]
			for f := 0; f < nf; f++ {
				out[f][items[j]] = dot1(sc.d[f][si], a.weights) + a.bias
			}
		}
	}
}

// The kernels below sum products in index order, one chain per result.
// The explicit float64 conversions forbid fusing a product into an FMA.

func dot1(d, w []float64) float64 {
	w = w[:len(d)]
	var s float64
	for k, v := range d {
		s += float64(v * w[k])
	}
	return s
}

func dot1x2(d, w0, w1 []float64) (s0, s1 float64) {
	n := len(d)
	w0, w1 = w0[:n], w1[:n]
	for k, v := range d {
		s0 += float64(v * w0[k])
		s1 += float64(v * w1[k])
	}
	return
}

func dot2x2(d0, d1, w0, w1 []float64) (s00, s01, s10, s11 float64) {
	n := len(d0)
	d1, w0, w1 = d1[:n], w0[:n], w1[:n]
	for k := 0; k < n; k++ {
		x0, x1 := d0[k], d1[k]
		u, v := w0[k], w1[k]
		s00 += float64(x0 * u)
		s01 += float64(x0 * v)
		s10 += float64(x1 * u)
		s11 += float64(x1 * v)
	}
	return
}
