package validator

import (
	"fmt"
	"math"

	"facemirror/internal/exactmath"
)

// tensor is a stack of equally sized row-major maps, map-major.
type tensor struct {
	maps, h, w int
	data       []float32
}

// checkNetwork walks the view's layers from the template size and rejects
// layer sequences CheckCNN cannot run (or that it would run out of
// bounds), so that Check never fails on a loaded Validator.
func checkNetwork(vw *view) error {
	maps, h, w := 1, vw.paw.h, vw.paw.w
	last := -1
	for i, l := range vw.layers {
		switch l.kind {
		case layerConv:
			if maps != l.nIn || h < l.kh || w < l.kw {
				return fmt.Errorf("%w: layer %d: %d×%d×%d input for a %d-map %d×%d convolution", ErrFormat, i, maps, h, w, l.nIn, l.kh, l.kw)
			}
			maps, h, w = l.nOut, h-l.kh+1, w-l.kw+1
		case layerPool:
			h, w = poolSize(h), poolSize(w)
			if h < 1 || w < 1 {
				return fmt.Errorf("%w: layer %d: pooling an empty map", ErrFormat, i)
			}
		case layerFC:
			switch {
			case maps > 1 && maps*h*w == l.in && maps != l.in:
				maps, h, w = 1, l.out, 1
			case maps == 1 && w == 1 && h == l.in:
				maps, h, w = 1, 1, l.out
			default:
				return fmt.Errorf("%w: layer %d: %d×%d×%d input for a %d→%d fully connected layer", ErrFormat, i, maps, h, w, l.in, l.out)
			}
		}
		last = l.kind
	}
	if maps != 1 || (h != 1 && w != 1) || last == -1 {
		return fmt.Errorf("%w: the network does not end in a single vector", ErrFormat)
	}
	return nil
}

// poolSize is the 2×2/2 max-pool output size: round((n−2)/2 in float)+1,
// rounding half away from zero.
func poolSize(n int) int {
	return int(math.Round(float64(float32(n-2)/2))) + 1
}

// scratch holds the memory of one forward pass: the im2col matrix and
// each layer's output, reused by the next Check (a Validator runs on every
// tracked frame, and fresh buffers cost about 2.4 MB of garbage per frame).
type scratch struct {
	cols   []float32
	layers [][]float32
}

// buffer returns layer i's output buffer with n elements.
func (sc *scratch) buffer(i, n int) []float32 {
	if len(sc.layers) <= i {
		sc.layers = append(sc.layers, make([][]float32, i+1-len(sc.layers))...)
	}
	if cap(sc.layers[i]) < n {
		sc.layers[i] = make([]float32, n)
	}
	return sc.layers[i][:n]
}

// forward runs CheckCNN's layers on the template image. The result lives
// in sc.
func forward(vw *view, x tensor, sc *scratch) tensor {
	for i := range vw.layers {
		l := &vw.layers[i]
		switch l.kind {
		case layerConv:
			x = convolve(l, x, sc, i)
		case layerPool:
			x = maxPool(x, sc, i)
		case layerFC:
			x = fullyConnected(l, x, sc, i)
		case layerReLU:
			for k, v := range x.data {
				if !(v > 0) {
					x.data[k] = 0
				}
			}
		case layerSigmoid:
			for k, v := range x.data {
				x.data[k] = 1 / (1 + float32(math.Exp(float64(-v))))
			}
		}
	}
	return x
}

