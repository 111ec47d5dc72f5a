package clnf

import (
	"context"
	"math"
	"slices"

	"facemirror/pipeline/pdm"
)

// fitResult is the outcome of CLNF::DetectLandmarks on the main model.
type fitResult struct {
	p         params
	landmarks []float32
	// likelihood is the main model's last computed likelihood (kept from
	// before when this fit computed none, which carried tells).
	likelihood float32
	carried    bool
	success    bool
	certainty  float32
	// parts is each part model's state after the fit, in model order (nil
	// from a fit that leaves the part models as they were).
	parts []partState
}

// partState is what a hierarchical part model holds after a frame, as
// OpenFace's CLNF keeps it in hierarchical_models: its parameters and
// their projection.
type partState struct {
	p         params
	landmarks []float32
}

// partTracer receives the part models' results; tests use it.
type partTracer interface {
	tracer
	// partMapped is called with a part's CalcParams result on the mapped
	// main landmarks, and fitted tells whether the part is then fitted.
	partMapped(part string, p params, fitted bool)
	// merged is called with the main landmarks after the part landmarks
	// were written over them, before the main PDM is re-fitted.
	merged(landmarks []float32)
}

// detectLandmarks is CLNF::DetectLandmarks for the main model: fit from p
// with the given window sizes, then the hierarchical part models and the
// validator. prevLik is the model likelihood before the call, kept when
// the fit computes none.
func (m *Model) detectLandmarks(ctx context.Context, img *frame, p params, windows []int, prevLik float32, tr partTracer) (fitResult, error) {
	r, fitOK, err := m.fitLandmarks(ctx, img, p, windows, prevLik, tr)
	if err != nil {
		return fitResult{}, err
	}
	if err := m.validate(&r, fitOK, img); err != nil {
		return fitResult{}, err
	}
	return r, nil
}

// fitLandmarks is detectLandmarks without the validator: r lacks success
// and certainty, which validate sets. fitOK is false for a fit that
// validate must leave failed (the face too small, or landmarks not
// finite).
func (m *Model) fitLandmarks(ctx context.Context, img *frame, p params, windows []int, prevLik float32, tr partTracer) (r fitResult, fitOK bool, err error) {
	c := m.main
	var tc tracer
	if tr != nil {
		tc = tr
	}
	fitOK, lik, hasLik, err := c.fit(ctx, img, &p, windows, tc)
	if err != nil {
		return fitResult{}, false, err
	}
	carried := !hasLik
	if carried {
		lik = prevLik
	}
	landmarks, err := c.pdm.Shape2D(p.g, p.local, nil)
	if err != nil {
		return fitResult{}, false, err
	}
	if !finite(landmarks) {
		// A degenerate fit (a response map of zeros makes the mean shift
		// 0/0) cannot be refined or validated; it simply fails, and the
		// tracker re-detects. OpenFace would fit the part models to the
		// non-finite landmarks; they are marked non-finite here.
		return fitResult{p: p, landmarks: landmarks, likelihood: lik, carried: carried, parts: m.nonFiniteParts()}, false, nil
	}
	var parts []partState
	if c.set.refineHierarchical && len(m.parts) > 0 {
		p, landmarks, parts, err = m.refineParts(ctx, img, p, landmarks, tr)
		if err != nil {
			return fitResult{}, false, err
		}
	}
	return fitResult{p: p, landmarks: landmarks, likelihood: lik, carried: carried, parts: parts}, fitOK, nil
}

// validate sets r's success and certainty: the validator's verdict on
// img, or success without it when the model does not validate. It reads
// r and img only, so it may run beside a fit on other memory.
func (m *Model) validate(r *fitResult, fitOK bool, img *frame) error {
	c := m.main
	switch {
	case c.set.validate && fitOK:
		certainty, err := m.valid.check(r.p.g.Rotation(), img, r.landmarks)
		if err != nil {
			return err
		}
		r.certainty = certainty
		r.success = certainty > c.set.validationBoundary
	case fitOK:
		r.success, r.certainty = true, 1
	}
	return nil
}

