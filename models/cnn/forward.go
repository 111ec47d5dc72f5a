package cnn

import (
	"context"
	"fmt"
	"math"

	"facemirror/internal/exactmath"
	"facemirror/internal/hugemem"
)

// blasMinRows is the result height from which OpenCV hands a float matrix
// product to BLAS (float32 accumulation); below it OpenCV multiplies itself
// and accumulates in float64. OpenFace's FC layers go through that product,
// so the output count decides the arithmetic (RNet's FC 576->128 and ONet's
// FC 1152->256 use BLAS, the final FCs do not).
const blasMinRows = 100

// blockPositions is about how many output positions of a convolution are
// lowered to im2col columns at a time. A block of whole output rows keeps
// the column matrix in the L2 cache (145 taps × 512 positions is 290 KB)
// instead of writing and re-reading megabytes per layer; the chains, and so
// the results, do not depend on it.
const blockPositions = 512

// Run computes the network on a batch. in is N×C×H×W with the maps in the
// order the network was trained on (MTCNN: R, G, B, normalised). The result
// is N×C'×H'×W'; after a flattening fully connected layer H' = W' = 1 (e.g.
// RNet gives N×6×1×1, ONet N×16×1×1), while PNet keeps its map shape
// (N×6×H'×W'). in is not modified. Shape mismatches wrap ErrShape.
//
// Run only reads the Net, so it may be called from several goroutines. It
// allocates all its buffers afresh; RunWorkspace reuses them.
func (n *Net) Run(ctx context.Context, in Tensor) (Tensor, error) {
	return n.RunWorkspace(ctx, new(Workspace), in)
}

// Workspace holds the buffers of forward passes so that repeated runs
// allocate nothing: the activations, the im2col block, and each
// convolution's weights in the order the chains read them. The zero value
// is ready to use. A Workspace serves one run at a time; give each
// goroutine its own.
//
// A Workspace remembers the weights of the convolutions it has run, so a
// Net's layers must not be modified once a Workspace has run it.
type Workspace struct {
	act     [2][]float32 // activations, alternately written by the layers
	cols    []float32    // one block of the im2col matrix
	acc     []float64    // fcPixels' float64 sums
	vec     []float32    // fcFlat's flattened sample
	weights map[*Conv][]float32
}

// RunWorkspace is Run with the buffers of ws. The result's Data lies in ws
// and stays valid until ws is used again. in must not lie in ws (it may be
// the result of a run with another Workspace).
func (n *Net) RunWorkspace(ctx context.Context, ws *Workspace, in Tensor) (Tensor, error) {
	if err := in.Check(); err != nil {
		return Tensor{}, fmt.Errorf("cnn: %w", err)
	}
	if in.N < 1 {
		return Tensor{}, fmt.Errorf("cnn: %w: empty batch", ErrShape)
	}
	shapes, err := n.plan(in.C, in.H, in.W)
	if err != nil {
		return Tensor{}, fmt.Errorf("cnn: %w", err)
	}
	// cur is the activation buffer x lies in, -1 while x is the input.
	x, vector, cur := in, false, -1
	next := func(c, h, w int) Tensor {
		cur = (cur + 1) & 1
		ws.act[cur] = grow(ws.act[cur], x.N*c*h*w)
		return Tensor{N: x.N, C: c, H: h, W: w, Data: ws.act[cur]}
	}
	for i := 0; i < len(n.Layers); i++ {
		if err := ctx.Err(); err != nil {
			return Tensor{}, err
		}
		s := shapes[i]
		switch l := n.Layers[i].(type) {
		case *Conv:
			// A PReLU right after the convolution is applied to each
			// block while it is in the cache; it acts on every value
			// alone, so the results are the same.
			var slopes []float32
			if p, ok := nextPReLU(n.Layers, i); ok {
				slopes = p.Slopes
				i++
			}
			out := next(s.c, s.h, s.w)
			if err := ws.conv(ctx, l, x, out, slopes); err != nil {
				return Tensor{}, err
			}
			x = out
		case *MaxPool:
			out := next(x.C, s.h, s.w)
			maxPoolInto(l, x, out)
			x = out
		case *PReLU:
			if cur < 0 {
				out := next(x.C, x.H, x.W)
				copy(out.Data, x.Data)
				x = out
			}
			prelu(l, x)
		case *FC:
			if l.PerPixel(x.C, vector) {
				out := next(l.Out, x.H, x.W)
				ws.fcPixels(l, x, out)
				x = out
			} else {
				out := next(l.Out, 1, 1)
				ws.fcFlat(l, x, out)
				x = out
			}
		}
		vector = shapes[i].vector
	}
	x.Data = x.Data[:len(x.Data):len(x.Data)]
	return x, nil
}

