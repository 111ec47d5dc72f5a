package clnf

import (
	"context"
	"fmt"
	"image"
	"slices"
	"sync"
	"sync/atomic"

	"facemirror/pipeline/ccnf"
	"facemirror/pipeline/pdm"
)

// frame is the picture a fit works on and the scratch memory of the patch
// experts and of the fits.
type frame struct {
	gray *image.Gray
	work *ccnf.Workspace
	// fw is the fits' scratch memory; nil means a fresh one on first use.
	fw *fitWork
	// spare is scratch memory for fits run beside this frame's own: a
	// detection fits its rotation hypotheses on all cores. Without it
	// they run one after another.
	spare []fitScratch
}

// fitScratch is the scratch memory of one fit running beside others.
type fitScratch struct {
	work *ccnf.Workspace
	fw   *fitWork
}

// on returns the frame's picture with the scratch memory s.
func (f *frame) on(s fitScratch) *frame {
	return &frame{gray: f.gray, work: s.work, fw: s.fw}
}

// alone returns the frame's picture with its own scratch memory and no
// spare: the fits run beside others must not take the spare memory those
// others use.
func (f *frame) alone() *frame {
	return &frame{gray: f.gray, work: f.work, fw: f.scratch()}
}

// each calls do(i, f) for every i in [0, n), spread over one goroutine
// per set of scratch memory (the frame's own and each spare): independent
// fits of the same picture on all cores. It returns when all are done.
func (f *frame) each(n int, do func(i int, f *frame)) {
	var next atomic.Int32
	var wg sync.WaitGroup
	frames := []*frame{f.alone()}
	for _, s := range f.spare {
		frames = append(frames, f.on(s))
	}
	for _, fr := range frames {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				do(i, fr)
			}
		})
	}
	wg.Wait()
}

// fitWork is the scratch memory of a tracker's fits: the response maps and
// weights of the current patch scale and the NU-RLMS buffers, which the
// scales, the part models and the frames reuse instead of allocating. The
// fits of one frame run one after another and a scale's inputs are dead
// once its two passes are done, so one fitWork serves them all.
type fitWork struct {
	resp    ccnf.Responses
	weights []float32
	nu      nurlmsWork
}

// scratch returns the frame's fit scratch memory.
func (f *frame) scratch() *fitWork {
	if f.fw == nil {
		f.fw = new(fitWork)
	}
	return f.fw
}

// params is a CLNF model's current parameter set.
type params struct {
	g     pdm.Global
	local []float32
}

func (p params) clone() params {
	return params{g: p.g, local: append([]float32(nil), p.local...)}
}

// tracer receives the intermediate results of a fit; tests use it to
// compare each stage with OpenFace's traces. Fits take a nil tracer in
// production.
type tracer interface {
	// scaleDone is called after both NU-RLMS passes of a scale.
	scaleDone(model string, scale, ws, view int, p params)
	// iteration is called after each NU-RLMS step.
	iteration(model string, scale, ws, view int, rigid bool, iter int, p params)
}

// fit is CLNF::Fit: for each patch scale whose window size is not 0, the
// responses around the current landmarks, then a rigid and a non-rigid
// NU-RLMS pass. It updates p and returns whether the face stayed large
// enough to fit (scale ≥ 0.25) and, when one was computed, the likelihood
// of the final non-rigid pass (hasLik false otherwise).
func (c *clnf) fit(ctx context.Context, img *frame, p *params, windows []int, tr tracer) (ok bool, lik float32, hasLik bool, err error) {
	md := c.pdm
	for s := range c.scales {
		if s >= len(windows) || windows[s] == 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return false, 0, false, err
		}
		ws := windows[s]
		in, err := c.prepareScale(ctx, img, *p, s, ws)
		if err != nil {
			return false, 0, false, err
		}
		view := in.view
		var hook func(rigid bool, iter int)
		if tr != nil {
			hook = func(rigid bool, iter int) { tr.iteration(c.name, s, ws, view, rigid, iter, *p) }
		}
		if _, err := nurlms(md, &p.g, p.local, in, true, c.set.iterations, false, hook); err != nil {
			return false, 0, false, err
		}
		last := s == len(c.scales)-1 || (s+1 < len(windows) && windows[s+1] == 0) || p.g.Scale < 0.30
		l, err := nurlms(md, &p.g, p.local, in, false, c.set.iterations, last, hook)
		if err != nil {
			return false, 0, false, err
		}
		if last {
			lik, hasLik = l, true
		}
		if tr != nil {
			tr.scaleDone(c.name, s, ws, view, *p)
		}
		if p.g.Scale < 0.25 {
			return false, lik, hasLik, nil
		}
	}
	return true, lik, hasLik, nil
}

// prepareScale computes what both NU-RLMS passes of scale s with window
// size ws need: the response maps around the shape of p, the similarity
// transforms, the KDE table, the scale's settings and the weights.
func (c *clnf) prepareScale(ctx context.Context, img *frame, p params, s, ws int) (*scaleInput, error) {
	sc := c.scales[s]
	kde := c.kde[ws]
	if kde == nil {
		return nil, fmt.Errorf("clnf: %s model has no kernel table for window size %d", c.name, ws)
	}
	fw := img.scratch()
	r := &fw.resp
	if err := sc.Response(ctx, img.gray, c.pdm, p.g, p.local, ws, img.work, r); err != nil {
		return nil, fmt.Errorf("clnf: %s model, scale %d: %w", c.name, s, err)
	}
	in := &scaleInput{
		ws:       ws,
		view:     r.View,
		resp:     r.Maps,
		visible:  sc.Visibility[r.View],
		base:     r.Landmarks,
		imgToRef: r.ImgToRef,
		refToImg: r.RefToImg,
		kde:      kde,
		set:      c.set.atScale(c.scales[min(s, 2)].PatchScaling),
		work:     &fw.nu,
	}
	if in.set.weightFactor > 0 {
		n := c.pdm.NumPoints()
		fw.weights = slices.Grow(fw.weights[:0], 2*n)[:2*n]
		in.weights = fw.weights
		for i := 0; i < n; i++ {
			var conf float32
			if e := sc.Experts[r.View][i]; in.visible[i] && !e.Empty() {
				conf = float32(e.Confidence)
			}
			// GetWeightMatrix: the float confidence times the float
			// weight factor.
			w := conf * in.set.weightFactor
			in.weights[i], in.weights[i+n] = w, w
		}
	}
	return in, nil
}