// refineParts runs the hierarchical part models (the end of
// CLNF::DetectLandmarks): each part's PDM is fitted to the mapped main
// landmarks (unmapped points stay 0, which CalcParams reads as missing);
// when the face is large enough (main scale above 0.9 of the part's patch
// scaling) the part is fitted to the image, and if any part was, their
// landmarks are written back in part order, the main PDM is re-fitted to
// the result and the landmarks become its reconstruction. It also returns
// every part's state, fitted or not: OpenFace's eye landmarks and gaze
// are read from it.
//
// The parts are independent of one another until they are merged, so with
// spare scratch memory in img they run on all cores, as OpenFace runs them
// in parallel too; on a large face they are half of a tracked frame.
func (m *Model) refineParts(ctx context.Context, img *frame, p params, landmarks []float32, tr partTracer) (params, []float32, []partState, error) {
	n := m.main.pdm.NumPoints()
	parts := make([]partState, len(m.parts))
	fitted := make([]bool, len(m.parts))
	errs := make([]error, len(m.parts))
	if tr != nil || len(img.spare) == 0 {
		// One after another: tests trace the parts in order.
		for k := range m.parts {
			if parts[k], fitted[k], errs[k] = m.refinePart(ctx, img, k, p.g.Scale, landmarks, tr); errs[k] != nil {
				return params{}, nil, nil, errs[k]
			}
		}
	} else {
		img.each(len(m.parts), func(k int, f *frame) {
			parts[k], fitted[k], errs[k] = m.refinePart(ctx, f, k, p.g.Scale, landmarks, nil)
		})
		for _, err := range errs {
			if err != nil {
				return params{}, nil, nil, err
			}
		}
	}
	if !slices.Contains(fitted, true) {
		return p, landmarks, parts, nil
	}
	merged := append([]float32(nil), landmarks...)
	for k, pt := range m.parts {
		np := pt.pdm.NumPoints()
		for _, mp := range pt.mapping {
			merged[mp[0]] = parts[k].landmarks[mp[1]]
			merged[mp[0]+n] = parts[k].landmarks[mp[1]+np]
		}
	}
	if tr != nil {
		tr.merged(merged)
	}
	refit, err := m.main.pdm.CalcParams(merged, pdm.Euler{})
	if err != nil {
		return params{}, nil, nil, err
	}
	p = params{g: refit.Global, local: refit.Local}
	out, err := m.main.pdm.Shape2D(p.g, p.local, nil)
	if err != nil {
		return params{}, nil, nil, err
	}
	return p, out, parts, nil
}

// refinePart places part k on the main landmarks and, when the main
// model's scale is large enough for it, fits it to img. It reports whether
// the part was fitted.
func (m *Model) refinePart(ctx context.Context, img *frame, k int, mainScale float32, landmarks []float32, tr partTracer) (partState, bool, error) {
	pt := m.parts[k]
	n := m.main.pdm.NumPoints()
	np := pt.pdm.NumPoints()
	locs := make([]float32, 2*np)
	for _, mp := range pt.mapping {
		locs[mp[1]] = landmarks[mp[0]]
		locs[mp[1]+np] = landmarks[mp[0]+n]
	}
	fitted, err := pt.pdm.CalcParams(locs, pdm.Euler{})
	if err != nil {
		return partState{}, false, err
	}
	pp := params{g: fitted.Global, local: fitted.Local}
	fit := float64(mainScale) > 0.9*pt.scales[0].PatchScaling
	if tr != nil {
		tr.partMapped(pt.name, pp.clone(), fit)
	}
	if fit {
		var tc tracer
		if tr != nil {
			tc = tr
		}
		if _, _, _, err := pt.fit(ctx, img, &pp, pt.set.windowsInit, tc); err != nil {
			return partState{}, false, err
		}
	}
	pl, err := pt.pdm.Shape2D(pp.g, pp.local, nil)
	if err != nil {
		return partState{}, false, err
	}
	return partState{p: pp, landmarks: pl}, fit, nil
}

// initialParts is the part models' state before any fit, as CLNF::Read
// leaves it: all landmarks 0, scale 1 and every other parameter 0.
func (m *Model) initialParts() []partState {
	parts := make([]partState, len(m.parts))
	for k, pt := range m.parts {
		parts[k] = partState{
			p:         params{g: pdm.Global{Scale: 1}, local: make([]float32, pt.pdm.NumModes())},
			landmarks: make([]float32, 2*pt.pdm.NumPoints()),
		}
	}
	return parts
}