// convolve is convolution_direct_blas: valid cross-correlation through an
// im2col matrix (rows = output positions in row-major order, columns =
// input map, kernel column, kernel row, then 1 for the bias) multiplied by
// the kernels with sgemm. The im2col matrix is stored transposed here
// (column c of position q at cols[c·st+q], st = positions rounded up to 8)
// so that the kernels read eight positions at once. The products exceed
// OpenBLAS's small-matrix limit, so its level-3 driver sums the inner
// dimension in k-slices, each a fresh FMA chain added to the output.
func convolve(l *layer, x tensor, sc *scratch, i int) tensor {
	oh, ow := x.h-l.kh+1, x.w-l.kw+1
	positions, taps := oh*ow, l.taps()
	st := (positions + 7) &^ 7
	if cap(sc.cols) < taps*st {
		sc.cols = make([]float32, taps*st)
	}
	// Every position of every row is written below; the padding up to st
	// is read by the kernels but never reaches a result.
	cols := sc.cols[:taps*st]
	for m := 0; m < l.nIn; m++ {
		plane := x.data[m*x.h*x.w : (m+1)*x.h*x.w]
		for xx := 0; xx < l.kw; xx++ {
			for yy := 0; yy < l.kh; yy++ {
				c := m*l.kh*l.kw + xx*l.kh + yy
				row := cols[c*st : c*st+positions]
				for y := 0; y < oh; y++ {
					copy(row[y*ow:(y+1)*ow], plane[(y+yy)*x.w+xx:(y+yy)*x.w+xx+ow])
				}
			}
		}
	}
	ones := cols[(taps-1)*st : (taps-1)*st+positions]
	for q := range ones {
		ones[q] = 1
	}
	out := tensor{maps: l.nOut, h: oh, w: ow, data: sc.buffer(i, l.nOut*positions)}
	slices := exactmath.KSlices(l.nOut, positions, taps)
	for s := 0; s+1 < len(slices); s++ {
		exactmath.GemmChains(out.data, positions, l.weights, taps, cols, st, l.nOut, positions, slices[s], slices[s+1], s > 0)
	}
	return out
}

// maxPool is OpenFace's max_pooling with 2×2 windows and stride 2: windows
// start at 0, 2, 4, ... and are clipped at the border.
func maxPool(x tensor, sc *scratch, i int) tensor {
	oh, ow := poolSize(x.h), poolSize(x.w)
	out := tensor{maps: x.maps, h: oh, w: ow, data: sc.buffer(i, x.maps*oh*ow)}
	for m := 0; m < x.maps; m++ {
		src := x.data[m*x.h*x.w : (m+1)*x.h*x.w]
		dst := out.data[m*oh*ow : (m+1)*oh*ow]
		for xo := 0; xo < ow && 2*xo < x.w; xo++ {
			for yo := 0; yo < oh && 2*yo < x.h; yo++ {
				best := float32(-math.MaxFloat32)
				for xi := 2 * xo; xi < min(2*xo+2, x.w); xi++ {
					for yi := 2 * yo; yi < min(2*yo+2, x.h); yi++ {
						if v := src[yi*x.w+xi]; v > best {
							best = v
						}
					}
				}
				dst[yo*ow+xo] = best
			}
		}
	}
	return out
}

// fullyConnected is OpenFace's fully_connected with the weights already
// transposed to out×in: several input maps are each flattened column-major
// and concatenated; the product W·x + b is OpenCV's gemm for one output
// column (four float64 partial sums over k mod 4, combined, plus the bias
// in float64, rounded once). A single input column gives a row vector
// (same values).
func fullyConnected(l *layer, x tensor, sc *scratch, i int) tensor {
	var vec []float32
	if x.maps > 1 {
		vec = sc.cols[:0]
		for m := 0; m < x.maps; m++ {
			plane := x.data[m*x.h*x.w : (m+1)*x.h*x.w]
			for c := 0; c < x.w; c++ {
				for r := 0; r < x.h; r++ {
					vec = append(vec, plane[r*x.w+c])
				}
			}
		}
	} else {
		vec = x.data
	}
	out := sc.buffer(i, l.out)
	exactmath.MatVecCV(out, l.weights, l.in, vec, 1, l.bias)
	if x.maps > 1 {
		return tensor{maps: 1, h: l.out, w: 1, data: out}
	}
	return tensor{maps: 1, h: 1, w: l.out, data: out}
}
