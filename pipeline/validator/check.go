package validator

import (
	"fmt"
	"image"
	"math"

	"facemirror/pipeline/pdm"
)

// Threshold is OpenFace's validation_boundary: a fit succeeds when its
// certainty is above it.
const Threshold = 0.725

// ViewIndex returns the view nearest to the head rotation (pitch, yaw,
// roll in radians) by the Euclidean distance in float64, the first view
// winning ties (DetectionValidator::GetViewId).
func (v *Validator) ViewIndex(rot pdm.Euler) int {
	o := [3]float64{float64(rot.X), float64(rot.Y), float64(rot.Z)}
	id := 0
	best := -1.0
	for i := range v.views {
		c := v.views[i].orientation
		var s float64
		for k := range o {
			t := o[k] - c[k]
			s += t * t
		}
		d := math.Sqrt(s)
		if i == 0 || d < best {
			best, id = d, i
		}
	}
	return id
}

// Check returns the validator's certainty for a landmark fit, as
// DetectionValidator::Check computes it: the view nearest to the rotation
// (the CLNF's global pitch, yaw, roll), the region of interest around the
// landmarks (bounding box ±3 pixels, truncated, clipped to the image, with
// no +1 on its size), the piecewise-affine warp of that crop to the view's
// 60×60 template (OpenCV's fixed-point remap), the normalisation and the
// CNN. The certainty is 1 − (k + 0.5)/30 for the winning output bin k
// (computed in float64 as OpenFace does, then narrowed), so a fit passes
// (certainty > Threshold) exactly when k ≤ 7. When the region is empty
// (all landmarks outside the image) the certainty is 0.
//
// img is the 8-bit grey frame (coordinates relative to img.Rect.Min);
// landmarks are 2n values, x of every point then y (n = 68). Check is safe
// for concurrent use.
func (v *Validator) Check(rot pdm.Euler, img *image.Gray, landmarks []float32) (float32, error) {
	if img == nil {
		return 0, fmt.Errorf("validator: nil image")
	}
	cols, rows := img.Rect.Dx(), img.Rect.Dy()
	if cols <= 0 || rows <= 0 || img.Stride < cols || len(img.Pix) < (rows-1)*img.Stride+cols {
		return 0, fmt.Errorf("validator: image %v with stride %d and %d pixels is not usable", img.Rect, img.Stride, len(img.Pix))
	}
	vw := &v.views[v.ViewIndex(rot)]
	n := vw.paw.numPoints
	if len(landmarks) != 2*n {
		return 0, fmt.Errorf("validator: %d landmark values, want %d", len(landmarks), 2*n)
	}
	for _, x := range landmarks {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return 0, fmt.Errorf("validator: landmarks are not finite")
		}
	}
	minXf, maxXf, minYf, maxYf := boundingBox(landmarks)
	minX, maxX := truncate(minXf-3), truncate(maxXf+3)
	minY, maxY := truncate(minYf-3), truncate(maxYf+3)
	minX, minY = max(minX, 0), max(minY, 0)
	maxX, maxY = min(maxX, cols-1), min(maxY, rows-1)
	if maxX-minX <= 1 || maxY-minY <= 1 {
		return 0, nil
	}
	crop := roi{pix: img.Pix, stride: img.Stride, x0: minX, y0: minY, w: maxX - minX, h: maxY - minY}

	xs := make([]float32, n)
	ys := make([]float32, n)
	fx, fy := float32(minX), float32(minY)
	for i := 0; i < n; i++ {
		xs[i] = landmarks[i] - fx
		ys[i] = landmarks[n+i] - fy
	}
	coeff := vw.paw.coefficients(xs, ys, nil)
	vec := make([]float32, len(vw.paw.pixels))
	for k, px := range vw.paw.pixels {
		mx, my := vw.paw.sourcePoint(px, coeff)
		vec[k] = crop.sample(mx, my)
	}
	normalise(vec, vw.mean, vw.std)

	in := make([]float32, vw.paw.w*vw.paw.h)
	for k, px := range vw.paw.pixels {
		in[px.y*vw.paw.w+px.x] = vec[k]
	}
	sc, _ := v.scratch.Get().(*scratch)
	if sc == nil {
		sc = new(scratch)
	}
	defer v.scratch.Put(sc)
	out := forward(vw, tensor{maps: 1, h: vw.paw.h, w: vw.paw.w, data: in}, sc)
	idx := 0
	for k, o := range out.data {
		if o > out.data[idx] {
			idx = k
		}
	}
	return certainty(idx, len(out.data)), nil
}

// certainty turns the winning bin of the CNN's bins over [−1, 1] into
// OpenFace's confidence: 0.5·(1 − (−1 + step/2 + idx·step)), in float64.
func certainty(idx, bins int) float32 {
	step := (1.0 - -1.0) / float64(bins)
	unq := -1.0 + step/2.0 + float64(float64(idx)*step)
	return float32(0.5 * (1.0 - unq))
}

// truncate is C's (int) cast of a float: toward zero, and INT_MIN (what
// x86's conversion gives) outside the int range.
func truncate(v float32) int {
	if !(v > -0x1p31-1 && v < 0x1p31) {
		return math.MinInt32
	}
	return int(v)
}

// boundingBox is ExtractBoundingBox for a 2n landmark vector.
func boundingBox(pts []float32) (minX, maxX, minY, maxY float32) {
	n := len(pts) / 2
	for i := 0; i < n; i++ {
		x, y := pts[i], pts[n+i]
		if i == 0 || x < minX {
			minX = x
		}
		if i == 0 || x > maxX {
			maxX = x
		}
		if i == 0 || y < minY {
			minY = y
		}
		if i == 0 || y > maxY {
			maxY = y
		}
	}
	return
}

// normalise is NormaliseWarpedToVector after the pixel gathering:
// meanStdDev in float64 (one pass, population deviation, the sums scaled by
// 1/n), then v ← (v − (float)μ)·(float)(1/σ) (σ = 1 when 0) and
// f = (v − mean)/std elementwise in float.
func normalise(vec, mean, std []float32) {
	var s, sq float64
	for _, x := range vec {
		s += float64(x)
		sq += float64(float64(x) * float64(x))
	}
	scale := 0.0
	if len(vec) > 0 {
		scale = 1.0 / float64(len(vec))
	}
	mu := s * scale
	sd := math.Sqrt(math.Max(float64(sq*scale)-float64(mu*mu), 0))
	if sd == 0 {
		sd = 1
	}
	m32, inv := float32(mu), float32(1/sd)
	for k, x := range vec {
		x = (x - m32) * inv
		vec[k] = (x - mean[k]) / std[k]
	}
}