// nextPReLU returns layer i+1 when it is a PReLU.
func nextPReLU(layers []Layer, i int) (*PReLU, bool) {
	if i+1 < len(layers) {
		p, ok := layers[i+1].(*PReLU)
		return p, ok
	}
	return nil, false
}

// grow returns b resliced to n values, reallocated if too small. The
// values are not cleared: every caller overwrites all of them.
func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		// The first layers over a 1080p frame's pyramid write several
		// megabytes at once, into fresh memory after a workspace is
		// dropped between detections: huge pages take most of those
		// page faults (nothing for buffers under 2 MB).
		return hugemem.Make[T](n)
	}
	return b[:n]
}

// convWeights returns c's weights in im2col order, one row of taps per
// output map with the bias last, laid out on the workspace's first run of
// c.
func (ws *Workspace) convWeights(c *Conv) []float32 {
	if w, ok := ws.weights[c]; ok {
		return w
	}
	taps := c.In*c.KH*c.KW + 1
	weights := make([]float32, c.Out*taps)
	for o := 0; o < c.Out; o++ {
		row := weights[o*taps : (o+1)*taps]
		for i := 0; i < c.In; i++ {
			for kx := 0; kx < c.KW; kx++ {
				for ky := 0; ky < c.KH; ky++ {
					row[(i*c.KW+kx)*c.KH+ky] = c.Kernels[((o*c.In+i)*c.KH+ky)*c.KW+kx]
				}
			}
		}
		row[taps-1] = c.Bias[o]
	}
	if ws.weights == nil {
		ws.weights = make(map[*Conv][]float32)
	}
	ws.weights[c] = weights
	return weights
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
//
// The matrix is built and multiplied a block of output rows at a time;
// each output's chain and k slices are those of the whole product, so the
// blocks change nothing but the memory traffic. With slopes (a following
// PReLU) each finished block goes through the PReLU at once. out receives
// the N×Out×oh×ow result.
func (ws *Workspace) conv(ctx context.Context, c *Conv, x Tensor, out Tensor, slopes []float32) error {
	oh, ow := x.H-c.KH+1, x.W-c.KW+1
	positions, taps := oh*ow, c.In*c.KH*c.KW+1
	weights := ws.convWeights(c)
	slices := exactmath.KSlices(c.Out, positions, taps)

	blockRows := max(1, min(oh, blockPositions/ow))
	st := (blockRows*ow + 7) &^ 7
	ws.cols = grow(ws.cols, taps*st)
	cols := ws.cols
	ones := cols[(taps-1)*st : taps*st]
	for q := range ones {
		ones[q] = 1
	}
	plane := x.H * x.W
	for b := 0; b < x.N; b++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		sample := out.Data[b*c.Out*positions : (b+1)*c.Out*positions]
		for r0 := 0; r0 < oh; r0 += blockRows {
			rows := min(blockRows, oh-r0)
			n := rows * ow
			for i := 0; i < c.In; i++ {
				src := x.Data[(b*x.C+i)*plane : (b*x.C+i+1)*plane]
				for kx := 0; kx < c.KW; kx++ {
					for ky := 0; ky < c.KH; ky++ {
						row := cols[((i*c.KW+kx)*c.KH+ky)*st:][:n]
						for r := 0; r < rows; r++ {
							at := (r0+r+ky)*x.W + kx
							copy(row[r*ow:(r+1)*ow], src[at:at+ow])
						}
					}
				}
			}
			dst := sample[r0*ow:]
			for s := 0; s+1 < len(slices); s++ {
				exactmath.GemmChains(dst, positions, weights, taps, cols, st, c.Out, n, slices[s], slices[s+1], s > 0)
			}
			for o, slope := range slopes {
				preluMap(dst[o*positions:o*positions+n], slope)
			}
		}
	}
	return nil
}

