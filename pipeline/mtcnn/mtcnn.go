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
	"runtime"
	"sync"
	"sync/atomic"

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

// Detector runs the three-stage cascade. It is safe for concurrent use
// when its runners are: each call takes its buffers from a pool of
// workspaces, so a Detector used one frame after another allocates almost
// nothing.
type Detector struct {
	pnet, rnet, onet cnn.Runner
	opt              Options
	work             sync.Pool // of *workspace
	big              bigFrames
}

// maxPooledPixels is the largest frame whose workspace is kept for the
// next detection (640×480). A 1080p frame's workspace is about 70 MB (the
// float image alone 25 MB), which the Go heap then held long after the
// detection, since a helper tracking a face detects rarely: peak memory
// of mode aus on d04 was 458-508 MB with it pooled and 392-399 MB without
// (all processes). Unpooled, a 1080p detection takes 64-91 ms instead of
// 43-64 (BenchmarkDetect1920x1080).
const maxPooledPixels = 640 * 480

// workspaceRunner is a Runner that can reuse a cnn.Workspace, as the
// plain-Go *cnn.Net does.
type workspaceRunner interface {
	RunWorkspace(ctx context.Context, ws *cnn.Workspace, in cnn.Tensor) (cnn.Tensor, error)
}

// workspace holds the buffers of one detection. Every buffer is fully
// written before it is read, so nothing is cleared between calls.
//
// The float image of a frame up to maxPooledPixels lives in Go memory
// rather than in a Mat of its own so that a frame does not fault in fresh
// pages each time (the helpers hand every C allocation over 1 MB to mmap);
// the pool keeps it while frames keep coming and the garbage collector
// frees it once detection stops. Only those workspaces go back to the
// pool; a larger frame's float image is mapped outside the Go heap and
// kept only briefly between detections (see detect and bigFrames).
type workspace struct {
	frame  []float32 // the image in float, interleaved BGR (pooled sizes)
	level  []float32 // one pyramid level, interleaved BGR
	input  []float32 // a network input (PNet level, RNet/ONet batch)
	diff   []float32 // PNet's out0 − out1
	exp    []float32 // exp(diff)
	canvas []float32 // an off-image crop canvas
	patch  []float32 // one resized crop
	nets   [3]cnn.Workspace
}

// run runs net (PNet, RNet or ONet: i = 0, 1, 2) on in, with the
// workspace's buffers when the runner can use them. The result may lie in
// the workspace and stays valid until that network runs again.
func (ws *workspace) run(ctx context.Context, net cnn.Runner, i int, in cnn.Tensor) (cnn.Tensor, error) {
	if r, ok := net.(workspaceRunner); ok {
		return r.RunWorkspace(ctx, &ws.nets[i], in)
	}
	return net.Run(ctx, in)
}

// grow returns b resliced to n values, reallocated if too small; the
// values are left as they were.
func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// wrapFloat returns a rows×cols Mat of the given float type over buf,
// which must hold exactly its values; OpenCV functions writing into it
// with that size and type fill buf. The caller closes the Mat and keeps
// buf alive meanwhile.
func wrapFloat(buf []float32, rows, cols int, mt gocv.MatType) (gocv.Mat, error) {
	return gocv.NewMatFromBytes(rows, cols, mt, floatBytes(buf))
}

