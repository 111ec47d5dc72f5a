// Package mtcnn is OpenFace 2.2's MTCNN face detector
// (FaceDetectorMTCNN::DetectFaces and DetectSingleFaceMTCNN), reproduced
// step by step so that the boxes handed to CLNF match OpenFace's: the same
// pyramid, OpenCV's own float resize and exp, integer-rounded NMS with
// OpenFace's tie order, the truncating box arithmetic and the off-by-one
// crop canvases.
//
// The three networks are supplied as cnn.Runners, so the same detector runs
// on the plain-Go forward pass or on ONNX Runtime.
package mtcnn

import (
	"context"
	"errors"
	"fmt"
	"image"

	"facemirror/models/cnn"

	"gocv.io/x/gocv"
)

// ErrImageTooSmall reports an image whose smaller side is too short for a
// single pyramid level (below the minimum face size, 60 px by default).
// OpenFace detects nothing there, or throws on a negative level count.
var ErrImageTooSmall = errors.New("mtcnn: image too small for face detection")

// Face is one detection.
type Face struct {
	// Raw is the ONet box before the final landmark-tightening correction.
	Raw Rect
	// Box is the corrected box: what DetectFaces returns and CLNF starts from.
	Box Rect
	// Confidence is the ONet face probability.
	Confidence float32
}

// Options are the DetectFaces parameters.
type Options struct {
	// MinFace is the smallest face side searched for, in pixels.
	MinFace float64
	// Thresholds are the PNet, RNet and ONet probability thresholds.
	Thresholds [3]float32
	// Factor is the ratio between successive pyramid scales.
	Factor float64
}

// DefaultOptions returns the values OpenFace's FeatureExtraction uses:
// minimum face 60 px, thresholds 0.6/0.7/0.7, pyramid factor 0.709.
func DefaultOptions() Options {
	return Options{MinFace: 60, Thresholds: [3]float32{0.6, 0.7, 0.7}, Factor: 0.709}
}

func (o Options) validate() error {
	if !(o.MinFace > 0) {
		return fmt.Errorf("mtcnn: minimum face size %g must be positive", o.MinFace)
	}
	if !(o.Factor > 0 && o.Factor < 1) {
		return fmt.Errorf("mtcnn: pyramid factor %g must lie in (0, 1)", o.Factor)
	}
	return nil
}

// Network input sizes of the refinement stages.
const (
	rnetSide = 24
	onetSide = 48
)

// NMS thresholds used by DetectFaces, as the float parameters it passes.
const (
	nmsPerScale   float32 = 0.5
	nmsCrossScale float32 = 0.7
	nmsRNet       float32 = 0.7
	nmsONet       float32 = 0.7
)

// Detector runs the three-stage cascade. It holds no per-call state, so it
// is safe for concurrent use when its runners are.
type Detector struct {
	pnet, rnet, onet cnn.Runner
	opt              Options
}

// New returns a detector running the given PNet, RNet and ONet.
func New(pnet, rnet, onet cnn.Runner, opt Options) *Detector {
	return &Detector{pnet: pnet, rnet: rnet, onet: onet, opt: opt}
}

// Detect finds faces in an 8-bit BGR image (CV_8UC3; CV_8UC1 grey is
// expanded to three channels first). Faces come in OpenFace's order,
// descending ONet confidence. No face gives an empty slice and a nil
// error; an image too small for the pyramid gives ErrImageTooSmall.
func (d *Detector) Detect(ctx context.Context, bgr gocv.Mat) ([]Face, error) {
	return d.detect(ctx, bgr, nil)
}

// SelectSingle picks the face DetectSingleFaceMTCNN hands to CLNF: the one
// with the widest corrected box, the earliest on ties. ok is false when
// faces is empty.
func SelectSingle(faces []Face) (Face, bool) {
	if len(faces) == 0 {
		return Face{}, false
	}
	best := 0
	for i := 1; i < len(faces); i++ {
		if faces[i].Box.W > faces[best].Box.W {
			best = i
		}
	}
	return faces[best], true
}

// trace records the intermediate stages for tests; nil in production.
type trace struct {
	levels       []level
	aboveT1      []int
	perScale     [][]candidate // after per-scale NMS
	crossScale   int           // after cross-scale NMS
	rnetIn       []candidate   // boxes with PNet scores
	rnetOut      []candidate   // boxes with RNet scores and regressions
	rnetAbove    int
	rnetNMS      int
	onetIn       []candidate
	onetOut      []candidate
	onetAbove    int
	raw          []candidate
	pnetMaxProbs []float32
}

