package cnn

import (
	"context"
	"fmt"
	"math"

	"facemirror/internal/exactmath"
)

// This file freezes the forward pass as it stood before it got workspaces,
// blocked im2col and the fused PReLU: fresh buffers for everything, the
// whole-image im2col matrix, one layer after the other. The tests hold the
// current forward pass to it bit for bit.

// blasMinRows is the result height from which OpenCV hands a float matrix
// product to BLAS (float32 accumulation); below it OpenCV multiplies itself
// and accumulates in float64. OpenFace's FC layers go through that product,
// so the output count decides the arithmetic (RNet's FC 576->128 and ONet's
// FC 1152->256 use BLAS, the final FCs do not).
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
func oracleRun(ctx context.Context, n *Net, in Tensor) (Tensor, error) {
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
	x, vector := in, false
	for i, l := range n.Layers {
		if err := ctx.Err(); err != nil {
			return Tensor{}, err
		}
		switch l := l.(type) {
		case *Conv:
			x, err = oracleConv(ctx, l, x)
			if err != nil {
				return Tensor{}, err
			}
		case *MaxPool:
			x = oracleMaxPool(l, x)
		case *PReLU:
			if i == 0 {
				x = Tensor{N: x.N, C: x.C, H: x.H, W: x.W, Data: append([]float32(nil), x.Data...)}
			}
			oraclePReLU(l, x)
		case *FC:
			if l.PerPixel(x.C, vector) {
				x = oracleFCPixels(l, x)
			} else {
				x = oracleFCFlat(l, x)
			}
		}
		vector = shapes[i].vector
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
func oracleConv(ctx context.Context, c *Conv, x Tensor) (Tensor, error) {
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
	out := NewTensor(x.N, c.Out, oh, ow)
	plane := x.H * x.W
	for b := 0; b < x.N; b++ {
		if err := ctx.Err(); err != nil {
			return Tensor{}, err
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
func oracleMaxPool(l *MaxPool, x Tensor) Tensor {
	oh, ow := PoolOutSize(x.H, l.KY, l.SY), PoolOutSize(x.W, l.KX, l.SX)
	out := NewTensor(x.N, x.C, oh, ow)
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
func oraclePReLU(l *PReLU, x Tensor) {
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
func oracleFCPixels(l *FC, x Tensor) Tensor {
	plane := x.H * x.W
	out := NewTensor(x.N, l.Out, x.H, x.W)
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
func oracleFCFlat(l *FC, x Tensor) Tensor {
	out := NewTensor(x.N, l.Out, 1, 1)
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
