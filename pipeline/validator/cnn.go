package validator

import (
	"fmt"
	"math"
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

// forward runs CheckCNN's layers on the template image.
func forward(vw *view, x tensor) tensor {
	for i := range vw.layers {
		l := &vw.layers[i]
		switch l.kind {
		case layerConv:
			x = convolve(l, x)
		case layerPool:
			x = maxPool(x)
		case layerFC:
			x = fullyConnected(l, x)
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

// OpenBLAS 0.3.21's level-3 driver (used for the convolutions, whose
// m·n·k exceeds the small-matrix limit of 10⁶) accumulates the inner
// dimension in slices: at most gemmQ long, a remainder between gemmQ and
// 2·gemmQ split in two halves rounded up to gemmUnrollM. Each slice is a
// fresh float32 FMA chain added to the output with one rounding.
const (
	smallGemmMNK = 1e6
	gemmQ        = 320
	gemmUnrollM  = 16
)

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

// convolve is convolution_direct_blas: valid cross-correlation through an
// im2col matrix (rows = output positions in row-major order, columns =
// input map, kernel column, kernel row, then 1 for the bias) multiplied by
// the kernels with sgemm. The im2col matrix is stored transposed here
// (column c of position q at cols[c·st+q], st = positions rounded up to 8)
// so that the kernels read eight positions at once.
func convolve(l *layer, x tensor) tensor {
	oh, ow := x.h-l.kh+1, x.w-l.kw+1
	positions, taps := oh*ow, l.taps()
	st := (positions + 7) &^ 7
	cols := make([]float32, taps*st)
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
	out := tensor{maps: l.nOut, h: oh, w: ow, data: make([]float32, l.nOut*positions)}
	slices := kSlices(l.nOut, positions, taps)
	for s := 0; s+1 < len(slices); s++ {
		convChains(out.data, l.weights, cols, l.nOut, positions, taps, st, slices[s], slices[s+1], s > 0)
	}
	return out
}

// convChainsGo is convChains in portable Go: for every kernel o and
// position q, the FMA chain of w[o][c]·im2col[q][c] over c in [k0, k1),
// stored in dst[o·positions+q] or, for a later slice, added to it in
// float32.
func convChainsGo(dst, w, cols []float32, nOut, positions, taps, st, k0, k1 int, add bool) {
	wr := func(o int) []float32 { return w[o*taps+k0 : o*taps+k1] }
	o := 0
	for ; o+2 <= nOut; o += 2 {
		d0 := dst[o*positions : (o+1)*positions]
		d1 := dst[(o+1)*positions : (o+2)*positions]
		p := 0
		for ; p+4 <= positions; p += 4 {
			r := chain2x4(wr(o), wr(o+1), cols[k0*st+p:], st)
			for q := 0; q < 4; q++ {
				store(d0, p+q, r[q], add)
				store(d1, p+q, r[4+q], add)
			}
		}
		for ; p < positions; p++ {
			store(d0, p, chainStrided(wr(o), cols[k0*st+p:], st), add)
			store(d1, p, chainStrided(wr(o+1), cols[k0*st+p:], st), add)
		}
	}
	for ; o < nOut; o++ {
		d0 := dst[o*positions : (o+1)*positions]
		for p := 0; p < positions; p++ {
			store(d0, p, chainStrided(wr(o), cols[k0*st+p:], st), add)
		}
	}
}

// chainStrided is the FMA chain Σ w_c·x[c·st], c ascending, from 0.
func chainStrided(w, x []float32, st int) float32 {
	var acc float32
	for c, v := range w {
		acc = fmaf32(v, x[c*st], acc)
	}
	return acc
}

// store writes a slice's chain result, or adds it (one float rounding) to
// the previous slices' sum.
func store(dst []float32, i int, v float32, add bool) {
	if add {
		dst[i] += v
	} else {
		dst[i] = v
	}
}

// chain2x4 runs the eight FMA chains w_j·x_i side by side so that their
// latencies overlap, for two weight rows and the four adjacent positions
// at x (row stride st): results [w0·x0..w0·x3, w1·x0..w1·x3].
func chain2x4(w0, w1, x []float32, st int) (r [8]float32) {
	n := len(w0)
	w1 = w1[:n]
	var a0, a1, a2, a3, b0, b1, b2, b3 float32
	for k := 0; k < n; k++ {
		xs := x[k*st : k*st+4]
		c, d := float64(w0[k]), float64(w1[k])
		u0, u1, u2, u3 := float64(xs[0]), float64(xs[1]), float64(xs[2]), float64(xs[3])
		pa0, pa1, pa2, pa3 := c*u0, c*u1, c*u2, c*u3
		pb0, pb1, pb2, pb3 := d*u0, d*u1, d*u2, d*u3
		sa0, sa1, sa2, sa3 := pa0+float64(a0), pa1+float64(a1), pa2+float64(a2), pa3+float64(a3)
		sb0, sb1, sb2, sb3 := pb0+float64(b0), pb1+float64(b1), pb2+float64(b2), pb3+float64(b3)
		if needsFix(sa0) || needsFix(sa1) || needsFix(sa2) || needsFix(sa3) ||
			needsFix(sb0) || needsFix(sb1) || needsFix(sb2) || needsFix(sb3) {
			a0, a1, a2, a3 = fmaSlow(pa0, float64(a0), sa0), fmaSlow(pa1, float64(a1), sa1), fmaSlow(pa2, float64(a2), sa2), fmaSlow(pa3, float64(a3), sa3)
			b0, b1, b2, b3 = fmaSlow(pb0, float64(b0), sb0), fmaSlow(pb1, float64(b1), sb1), fmaSlow(pb2, float64(b2), sb2), fmaSlow(pb3, float64(b3), sb3)
			continue
		}
		a0, a1, a2, a3 = float32(sa0), float32(sa1), float32(sa2), float32(sa3)
		b0, b1, b2, b3 = float32(sb0), float32(sb1), float32(sb2), float32(sb3)
	}
	return [8]float32{a0, a1, a2, a3, b0, b1, b2, b3}
}

// maxPool is OpenFace's max_pooling with 2×2 windows and stride 2: windows
// start at 0, 2, 4, ... and are clipped at the border.
func maxPool(x tensor) tensor {
	oh, ow := poolSize(x.h), poolSize(x.w)
	out := tensor{maps: x.maps, h: oh, w: ow, data: make([]float32, x.maps*oh*ow)}
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
func fullyConnected(l *layer, x tensor) tensor {
	var vec []float32
	if x.maps > 1 {
		vec = make([]float32, 0, l.in)
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
	out := make([]float32, l.out)
	for o := range out {
		w := l.weights[o*l.in : (o+1)*l.in]
		var s0, s1, s2, s3 float64
		k := 0
		for ; k+4 <= l.in; k += 4 {
			s0 += float64(float64(w[k]) * float64(vec[k]))
			s1 += float64(float64(w[k+1]) * float64(vec[k+1]))
			s2 += float64(float64(w[k+2]) * float64(vec[k+2]))
			s3 += float64(float64(w[k+3]) * float64(vec[k+3]))
		}
		for ; k < l.in; k++ {
			s0 += float64(float64(w[k]) * float64(vec[k]))
		}
		out[o] = float32(((s0 + s1) + s2) + s3 + float64(l.bias[o]))
	}
	if x.maps > 1 {
		return tensor{maps: 1, h: l.out, w: 1, data: out}
	}
	return tensor{maps: 1, h: 1, w: l.out, data: out}
}

// Bit patterns for fmaf32's fast path (see fmaf32).
const (
	tieMask     = 1<<29 - 1
	tieBits     = 1 << 28
	expMask     = 0x7ff0000000000000
	minNormal32 = 0x3810000000000000
)

// fmaf32 returns a·b+c rounded once to float32 (a hardware float32 FMA):
// the float64 sum is exact-then-rounded since the product of two float32
// values is exact in float64, and the float64→float32 rounding can only
// go wrong when that sum is exactly halfway between two float32 values (or
// in float32's subnormal range); needsFix detects those and fmaSlow
// settles them from the sum's exact rounding error.
func fmaf32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	if needsFix(s) {
		return fmaSlow(p, float64(c), s)
	}
	return float32(s)
}

func needsFix(s float64) bool {
	b := math.Float64bits(s)
	return b&tieMask == tieBits || (b&expMask < minNormal32 && b<<1 != 0)
}

// fmaSlow rounds the exact sum p+c (s is its float64 rounding) to float32.
func fmaSlow(p, c, s float64) float32 {
	f := float32(s)
	if float64(f) == s || math.IsInf(s, 0) || math.IsNaN(s) {
		return f
	}
	lo, hi := f, f
	if float64(f) < s {
		hi = math.Nextafter32(f, float32(math.Inf(1)))
	} else {
		lo = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	if s != (float64(lo)+float64(hi))/2 {
		return f
	}
	bv := s - p
	e := (p - (s - bv)) + (c - bv)
	switch {
	case e > 0:
		return hi
	case e < 0:
		return lo
	}
	return f
}