// maxPool follows OpenFace: windows start at 0, s, 2s, ... and are clipped
// at the border; an output cell that no window starts in (possible only
// when k < s) stays 0.
func maxPool(l *MaxPool, x Tensor) Tensor {
	out := NewTensor(x.N, x.C, PoolOutSize(x.H, l.KY, l.SY), PoolOutSize(x.W, l.KX, l.SX))
	maxPoolInto(l, x, out)
	return out
}

// maxPoolInto is maxPool into out, whose shape the caller sets. Every
// window is scanned row by row, left to right, keeping a value only when it
// is greater than the best so far, as OpenFace does: that order decides
// which of +0 and -0 wins and that NaNs are skipped.
func maxPoolInto(l *MaxPool, x Tensor, out Tensor) {
	oh, ow := out.H, out.W
	// Columns ox < full have windows wholly inside the map; rows likewise.
	fullX := 0
	if x.W >= l.KX {
		fullX = min(ow, (x.W-l.KX)/l.SX+1)
	}
	fullY := 0
	if x.H >= l.KY {
		fullY = min(oh, (x.H-l.KY)/l.SY+1)
	}
	for m := 0; m < x.N*x.C; m++ {
		src := x.Data[m*x.H*x.W : (m+1)*x.H*x.W]
		dst := out.Data[m*oh*ow : (m+1)*oh*ow]
		for oy := 0; oy < oh; oy++ {
			y0 := oy * l.SY
			drow := dst[oy*ow : (oy+1)*ow]
			if y0 >= x.H {
				clear(drow)
				continue
			}
			if k := vectorPool(l); k > 0 && (ow-1)*l.SX < x.W {
				poolRowAVX(k, drow, src, x.W, x.H, y0, oy < fullY)
				continue
			}
			ox := 0
			if oy < fullY {
				switch {
				case l.KX == 2 && l.KY == 2 && l.SX == 2:
					pool2x2(drow[:fullX], src[y0*x.W:(y0+2)*x.W], x.W)
					ox = fullX
				case l.KX == 3 && l.KY == 3 && l.SX == 2:
					pool3x3s2(drow[:fullX], src[y0*x.W:(y0+3)*x.W], x.W)
					ox = fullX
				}
			}
			y1 := min(x.H, y0+l.KY)
			for ; ox < ow; ox++ {
				x0 := ox * l.SX
				if x0 >= x.W {
					clear(drow[ox:])
					break
				}
				x1 := min(x.W, x0+l.KX)
				best := float32(-math.MaxFloat32)
				for y := y0; y < y1; y++ {
					for _, v := range src[y*x.W+x0 : y*x.W+x1] {
						best = greater(v, best)
					}
				}
				drow[ox] = best
			}
		}
	}
}

// vectorPool returns the window side (2 or 3) when the assembly kernels
// can pool with l, and 0 otherwise.
func vectorPool(l *MaxPool) int {
	if simd && l.SX == 2 && l.KX == l.KY && (l.KX == 2 || l.KX == 3) {
		return l.KX
	}
	return 0
}

// greater returns v if v > best, else best: one step of OpenFace's max
// scan. It compiles to a comparison and a select rather than a branch,
// which the random signs of the activations would mispredict.
func greater(v, best float32) float32 {
	var gt uint32
	if v > best {
		gt = 1
	}
	mask := -gt
	return math.Float32frombits(math.Float32bits(v)&mask | math.Float32bits(best)&^mask)
}