func (d *Detector) detect(ctx context.Context, src gocv.Mat, tr *trace) (faces []Face, err error) {
	if err := d.opt.validate(); err != nil {
		return nil, err
	}
	if src.Empty() {
		return nil, errors.New("mtcnn: empty image")
	}
	w, h := src.Cols(), src.Rows()
	levels, err := pyramid(w, h, d.opt)
	if err != nil {
		return nil, err
	}

	img := gocv.NewMat()
	defer img.Close()
	switch src.Type() {
	case gocv.MatTypeCV8UC3:
		src.ConvertTo(&img, gocv.MatTypeCV32FC3)
	case gocv.MatTypeCV8UC1:
		colour := gocv.NewMat()
		gocv.CvtColor(src, &colour, gocv.ColorGrayToBGR)
		colour.ConvertTo(&img, gocv.MatTypeCV32FC3)
		colour.Close()
	default:
		return nil, fmt.Errorf("mtcnn: image type %v is not 8-bit BGR or grey", src.Type())
	}
	pixels, err := img.DataPtrFloat32()
	if err != nil {
		return nil, fmt.Errorf("mtcnn: read float image: %w", err)
	}

	// A runner that returns malformed tensors must not take the caller down.
	defer func() {
		if r := recover(); r != nil {
			faces, err = nil, fmt.Errorf("mtcnn: detection on %dx%d image failed: %v", w, h, r)
		}
	}()

	cands, err := d.proposals(ctx, img, levels, tr)
	if err != nil {
		return nil, err
	}
	if tr != nil {
		tr.rnetIn = append([]candidate(nil), cands...)
	}

	crop := newCropper(img, pixels)
	defer crop.Close()

	// RNet: rescore, keep, suppress, regress, square.
	cands, err = d.refine(ctx, d.rnet, "RNet", crop, cands, rnetSide)
	if err != nil {
		return nil, err
	}
	if tr != nil {
		tr.rnetOut = append([]candidate(nil), cands...)
	}
	cands = threshold(cands, d.opt.Thresholds[1])
	if tr != nil {
		tr.rnetAbove = len(cands)
	}
	cands = subset(cands, nms(cands, nmsRNet, false))
	if tr != nil {
		tr.rnetNMS = len(cands)
	}
	applyCorrection(cands, false)
	rectify(cands)
	if tr != nil {
		tr.onetIn = append([]candidate(nil), cands...)
	}

	// ONet: rescore, keep, regress (one pixel larger), suppress by min-area.
	cands, err = d.refine(ctx, d.onet, "ONet", crop, cands, onetSide)
	if err != nil {
		return nil, err
	}
	if tr != nil {
		tr.onetOut = append([]candidate(nil), cands...)
	}
	cands = threshold(cands, d.opt.Thresholds[2])
	if tr != nil {
		tr.onetAbove = len(cands)
	}
	applyCorrection(cands, true)
	cands = subset(cands, nms(cands, nmsONet, true))
	if tr != nil {
		tr.raw = append([]candidate(nil), cands...)
	}

	faces = make([]Face, len(cands))
	for i, c := range cands {
		faces[i] = Face{Raw: c.box, Box: finalCorrection(c.box), Confidence: c.score}
	}
	return faces, nil
}

