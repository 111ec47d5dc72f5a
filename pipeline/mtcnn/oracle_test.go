package mtcnn

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"

	"facemirror/internal/exactmath"
	"facemirror/models/cnn"

	"gocv.io/x/gocv"
)

// This file freezes the detector as it stood before it reused buffers:
// the whole pipeline from the float conversion to the ONet boxes, and the
// plain-Go forward pass it ran (fresh buffers, whole-image im2col, one
// layer after the other). The tests hold the current detector to it bit
// for bit. Only the helpers whose code did not change (pyramid, boxes, NMS,
// fillPlanes) are shared.

func (d *Detector) oracleDetect(ctx context.Context, src gocv.Mat, tr *trace) (faces []Face, err error) {
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

	cands, err := d.oracleProposals(ctx, img, levels, tr)
	if err != nil {
		return nil, err
	}
	if tr != nil {
		tr.rnetIn = append([]candidate(nil), cands...)
	}

	crop := newOracleCropper(img, pixels)
	defer crop.Close()

	// RNet: rescore, keep, suppress, regress, square.
	cands, err = d.oracleRefine(ctx, d.rnet, "RNet", crop, cands, rnetSide)
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
	cands, err = d.oracleRefine(ctx, d.onet, "ONet", crop, cands, onetSide)
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
func (d *Detector) oracleProposals(ctx context.Context, img gocv.Mat, levels []level, tr *trace) ([]candidate, error) {
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
		out, err := oracleRun(ctx, d.pnet.(*cnn.Net), in)
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
		prob, err := oracleCVExp(&expOut, diff, out.H, out.W)
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
func oracleCVExp(out *gocv.Mat, v []float32, rows, cols int) ([]float32, error) {
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
func (d *Detector) oracleRefine(ctx context.Context, net cnn.Runner, name string, crop *oracleCropper, cands []candidate, side int) ([]candidate, error) {
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
	out, err := oracleRun(ctx, net.(*cnn.Net), in)
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

// oracleCropper cuts the RNet/ONet input patches out of the float image. It keeps
// its canvas and output Mat between candidates so a stage allocates once.
type oracleCropper struct {
	mat        gocv.Mat  // the CV_32FC3 image, imgW×imgH
	img        []float32 // its pixels, interleaved BGR
	imgW, imgH int
	canvas     []float32
	out        gocv.Mat // side×side CV_32FC3
}

// newOracleCropper cuts from img, a continuous CV_32FC3 Mat whose pixels are px;
// img must outlive the oracleCropper.
func newOracleCropper(img gocv.Mat, px []float32) *oracleCropper {
	return &oracleCropper{mat: img, img: px, imgW: img.Cols(), imgH: img.Rows(), out: gocv.NewMat()}
}

func (c *oracleCropper) Close() error { return c.out.Close() }

// crop fills dst (3·side² values, R,G,B planes) with the normalised patch
// for the integer box (x, y, w, h) that rectify produced.
//
// Like OpenFace it builds a (w+1)×(h+1) canvas of raw zeros whose column j
// holds image column x−1+j (an off-by-one inherited from 1-based MATLAB
// indexing), copies the part inside the image, resizes the canvas with
// INTER_LINEAR and normalises. When no image pixel falls inside the canvas
// OpenCV would be handed an empty or negative region; the canvas then stays
// all zeros.
//
// A canvas lying wholly inside the image is just an image region, so it is
// resized in place instead of copied: resize reads rows through the stride,
// giving the same values without moving megabytes for a large face.
func (c *oracleCropper) crop(dst []float32, x, y, w, h, side int) error {
	cw, ch := w+1, h+1
	if cw <= 0 || ch <= 0 {
		return fmt.Errorf("crop canvas %dx%d for box (%d,%d,%d,%d) is empty", cw, ch, x, y, w, h)
	}
	if x >= 1 && y >= 1 && x+w <= c.imgW && y+h <= c.imgH {
		roi := c.mat.Region(image.Rect(x-1, y-1, x+w, y+h))
		gocv.Resize(roi, &c.out, image.Pt(side, side), 0, 0, gocv.InterpolationLinear)
		roi.Close()
		return c.read(dst, side)
	}
	return c.cropCanvas(dst, x, y, w, h, side)
}

// cropCanvas is crop through an explicit zero canvas; it handles any box
// with a non-empty canvas.
func (c *oracleCropper) cropCanvas(dst []float32, x, y, w, h, side int) error {
	cw, ch := w+1, h+1
	n := cw * ch * 3
	if cap(c.canvas) < n {
		c.canvas = make([]float32, n) // already zero
	} else {
		clear(c.canvas[:n])
	}
	canvas := c.canvas[:n]

	inX0, inY0 := max(x-1, 0), max(y-1, 0)
	inX1, inY1 := min(x+w, c.imgW), min(y+h, c.imgH)
	outX0, outY0 := max(1-x, 0), max(1-y, 0)
	outX1, outY1 := min(c.imgW-x+1, cw), min(c.imgH-y+1, ch)
	cols, rows := inX1-inX0, inY1-inY0
	if cols > 0 && rows > 0 && cols == outX1-outX0 && rows == outY1-outY0 {
		for r := 0; r < rows; r++ {
			src := c.img[((inY0+r)*c.imgW+inX0)*3:][:cols*3]
			copy(canvas[((outY0+r)*cw+outX0)*3:], src)
		}
	}

	m, err := gocv.NewMatFromBytes(ch, cw, gocv.MatTypeCV32FC3, floatBytes(canvas))
	if err != nil {
		return fmt.Errorf("wrap %dx%d crop canvas: %w", cw, ch, err)
	}
	gocv.Resize(m, &c.out, image.Pt(side, side), 0, 0, gocv.InterpolationLinear)
	m.Close()
	return c.read(dst, side)
}

// read normalises the resized side×side patch into dst.
func (c *oracleCropper) read(dst []float32, side int) error {
	px, err := c.out.DataPtrFloat32()
	if err != nil {
		return fmt.Errorf("read %dx%d crop: %w", side, side, err)
	}
	fillPlanes(dst, px, side*side)
	return nil
}

const oracleBLASMinRows = 100

// oracleRun is the forward pass as it was before the workspace rewrite,
// frozen as the oracle the current one must match bit for bit.
//
// Run computes the network on a batch. in is N×C×H×W with the maps in the
// order the network was trained on (MTCNN: R, G, B, normalised). The result
// is N×C'×H'×W'; after a flattening fully connected layer H' = W' = 1 (e.g.
// RNet gives N×6×1×1, ONet N×16×1×1), while PNet keeps its map shape
// (N×6×H'×W'). in is not modified. Shape mismatches wrap ErrShape.
//
// Run only reads the Net, so it may be called from several goroutines.
func oracleRun(ctx context.Context, n *cnn.Net, in cnn.Tensor) (cnn.Tensor, error) {
	if err := in.Check(); err != nil {
		return cnn.Tensor{}, err
	}
	x, vector := in, false
	var err error
	for i, l := range n.Layers {
		if err := ctx.Err(); err != nil {
			return cnn.Tensor{}, err
		}
		switch l := l.(type) {
		case *cnn.Conv:
			x, err = oracleConv(ctx, l, x)
			if err != nil {
				return cnn.Tensor{}, err
			}
			vector = false
		case *cnn.MaxPool:
			x = oracleMaxPool(l, x)
		case *cnn.PReLU:
			if i == 0 {
				x = cnn.Tensor{N: x.N, C: x.C, H: x.H, W: x.W, Data: append([]float32(nil), x.Data...)}
			}
			oraclePReLU(l, x)
		case *cnn.FC:
			if l.PerPixel(x.C, vector) {
				x, vector = oracleFCPixels(l, x), false
			} else {
				x, vector = oracleFCFlat(l, x), true
			}
		}
	}
	return x, nil
}

// conv lowers each sample to OpenFace's im2col matrix: one row per output
// position (row-major), columns in the order map, kernel column, kernel
// row, then a constant 1 that multiplies the bias; it is stored transposed
// (column c of position q at cols[c·st+q], st = positions rounded up to 8)
// so that the kernels read eight positions at once. Each output is a
// float32 FMA chain along that row, cut into the k slices OpenBLAS uses
// (exactmath.KSlices, exactmath.GemmChains), which reproduces OpenFace's
// sgemm results bit for bit on its reference machine. (OpenBLAS's
// small-matrix kernel switches to 16-lane dot products for the last 1..8
// output maps after a multiple of 16 when k >= 32; no MTCNN layer has such
// a count, so that order is not reproduced.)
func oracleConv(ctx context.Context, c *cnn.Conv, x cnn.Tensor) (cnn.Tensor, error) {
	oh, ow := x.H-c.KH+1, x.W-c.KW+1
	positions, taps := oh*ow, c.In*c.KH*c.KW+1
	st := (positions + 7) &^ 7
	weights := make([]float32, c.Out*taps)
	for o := 0; o < c.Out; o++ {
		for i := 0; i < c.In; i++ {
			for kx := 0; kx < c.KW; kx++ {
				for ky := 0; ky < c.KH; ky++ {
					weights[o*taps+(i*c.KW+kx)*c.KH+ky] = c.Kernels[((o*c.In+i)*c.KH+ky)*c.KW+kx]
				}
			}
		}
		weights[o*taps+taps-1] = c.Bias[o]
	}
	cols := make([]float32, taps*st)
	ones := cols[(taps-1)*st : (taps-1)*st+positions]
	for q := range ones {
		ones[q] = 1
	}
	slices := exactmath.KSlices(c.Out, positions, taps)
	out := cnn.NewTensor(x.N, c.Out, oh, ow)
	plane := x.H * x.W
	for b := 0; b < x.N; b++ {
		if err := ctx.Err(); err != nil {
			return cnn.Tensor{}, err
		}
		for i := 0; i < c.In; i++ {
			src := x.Data[(b*x.C+i)*plane : (b*x.C+i+1)*plane]
			for kx := 0; kx < c.KW; kx++ {
				for ky := 0; ky < c.KH; ky++ {
					row := cols[((i*c.KW+kx)*c.KH+ky)*st:]
					for r := 0; r < oh; r++ {
						copy(row[r*ow:(r+1)*ow], src[(r+ky)*x.W+kx:(r+ky)*x.W+kx+ow])
					}
				}
			}
		}
		dst := out.Data[b*c.Out*positions : (b+1)*c.Out*positions]
		for s := 0; s+1 < len(slices); s++ {
			exactmath.GemmChains(dst, positions, weights, taps, cols, st, c.Out, positions, slices[s], slices[s+1], s > 0)
		}
	}
	return out, nil
}

// maxPool follows OpenFace: windows start at 0, s, 2s, ... and are clipped
// at the border; an output cell that no window starts in (possible only
// when k < s) stays 0.
func oracleMaxPool(l *cnn.MaxPool, x cnn.Tensor) cnn.Tensor {
	oh, ow := cnn.PoolOutSize(x.H, l.KY, l.SY), cnn.PoolOutSize(x.W, l.KX, l.SX)
	out := cnn.NewTensor(x.N, x.C, oh, ow)
	for m := 0; m < x.N*x.C; m++ {
		src := x.Data[m*x.H*x.W : (m+1)*x.H*x.W]
		dst := out.Data[m*oh*ow : (m+1)*oh*ow]
		for oy := 0; oy < oh; oy++ {
			y0 := oy * l.SY
			if y0 >= x.H {
				break
			}
			y1 := min(x.H, y0+l.KY)
			for ox := 0; ox < ow; ox++ {
				x0 := ox * l.SX
				if x0 >= x.W {
					break
				}
				x1 := min(x.W, x0+l.KX)
				best := float32(-math.MaxFloat32)
				for y := y0; y < y1; y++ {
					for _, v := range src[y*x.W+x0 : y*x.W+x1] {
						if v > best {
							best = v
						}
					}
				}
				dst[oy*ow+ox] = best
			}
		}
	}
	return out
}

// prelu works in place.
func oraclePReLU(l *cnn.PReLU, x cnn.Tensor) {
	plane := x.H * x.W
	for b := 0; b < x.N; b++ {
		for c, slope := range l.Slopes {
			m := x.Data[(b*x.C+c)*plane : (b*x.C+c+1)*plane]
			for i, v := range m {
				if !(v >= 0) {
					m[i] = v * slope
				}
			}
		}
	}
}

// fcPixels applies the FC to every pixel (PNet's last layer). OpenFace
// computes weights × maps with OpenCV's own product (float64 accumulation,
// one rounding) and then adds the bias in float32.
func oracleFCPixels(l *cnn.FC, x cnn.Tensor) cnn.Tensor {
	plane := x.H * x.W
	out := cnn.NewTensor(x.N, l.Out, x.H, x.W)
	acc := make([]float64, plane)
	for b := 0; b < x.N; b++ {
		for o := 0; o < l.Out; o++ {
			clear(acc)
			for i, w := range l.Weights[o*l.In : (o+1)*l.In] {
				wd := float64(w)
				for p, v := range x.Data[(b*x.C+i)*plane : (b*x.C+i+1)*plane] {
					acc[p] += wd * float64(v)
				}
			}
			dst := out.Data[(b*l.Out+o)*plane : (b*l.Out+o+1)*plane]
			for p, s := range acc {
				dst[p] = float32(s) + l.Bias[o]
			}
		}
	}
	return out
}

// fcFlat flattens each sample as OpenFace does (every map column by column,
// maps one after another) and computes weights·v + bias: in float64 with a
// single rounding for small outputs, or in float32 the way OpenBLAS does
// when OpenCV hands the product to it.
func oracleFCFlat(l *cnn.FC, x cnn.Tensor) cnn.Tensor {
	out := cnn.NewTensor(x.N, l.Out, 1, 1)
	v := make([]float32, l.In)
	sample := x.C * x.H * x.W
	for b := 0; b < x.N; b++ {
		k := 0
		for c := 0; c < x.C; c++ {
			m := x.Data[b*sample+c*x.H*x.W:]
			for col := 0; col < x.W; col++ {
				for row := 0; row < x.H; row++ {
					v[k] = m[row*x.W+col]
					k++
				}
			}
		}
		dst := out.Data[b*l.Out : (b+1)*l.Out]
		if l.Out >= oracleBLASMinRows {
			// OpenBLAS's small-matrix kernel with one output row (RNet's
			// and ONet's large FCs).
			exactmath.MatVecBLAS(dst, l.Weights, l.In, v, l.Bias)
			continue
		}
		for o := range dst {
			w := l.Weights[o*l.In : (o+1)*l.In]
			var s float64
			for i, u := range v {
				s += float64(w[i]) * float64(u)
			}
			dst[o] = float32(s + float64(l.Bias[o]))
		}
	}
	return out
}