// pool2x2 fills dst with the 2×2, stride 2 maxima of the two rows in src
// (row stride w), all windows inside the rows.
func pool2x2(dst, src []float32, w int) {
	r0, r1 := src[:w], src[w:2*w]
	for ox := pool2x2Fast(dst, src, w); ox < len(dst); ox++ {
		x := 2 * ox
		a := r0[x : x+2 : x+2]
		b := r1[x : x+2 : x+2]
		best := greater(a[0], -math.MaxFloat32)
		best = greater(a[1], best)
		best = greater(b[0], best)
		dst[ox] = greater(b[1], best)
	}
}

// pool3x3s2 fills dst with the 3×3, stride 2 maxima of the three rows in
// src (row stride w), all windows inside the rows.
func pool3x3s2(dst, src []float32, w int) {
	r0, r1, r2 := src[:w], src[w:2*w], src[2*w:3*w]
	for ox := pool3x3s2Fast(dst, src, w); ox < len(dst); ox++ {
		x := 2 * ox
		a := r0[x : x+3 : x+3]
		b := r1[x : x+3 : x+3]
		c := r2[x : x+3 : x+3]
		best := greater(a[0], -math.MaxFloat32)
		best = greater(a[1], best)
		best = greater(a[2], best)
		best = greater(b[0], best)
		best = greater(b[1], best)
		best = greater(b[2], best)
		best = greater(c[0], best)
		best = greater(c[1], best)
		dst[ox] = greater(c[2], best)
	}
}

// prelu works in place.
func prelu(l *PReLU, x Tensor) {
	plane := x.H * x.W
	for b := 0; b < x.N; b++ {
		for c, slope := range l.Slopes {
			preluMap(x.Data[(b*x.C+c)*plane:(b*x.C+c+1)*plane], slope)
		}
	}
}

// preluMap multiplies the values of m that are not >= 0 by slope, in
// place. Every value is multiplied and the result selected by a bit mask,
// so the loop has no branch for the random signs to mispredict.
func preluMap(m []float32, slope float32) {
	m = m[preluFast(m, slope):]
	for i, v := range m {
		var keep uint32
		if v >= 0 {
			keep = 1
		}
		mask := -keep
		m[i] = math.Float32frombits(math.Float32bits(v)&mask | math.Float32bits(v*slope)&^mask)
	}
}

// fcPixels applies the FC to every pixel (PNet's last layer) into out.
// OpenFace computes weights × maps with OpenCV's own product (float64
// accumulation, one rounding) and then adds the bias in float32.
func (ws *Workspace) fcPixels(l *FC, x Tensor, out Tensor) {
	plane := x.H * x.W
	ws.acc = grow(ws.acc, plane)
	acc := ws.acc
	for b := 0; b < x.N; b++ {
		for o := 0; o < l.Out; o++ {
			clear(acc)
			for i, w := range l.Weights[o*l.In : (o+1)*l.In] {
				wd := float64(w)
				src := x.Data[(b*x.C+i)*plane : (b*x.C+i+1)*plane]
				src = src[:len(acc)]
				for p, v := range src {
					acc[p] += wd * float64(v)
				}
			}
			dst := out.Data[(b*l.Out+o)*plane : (b*l.Out+o+1)*plane]
			dst = dst[:len(acc)]
			bias := l.Bias[o]
			for p, s := range acc {
				dst[p] = float32(s) + bias
			}
		}
	}
}

// fcFlat flattens each sample as OpenFace does (every map column by column,
// maps one after another) and computes weights·v + bias into out: in
// float64 with a single rounding for small outputs, or in float32 the way
// OpenBLAS does when OpenCV hands the product to it.
func (ws *Workspace) fcFlat(l *FC, x Tensor, out Tensor) {
	ws.vec = grow(ws.vec, l.In)
	v := ws.vec
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
		if l.Out >= blasMinRows {
			// OpenBLAS's small-matrix kernel with one output row (RNet's
			// and ONet's large FCs).
			exactmath.MatVecBLAS(dst, l.Weights, l.In, v, l.Bias)
			continue
		}
		for o := range dst {
			w := l.Weights[o*l.In : (o+1)*l.In]
			w = w[:len(v)]
			var s float64
			for i, u := range v {
				s += float64(w[i]) * float64(u)
			}
			dst[o] = float32(s + float64(l.Bias[o]))
		}
	}
}