// nonFiniteParts is the part models' state after a fit to non-finite
// landmarks: every value NaN.
func (m *Model) nonFiniteParts() []partState {
	parts := m.initialParts()
	nan := float32(math.NaN())
	for k := range parts {
		ps := &parts[k]
		ps.p.g = pdm.Global{Scale: nan, Rx: nan, Ry: nan, Rz: nan, Tx: nan, Ty: nan}
		for i := range ps.p.local {
			ps.p.local[i] = nan
		}
		for i := range ps.landmarks {
			ps.landmarks[i] = nan
		}
	}
	return parts
}

// hypotheses are the initial rotations (pitch, yaw, roll) that
// DetectLandmarksInImage tries from a face box with multi_view on, as
// doubles narrowed to float.
var hypotheses = [...][3]float64{
	{0, 0, 0}, {0, -0.5236, 0}, {0, 0.5236, 0}, {0, -0.96, 0}, {0, 0.96, 0},
	{0, 0, 0.5236}, {0, 0, -0.5236}, {0, -1.57, 0}, {0, 1.57, 0},
	{0, -1.22, 0.698}, {0, 1.22, -0.698},
}

// hypothesisTracer is told which hypothesis is being fitted and what it
// gave.
type hypothesisTracer interface {
	partTracer
	hypothesis(h int, init params)
	hypothesisDone(h int, r fitResult)
}

// detectFromBox is DetectLandmarksInImageMultiHypBasic: for each rotation
// hypothesis, the PDM placed in the box with no deformation is fitted with
// the initial window sizes; the hypothesis with the highest likelihood
// wins (the first on ties). prevLik is the likelihood before the call.
//
// The hypotheses are independent fits of the same picture, so with spare
// scratch memory in img they run on all cores; only a likelihood carried
// over by a fit that computes none links one to the one before, and that
// is settled in order afterwards. A detection is most of a video's first
// frame (11 fits: about 60 ms for v01 one after another).
func (m *Model) detectFromBox(ctx context.Context, img *frame, box pdm.Box, prevLik float32, tr hypothesisTracer) (fitResult, error) {
	results := make([]fitResult, len(hypotheses))
	errs := make([]error, len(hypotheses))
	fitOne := func(h int, f *frame, prevLik float32) {
		rot := hypotheses[h]
		e := pdm.Euler{X: float32(rot[0]), Y: float32(rot[1]), Z: float32(rot[2])}
		local := make([]float32, m.main.pdm.NumModes())
		g, err := m.main.pdm.CalcParamsBox(box, local, e)
		if err != nil {
			errs[h] = err
			return
		}
		p := params{g: g, local: local}
		var pt partTracer
		if tr != nil {
			tr.hypothesis(h, p.clone())
			pt = tr
		}
		results[h], errs[h] = m.detectLandmarks(ctx, f, p, m.main.set.windowsInit, prevLik, pt)
		if tr != nil && errs[h] == nil {
			tr.hypothesisDone(h, results[h])
		}
	}
	if tr != nil || len(img.spare) == 0 {
		// One after another (tests trace the hypotheses in order), each
		// given the likelihood the one before left.
		lik := prevLik
		for h := range hypotheses {
			if fitOne(h, img, lik); errs[h] != nil {
				return fitResult{}, errs[h]
			}
			lik = results[h].likelihood
		}
	} else {
		img.each(len(hypotheses), func(h int, f *frame) { fitOne(h, f, prevLik) })
		for _, err := range errs {
			if err != nil {
				return fitResult{}, err
			}
		}
	}
	var best fitResult
	for h, r := range results {
		// The next hypothesis starts from this one's likelihood when it
		// computes none, as OpenFace's model_likelihood member carries.
		if r.carried {
			r.likelihood = prevLik
		}
		prevLik = r.likelihood
		if h == 0 || best.likelihood < r.likelihood {
			best = r
		}
	}
	return best, nil
}

// finite reports whether every value is a finite number.
func finite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}