// proposals runs PNet over the pyramid and returns the squared, regressed
// candidates that go into RNet.
func (d *Detector) proposals(ctx context.Context, img gocv.Mat, levels []level, tr *trace) ([]candidate, error) {
	lvl := gocv.NewMat()
	defer lvl.Close()
	expOut := gocv.NewMat()
	defer expOut.Close()

	var all []candidate
	var diff []float32
	for i, l := range levels {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		gocv.Resize(img, &lvl, image.Pt(l.w, l.h), 0, 0, gocv.InterpolationLinear)
		px, err := lvl.DataPtrFloat32()
		if err != nil {
			return nil, fmt.Errorf("mtcnn: read pyramid level %d: %w", i, err)
		}
		in := cnn.NewTensor(1, 3, l.h, l.w)
		fillPlanes(in.Data, px, l.w*l.h)
		out, err := d.pnet.Run(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("mtcnn: PNet on %dx%d level %d: %w", l.w, l.h, i, err)
		}
		if err := out.Check(); err != nil {
			return nil, fmt.Errorf("mtcnn: PNet output on level %d: %w", i, err)
		}
		if out.N != 1 || out.C < 6 || out.H != l.mapH || out.W != l.mapW {
			return nil, fmt.Errorf("mtcnn: PNet output on %dx%d level %d is %dx%dx%dx%d, want 1x6x%dx%d",
				l.w, l.h, i, out.N, out.C, out.H, out.W, l.mapH, l.mapW)
		}

		// prob = 1/(1+exp(out0−out1)) with OpenCV's vectorised exp, which
		// differs from libm in the last bits.
		plane := out.H * out.W
		if cap(diff) < plane {
			diff = make([]float32, plane)
		}
		diff = diff[:plane]
		for k := range diff {
			diff[k] = out.Data[k] - out.Data[plane+k]
		}
		prob, err := cvExp(&expOut, diff, out.H, out.W)
		if err != nil {
			return nil, fmt.Errorf("mtcnn: PNet probability on level %d: %w", i, err)
		}
		for k, e := range prob {
			prob[k] = 1 / (e + 1)
		}

		cands := generateBoxes(prob, out.Data[2*plane:6*plane], out.W, out.H, float32(l.scale), d.opt.Thresholds[0])
		above := len(cands)
		cands = subset(cands, nms(cands, nmsPerScale, false))
		if tr != nil {
			tr.levels = append(tr.levels, l)
			tr.aboveT1 = append(tr.aboveT1, above)
			tr.perScale = append(tr.perScale, append([]candidate(nil), cands...))
			var m float32
			for _, p := range prob {
				m = max(m, p)
			}
			tr.pnetMaxProbs = append(tr.pnetMaxProbs, m)
		}
		all = append(all, cands...)
	}

	all = subset(all, nms(all, nmsCrossScale, false))
	if tr != nil {
		tr.crossScale = len(all)
	}
	applyCorrection(all, false)
	rectify(all)
	return all, nil
}

// cvExp runs OpenCV's exp over a rows×cols float map and returns the result
// as a slice into out, valid until out changes.
func cvExp(out *gocv.Mat, v []float32, rows, cols int) ([]float32, error) {
	m, err := gocv.NewMatFromBytes(rows, cols, gocv.MatTypeCV32FC1, floatBytes(v))
	if err != nil {
		return nil, err
	}
	defer m.Close()
	gocv.Exp(m, out)
	return out.DataPtrFloat32()
}

// refine runs RNet or ONet on every candidate in one batch and replaces each
// candidate's score and regression with the network's.
func (d *Detector) refine(ctx context.Context, net cnn.Runner, name string, crop *cropper, cands []candidate, side int) ([]candidate, error) {
	if len(cands) == 0 {
		return cands, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in := cnn.NewTensor(len(cands), 3, side, side)
	per := 3 * side * side
	usable := make([]bool, len(cands))
	for k, c := range cands {
		x, y := cTrunc(float64(c.box.X)), cTrunc(float64(c.box.Y))
		bw, bh := cTrunc(float64(c.box.W)), cTrunc(float64(c.box.H))
		// OpenFace cannot build a canvas for a box of negative size (it
		// throws); such a degenerate regression result is dropped instead.
		if bw+1 <= 0 || bh+1 <= 0 {
			continue
		}
		if err := crop.crop(in.Data[k*per:(k+1)*per], x, y, bw, bh, side); err != nil {
			return nil, fmt.Errorf("mtcnn: %s input %d: %w", name, k, err)
		}
		usable[k] = true
	}
	out, err := net.Run(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("mtcnn: %s on %d candidates: %w", name, len(cands), err)
	}
	if err := out.Check(); err != nil {
		return nil, fmt.Errorf("mtcnn: %s output: %w", name, err)
	}
	if out.N != len(cands) || out.C < 6 || out.H != 1 || out.W != 1 {
		return nil, fmt.Errorf("mtcnn: %s output is %dx%dx%dx%d, want %dx(>=6)x1x1", name, out.N, out.C, out.H, out.W, len(cands))
	}
	res := make([]candidate, len(cands))
	for k, c := range cands {
		v := out.Data[k*out.C : k*out.C+6]
		res[k] = candidate{box: c.box, score: scoreFromLogits(v[0], v[1]), reg: [4]float32{v[2], v[3], v[4], v[5]}}
		if !usable[k] {
			res[k].score = 0
		}
	}
	return res, nil
}

// threshold keeps the candidates scoring at least t, in order.
func threshold(cands []candidate, t float32) []candidate {
	out := cands[:0:0]
	for _, c := range cands {
		if c.score >= t {
			out = append(out, c)
		}
	}
	return out
}