// checkWrapped makes sure OpenCV wrote into buf rather than reallocating
// m: the caller reads buf.
func checkWrapped(m gocv.Mat, buf []float32) error {
	px, err := m.DataPtrFloat32()
	if err != nil {
		return err
	}
	if len(px) != len(buf) || len(buf) == 0 || &px[0] != &buf[0] {
		return errors.New("OpenCV reallocated a wrapped matrix")
	}
	return nil
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

	if t := src.Type(); t != gocv.MatTypeCV8UC3 && t != gocv.MatTypeCV8UC1 {
		return nil, fmt.Errorf("mtcnn: image type %v is not 8-bit BGR or grey", t)
	}
	ws, _ := d.work.Get().(*workspace)
	if ws == nil {
		ws = new(workspace)
	}
	var pixels []float32
	if w*h <= maxPooledPixels {
		defer d.work.Put(ws)
		ws.frame = grow(ws.frame, w*h*3)
		pixels = ws.frame
	} else {
		// A large frame's float copy lives outside the Go heap, in memory
		// mapped for it with huge pages (hugemem: a 1080p frame's first
		// writes took 6,000 page faults, about 60 ms of its first
		// detection on the development machine), kept for the next
		// detection only briefly (bigFrames). Deferred first, returned
		// last: after the Mat over it is closed and every crop from it
		// is made.
		buf := d.big.get(w * h * 3)
		defer d.big.put(buf)
		pixels = buf.Data
	}
	img, err := wrapFloat(pixels, h, w, gocv.MatTypeCV32FC3)
	if err != nil {
		return nil, fmt.Errorf("mtcnn: float image: %w", err)
	}
	defer img.Close()
	if src.Type() == gocv.MatTypeCV8UC3 {
		src.ConvertTo(&img, gocv.MatTypeCV32FC3)
	} else {
		colour := gocv.NewMat()
		gocv.CvtColor(src, &colour, gocv.ColorGrayToBGR)
		colour.ConvertTo(&img, gocv.MatTypeCV32FC3)
		colour.Close()
	}
	if err := checkWrapped(img, pixels); err != nil {
		return nil, fmt.Errorf("mtcnn: float image: %w", err)
	}

	// A runner that returns malformed tensors must not take the caller down.
	defer func() {
		if r := recover(); r != nil {
			faces, err = nil, fmt.Errorf("mtcnn: detection on %dx%d image failed: %v", w, h, r)
		}
	}()

	newLane := func(ws *workspace) lane {
		c := newCropper(img, pixels)
		c.canvas = ws.canvas
		return lane{ws: ws, crop: c}
	}
	lanes := []lane{newLane(ws)}
	if tr == nil && d.twoLanes(w, h) {
		// A second workspace and cropper for the work that splits over
		// two goroutines with the same arithmetic on each: the pyramid
		// levels and the RNet and ONet batches. Tests that trace a
		// detection keep to one.
		other, _ := d.work.Get().(*workspace)
		if other == nil {
			other = new(workspace)
		}
		if w*h <= maxPooledPixels {
			defer d.work.Put(other)
		}
		lanes = append(lanes, newLane(other))
	}
	defer func() {
		for _, l := range lanes {
			l.ws.canvas = l.crop.canvas // it may have grown
			l.crop.Close()
		}
	}()

	cands, err := d.proposals(ctx, lanes, img, levels, tr)
	if err != nil {
		return nil, err
	}
	if tr != nil {
		tr.rnetIn = append([]candidate(nil), cands...)
	}

	// RNet: rescore, keep, suppress, regress, square.
	cands, err = d.refine(ctx, lanes, d.rnet, 1, "RNet", cands, rnetSide)
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
	cands, err = d.refine(ctx, lanes, d.onet, 2, "ONet", cands, onetSide)
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
func (d *Detector) proposals(ctx context.Context, lanes []lane, img gocv.Mat, levels []level, tr *trace) ([]candidate, error) {
	perLevel := make([][]candidate, len(levels))
	// The levels are independent until their candidates are joined in
	// level order. A level's area is half the one before, so with two
	// lanes the first one's level 0 weighs about as much as all the others.
	err := onLanes(lanes, len(levels), func(l lane, i int) (err error) {
		perLevel[i], err = d.level(ctx, l.ws, img, levels[i], i, tr)
		return err
	})
	if err != nil {
		return nil, err
	}
	var all []candidate
	for _, c := range perLevel {
		all = append(all, c...)
	}

	all = subset(all, nms(all, nmsCrossScale, false))
	if tr != nil {
		tr.crossScale = len(all)
	}
	applyCorrection(all, false)
	rectify(all)
	return all, nil
}

// lane is the memory one goroutine of a detection works with.
type lane struct {
	ws   *workspace
	crop *cropper
}

// twoLanes tells whether a detection on a w×h frame may work on two
// goroutines: every network must be the plain-Go one, whose workspaces
// keep each goroutine's buffers apart and which computes each sample of a
// batch alone (so a batch split in two gives the same numbers), and the
// frame at most maxTwoLanePixels.
func (d *Detector) twoLanes(w, h int) bool {
	for _, n := range []cnn.Runner{d.pnet, d.rnet, d.onet} {
		if _, ok := n.(workspaceRunner); !ok {
			return false
		}
	}
	return runtime.GOMAXPROCS(0) > 1 && w*h <= maxTwoLanePixels
}

// maxTwoLanePixels is the largest frame whose detection works on two
// goroutines. The second needs a workspace of its own, which for a 1080p
// frame would be another 10 MB or so at the detection's peak, when a
// helper's memory is at its highest.
const maxTwoLanePixels = 1280 * 720

// onLanes calls do(l, i) for every i in [0, n) in order on one lane, or
// spread over two goroutines with two lanes. It returns the error of the
// lowest i that failed. On the goroutines a panic in do becomes that
// item's error, as detect's own recovery makes it on the caller's.
func onLanes(lanes []lane, n int, do func(l lane, i int) error) error {
	if len(lanes) == 1 {
		for i := range n {
			if err := do(lanes[0], i); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, n)
	one := func(l lane, i int) {
		defer func() {
			if r := recover(); r != nil {
				errs[i] = fmt.Errorf("mtcnn: %v", r)
			}
		}()
		errs[i] = do(l, i)
	}
	var next atomic.Int32
	var wg sync.WaitGroup
	for _, l := range lanes {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				one(l, i)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// level runs PNet on pyramid level i (l) of the float image and returns
// its candidates after the per-scale suppression.
func (d *Detector) level(ctx context.Context, ws *workspace, img gocv.Mat, l level, i int, tr *trace) ([]candidate, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	px, err := resizeLevel(ws, img, l)
	if err != nil {
		return nil, fmt.Errorf("mtcnn: pyramid level %d: %w", i, err)
	}
	ws.input = grow(ws.input, 3*l.w*l.h)
	in := cnn.Tensor{N: 1, C: 3, H: l.h, W: l.w, Data: ws.input}
	fillPlanes(in.Data, px, l.w*l.h)
	out, err := ws.run(ctx, d.pnet, 0, in)
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
	ws.diff = grow(ws.diff, plane)
	diff := ws.diff
	for k := range diff {
		diff[k] = out.Data[k] - out.Data[plane+k]
	}
	ws.exp = grow(ws.exp, plane)
	prob, err := cvExp(ws.exp, diff, out.H, out.W)
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
	return cands, nil
}

// resizeLevel resizes the float image to pyramid level l and returns its
// pixels (interleaved BGR, in ws.level).
func resizeLevel(ws *workspace, img gocv.Mat, l level) ([]float32, error) {
	ws.level = grow(ws.level, 3*l.w*l.h)
	m, err := wrapFloat(ws.level, l.h, l.w, gocv.MatTypeCV32FC3)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	gocv.Resize(img, &m, image.Pt(l.w, l.h), 0, 0, gocv.InterpolationLinear)
	if err := checkWrapped(m, ws.level); err != nil {
		return nil, err
	}
	return ws.level, nil
}

// cvExp runs OpenCV's exp over v, a rows×cols float map, into out (as
// many values) and returns out.
func cvExp(out, v []float32, rows, cols int) ([]float32, error) {
	m, err := wrapFloat(v, rows, cols, gocv.MatTypeCV32FC1)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	e, err := wrapFloat(out, rows, cols, gocv.MatTypeCV32FC1)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	gocv.Exp(m, &e)
	if err := checkWrapped(e, out); err != nil {
		return nil, err
	}
	return out, nil
}

// refine runs RNet or ONet on every candidate in one batch and replaces each
// candidate's score and regression with the network's. With two lanes the
// batch is split in two halves, one on each: each sample is computed alone
// (see twoLanes), so the numbers are the same.
func (d *Detector) refine(ctx context.Context, lanes []lane, net cnn.Runner, stage int, name string, cands []candidate, side int) ([]candidate, error) {
	if len(cands) == 0 {
		return cands, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := make([]candidate, len(cands))
	if len(cands) < 2 {
		lanes = lanes[:1]
	}
	half := (len(cands) + 1) / 2
	parts := [][2]int{{0, len(cands)}}
	if len(lanes) == 2 {
		parts = [][2]int{{0, half}, {half, len(cands)}}
	}
	err := onLanes(lanes, len(parts), func(l lane, i int) error {
		lo, hi := parts[i][0], parts[i][1]
		return d.refineBatch(ctx, l, net, stage, name, cands[lo:hi], res[lo:hi], lo, side)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// refineBatch runs the network on cands as one batch and writes each
// candidate's rescored copy to res. first is the index of cands[0] in the
// whole batch, for messages.
func (d *Detector) refineBatch(ctx context.Context, l lane, net cnn.Runner, stage int, name string, cands, res []candidate, first, side int) error {
	ws := l.ws
	ws.input = grow(ws.input, len(cands)*3*side*side)
	in := cnn.Tensor{N: len(cands), C: 3, H: side, W: side, Data: ws.input}
	per := 3 * side * side
	usable := make([]bool, len(cands))
	for k, c := range cands {
		x, y := cTrunc(float64(c.box.X)), cTrunc(float64(c.box.Y))
		bw, bh := cTrunc(float64(c.box.W)), cTrunc(float64(c.box.H))
		// OpenFace cannot build a canvas for a box of negative size (it
		// throws); such a degenerate regression result is dropped instead.
		if bw+1 <= 0 || bh+1 <= 0 {
			// The network still sees the input of zeros a fresh tensor
			// had, and its regression is kept.
			clear(in.Data[k*per : (k+1)*per])
			continue
		}
		if err := l.crop.crop(in.Data[k*per:(k+1)*per], x, y, bw, bh, side); err != nil {
			return fmt.Errorf("mtcnn: %s input %d: %w", name, first+k, err)
		}
		usable[k] = true
	}
	out, err := ws.run(ctx, net, stage, in)
	if err != nil {
		return fmt.Errorf("mtcnn: %s on %d candidates: %w", name, len(cands), err)
	}
	if err := out.Check(); err != nil {
		return fmt.Errorf("mtcnn: %s output: %w", name, err)
	}
	if out.N != len(cands) || out.C < 6 || out.H != 1 || out.W != 1 {
		return fmt.Errorf("mtcnn: %s output is %dx%dx%dx%d, want %dx(>=6)x1x1", name, out.N, out.C, out.H, out.W, len(cands))
	}
	for k, c := range cands {
		v := out.Data[k*out.C : k*out.C+6]
		res[k] = candidate{box: c.box, score: scoreFromLogits(v[0], v[1]), reg: [4]float32{v[2], v[3], v[4], v[5]}}
		if !usable[k] {
			res[k].score = 0
		}
	}
	return nil
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
