package cnn

import (
	"context"
	"fmt"
	"math"
)

// blasMinRows is the result height from which OpenCV hands a float matrix
// product to BLAS (float32 accumulation); below it OpenCV multiplies itself
// and accumulates in float64. OpenFace's FC layers go through that product,
// so the output count decides the arithmetic (RNet's FC 576->128 and ONet's
// FC 1152->256 use BLAS, the final FCs do not).
const blasMinRows = 100

// Run computes the network on a batch. in is N×C×H×W with the maps in the
// order the network was trained on (MTCNN: R, G, B, normalised). The result
// is N×C'×H'×W'; after a flattening fully connected layer H' = W' = 1 (e.g.
// RNet gives N×6×1×1, ONet N×16×1×1), while PNet keeps its map shape
// (N×6×H'×W'). in is not modified. Shape mismatches wrap ErrShape.
//
// Run only reads the Net, so it may be called from several goroutines.
func (n *Net) Run(ctx context.Context, in Tensor) (Tensor, error) {
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
			x, err = conv(ctx, l, x)
			if err != nil {
				return Tensor{}, err
			}
		case *MaxPool:
			x = maxPool(l, x)
		case *PReLU:
			if i == 0 {
				x = Tensor{N: x.N, C: x.C, H: x.H, W: x.W, Data: append([]float32(nil), x.Data...)}
			}
			prelu(l, x)
		case *FC:
			if l.PerPixel(x.C, vector) {
				x = fcPixels(l, x)
			} else {
				x = fcFlat(l, x)
			}
		}
		vector = shapes[i].vector
	}
	return x, nil
}

// fma32 is a float32 fused multiply-add. The product of two float32 values
// is exact in float64, so the float64 sum is the FMA result rounded to
// float64 (whether or not the compiler fuses it), and only a rare
// double-rounding tie can make the final float32 differ from a hardware
// float32 FMA. Written this way it needs no call or CPU-feature branch.
func fma32(a, b, c float32) float32 {
	return float32(float64(a)*float64(b) + float64(c))
}

// OpenBLAS 0.3.21 parameters that decide the order of float32 sums in
// OpenFace's products on the reference machine (Cooperlake kernels):
// products with m·n·k <= 1e6 go to the "small matrix" kernels, larger ones
// to the blocked level-3 driver, which cuts k into slices of at most gemmQ
// (sgemm's GEMM_Q) rounded to gemmUnrollM.
const (
	smallGemmMNK = 1e6
	gemmQ        = 320
	gemmUnrollM  = 16
	dotLanes     = 16 // float32 lanes of one AVX-512 register
)

// kSlices returns the boundaries of the k slices OpenBLAS accumulates
// separately for an m×n×k product: each slice is a fresh FMA chain whose
// result is added to the output in float32.
func kSlices(m, n, k int) []int {
	bounds := []int{0}
	if float64(m)*float64(n)*float64(k) <= smallGemmMNK {
		return append(bounds, k)
	}
	for ls := 0; ls < k; {
		l := k - ls
		if l >= 2*gemmQ {
			l = gemmQ
		} else if l > gemmQ {
			l = (l/2 + gemmUnrollM - 1) / gemmUnrollM * gemmUnrollM
		}
		ls += l
		bounds = append(bounds, ls)
	}
	return bounds
}

// conv lowers each sample to OpenFace's im2col matrix: one row per output
// position (row-major), columns in the order map, kernel column, kernel
// row, then a constant 1 that multiplies the bias. Each output is a float32
// FMA chain along that row, cut into the k slices OpenBLAS uses, which
// reproduces OpenFace's sgemm results bit for bit on its reference machine.
// (OpenBLAS's small-matrix kernel switches to 16-lane dot products for the
// last 1..8 output maps after a multiple of 16 when k >= 32; no MTCNN layer
// has such a count, so that order is not reproduced.)
func conv(ctx context.Context, c *Conv, x Tensor) (Tensor, error) {
	oh, ow := x.H-c.KH+1, x.W-c.KW+1
	positions, taps := oh*ow, c.In*c.KH*c.KW+1
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
	cols := make([]float32, positions*taps)
	for p := 0; p < positions; p++ {
		cols[p*taps+taps-1] = 1
	}
	slices := kSlices(c.Out, positions, taps)
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
					col := (i*c.KW+kx)*c.KH + ky
					for r := 0; r < oh; r++ {
						row := src[(r+ky)*x.W+kx : (r+ky)*x.W+kx+ow]
						dst := cols[r*ow*taps+col:]
						for j, v := range row {
							dst[j*taps] = v
						}
					}
				}
			}
		}
		dst := out.Data[b*c.Out*positions : (b+1)*c.Out*positions]
		for s := 0; s+1 < len(slices); s++ {
			gemmFMA(dst, weights, cols, c.Out, positions, taps, slices[s], slices[s+1], s > 0)
		}
	}
	return out, nil
}

// gemmFMA computes, for k in [k0, k1), the float32 FMA chain
// Σ w[o][k]·cols[p][k] and stores it in dst[o*positions+p], or adds it there
// when accumulate is set. Four outputs times two positions are computed
// together so every loaded value is used several times.
func gemmFMA(dst, w, cols []float32, outs, positions, taps, k0, k1 int, accumulate bool) {
	n := k1 - k0
	o := 0
	for ; o+4 <= outs; o += 4 {
		w0 := w[o*taps+k0:][:n]
		w1 := w[(o+1)*taps+k0:][:n]
		w2 := w[(o+2)*taps+k0:][:n]
		w3 := w[(o+3)*taps+k0:][:n]
		p := 0
		for ; p+2 <= positions; p += 2 {
			x0 := cols[p*taps+k0:][:n]
			x1 := cols[(p+1)*taps+k0:][:n]
			var a00, a01, a10, a11, a20, a21, a30, a31 float32
			for k := range w0 {
				u0, u1 := x0[k], x1[k]
				a00 = fma32(w0[k], u0, a00)
				a01 = fma32(w0[k], u1, a01)
				a10 = fma32(w1[k], u0, a10)
				a11 = fma32(w1[k], u1, a11)
				a20 = fma32(w2[k], u0, a20)
				a21 = fma32(w2[k], u1, a21)
				a30 = fma32(w3[k], u0, a30)
				a31 = fma32(w3[k], u1, a31)
			}
			put(dst, o*positions+p, a00, accumulate)
			put(dst, o*positions+p+1, a01, accumulate)
			put(dst, (o+1)*positions+p, a10, accumulate)
			put(dst, (o+1)*positions+p+1, a11, accumulate)
			put(dst, (o+2)*positions+p, a20, accumulate)
			put(dst, (o+2)*positions+p+1, a21, accumulate)
			put(dst, (o+3)*positions+p, a30, accumulate)
			put(dst, (o+3)*positions+p+1, a31, accumulate)
		}
		for ; p < positions; p++ {
			x0 := cols[p*taps+k0:][:n]
			var a0, a1, a2, a3 float32
			for k := range w0 {
				u := x0[k]
				a0 = fma32(w0[k], u, a0)
				a1 = fma32(w1[k], u, a1)
				a2 = fma32(w2[k], u, a2)
				a3 = fma32(w3[k], u, a3)
			}
			put(dst, o*positions+p, a0, accumulate)
			put(dst, (o+1)*positions+p, a1, accumulate)
			put(dst, (o+2)*positions+p, a2, accumulate)
			put(dst, (o+3)*positions+p, a3, accumulate)
		}
	}
	for ; o < outs; o++ {
		w0 := w[o*taps+k0:][:n]
		for p := 0; p < positions; p++ {
			x0 := cols[p*taps+k0:][:n]
			var a float32
			for k := range w0 {
				a = fma32(w0[k], x0[k], a)
			}
			put(dst, o*positions+p, a, accumulate)
		}
	}
}

func put(dst []float32, i int, v float32, accumulate bool) {
	if accumulate {
		dst[i] += v
	} else {
		dst[i] = v
	}
}

// dotLanes16 is OpenBLAS's small-matrix kernel for a single column
// (Cooperlake, used by OpenFace's large FC layers): sixteen FMA chains, lane
// l taking k = l, l+16, ..., then the lanes summed by the tree the kernel
// uses for groups of four outputs (RNet's 128 and ONet's 256 outputs are
// all in such groups).
func dotLanes16(w, v []float32) float32 {
	var lane [dotLanes]float32
	for k, u := range v {
		lane[k%dotLanes] = fma32(w[k], u, lane[k%dotLanes])
	}
	var block [4]float32
	for b := range block {
		block[b] = (lane[4*b] + lane[4*b+1]) + (lane[4*b+2] + lane[4*b+3])
	}
	return (block[0] + block[1]) + (block[2] + block[3])
}

// maxPool follows OpenFace: windows start at 0, s, 2s, ... and are clipped
// at the border; an output cell that no window starts in (possible only
// when k < s) stays 0.
func maxPool(l *MaxPool, x Tensor) Tensor {
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
func prelu(l *PReLU, x Tensor) {
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
func fcPixels(l *FC, x Tensor) Tensor {
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
func fcFlat(l *FC, x Tensor) Tensor {
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
		for o := range dst {
			w := l.Weights[o*l.In : (o+1)*l.In]
			if l.Out < blasMinRows {
				var s float64
				for i, u := range v {
					s += float64(w[i]) * float64(u)
				}
				dst[o] = float32(s + float64(l.Bias[o]))
			} else {
				dst[o] = dotLanes16(w, v) + l.Bias[o]
			}
		}
	}
	return out
}
