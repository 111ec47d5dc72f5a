package cnn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func tensor(n, c, h, w int, v ...float32) Tensor {
	t := Tensor{N: n, C: c, H: h, W: w, Data: v}
	if t.Check() != nil {
		panic("bad test tensor")
	}
	return t
}

func TestPoolOutSize(t *testing.T) {
	cases := []struct{ in, k, s, want int }{
		{4, 2, 2, 2}, {5, 2, 2, 3}, {7, 2, 2, 4}, {10, 2, 2, 5},
		{4, 3, 2, 2}, // (4-3)/2 = 0.5 rounds up
		{5, 3, 2, 2}, {6, 3, 2, 3}, {22, 3, 2, 11}, {9, 3, 2, 4},
		{2, 3, 2, 0}, // -0.5 rounds away from zero to -1
		{3, 3, 2, 1}, {1, 1, 1, 1},
	}
	for _, c := range cases {
		if got := PoolOutSize(c.in, c.k, c.s); got != c.want {
			t.Errorf("PoolOutSize(%d,%d,%d) = %d, want %d", c.in, c.k, c.s, got, c.want)
		}
	}
}

func TestLayersByHand(t *testing.T) {
	cases := []struct {
		name string
		net  Net
		in   Tensor
		want Tensor
	}{
		{
			// Cross-correlation, no flip: out(0,0) = 1·1+2·2+4·3+5·4 + 0.5.
			name: "conv 2x2",
			net:  Net{Layers: []Layer{&Conv{In: 1, Out: 1, KH: 2, KW: 2, Kernels: []float32{1, 2, 3, 4}, Bias: []float32{0.5}}}},
			in:   tensor(1, 1, 3, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9),
			want: tensor(1, 1, 2, 2, 37.5, 47.5, 67.5, 77.5),
		},
		{
			// Two input maps, three outputs, a non-square 1x2 kernel and
			// a batch of two. Output o sums kernel (o,0) on map 0 and
			// kernel (o,1) on map 1.
			name: "conv maps and batch",
			net: Net{Layers: []Layer{&Conv{In: 2, Out: 3, KH: 1, KW: 2,
				Kernels: []float32{
					1, 0, 0, 0, // o=0: left pixel of map 0
					0, 0, 0, 1, // o=1: right pixel of map 1
					1, 1, 1, 1, // o=2: everything
				},
				Bias: []float32{0, 10, 100}}}},
			in: tensor(2, 2, 1, 3,
				1, 2, 3, 4, 5, 6,
				-1, -2, -3, -4, -5, -6),
			want: tensor(2, 3, 1, 2,
				1, 2, 15, 16, 112, 116,
				-1, -2, 5, 4, 88, 84),
		},
		{
			// 4x5 map, 3x3 windows every 2: rows round(0.5)+1 = 2 with the
			// second window clipped to rows 2..3; columns round(1)+1 = 2.
			name: "pool k3 s2 clipped",
			net:  Net{Layers: []Layer{passThrough(), &MaxPool{KX: 3, KY: 3, SX: 2, SY: 2}}},
			in: tensor(1, 1, 4, 5,
				1, 9, 0, 0, 0,
				0, 0, 0, 0, 7,
				0, 0, 0, 0, 0,
				-5, 0, 0, 8, -9),
			want: tensor(1, 1, 2, 2, 9, 7, 0, 8),
		},
		{
			// 2x7 with 2x2 windows: one row, round(2.5)+1 = 4 columns;
			// the last window holds only column 6.
			name: "pool k2 s2 odd width",
			net:  Net{Layers: []Layer{passThrough(), &MaxPool{KX: 2, KY: 2, SX: 2, SY: 2}}},
			in: tensor(1, 1, 2, 7,
				-1, -2, -3, -4, -5, -6, -7,
				-8, -9, -10, -11, -12, -13, -14),
			want: tensor(1, 1, 1, 4, -1, -3, -5, -7),
		},
		{
			name: "prelu per map",
			net:  Net{Layers: []Layer{&Conv{In: 1, Out: 2, KH: 1, KW: 1, Kernels: []float32{1, -1}, Bias: []float32{0, 0}}, &PReLU{Slopes: []float32{0.25, 2}}}},
			in:   tensor(1, 1, 1, 4, -2, 0, 3, -0.5),
			want: tensor(1, 2, 1, 4, -0.5, 0, 3, -0.125, 2, 0, -6, 0.5),
		},
		{
			// PNet style: as many maps as FC inputs, applied per pixel.
			name: "fc per pixel",
			net: Net{Layers: []Layer{
				&Conv{In: 2, Out: 2, KH: 1, KW: 1, Kernels: []float32{1, 0, 0, 1}, Bias: []float32{0, 0}},
				&FC{In: 2, Out: 2, Weights: []float32{1, 10, -1, 0}, Bias: []float32{0.5, 0}}}},
			in:   tensor(1, 2, 1, 2, 1, 2, 3, 4),
			want: tensor(1, 2, 1, 2, 31.5, 42.5, -1, -2),
		},
		{
			// RNet style: 2 maps of 2x2 flattened column by column, map
			// after map: v = [1 3 2 4 5 7 6 8]. Output k picks v[k] and
			// adds k/10.
			name: "fc flattens column-major",
			net: Net{Layers: []Layer{
				&Conv{In: 2, Out: 2, KH: 1, KW: 1, Kernels: []float32{1, 0, 0, 1}, Bias: []float32{0, 0}},
				&FC{In: 8, Out: 8, Weights: identity(8), Bias: []float32{0, .1, .2, .3, .4, .5, .6, .7}}}},
			in:   tensor(1, 2, 2, 2, 1, 2, 3, 4, 5, 6, 7, 8),
			want: tensor(1, 8, 1, 1, 1, 3.1, 2.2, 4.3, 5.4, 7.5, 6.6, 8.7),
		},
		{
			// After a flattening FC the result is a vector: PReLU uses one
			// slope per element and a second FC takes the whole vector.
			name: "fc prelu fc",
			net: Net{Layers: []Layer{
				&Conv{In: 1, Out: 1, KH: 1, KW: 1, Kernels: []float32{1}, Bias: []float32{0}},
				&FC{In: 2, Out: 2, Weights: []float32{1, 0, 0, 1}, Bias: []float32{0, 0}},
				&PReLU{Slopes: []float32{0.5, 3}},
				&FC{In: 2, Out: 1, Weights: []float32{1, 1}, Bias: []float32{1}}}},
			in:   tensor(2, 1, 2, 1, -4, -1, 2, -2),
			want: tensor(2, 1, 1, 1, -4, -3),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.in.Data)
			got, err := tc.net.Run(context.Background(), tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.N != tc.want.N || got.C != tc.want.C || got.H != tc.want.H || got.W != tc.want.W {
				t.Fatalf("shape %dx%dx%dx%d, want %dx%dx%dx%d", got.N, got.C, got.H, got.W, tc.want.N, tc.want.C, tc.want.H, tc.want.W)
			}
			for i := range got.Data {
				if math.Abs(float64(got.Data[i]-tc.want.Data[i])) > 1e-6 {
					t.Fatalf("got %v\nwant %v", got.Data, tc.want.Data)
				}
			}
			if !slices.Equal(before, tc.in.Data) {
				t.Error("Run modified its input")
			}
		})
	}
}

// passThrough is a 1×1 convolution of one map that copies it (a network
// must start with a convolution).
func passThrough() *Conv {
	return &Conv{In: 1, Out: 1, KH: 1, KW: 1, Kernels: []float32{1}, Bias: []float32{0}}
}

func identity(n int) []float32 {
	m := make([]float32, n*n)
	for i := 0; i < n; i++ {
		m[i*n+i] = 1
	}
	return m
}

func TestRunShapeErrors(t *testing.T) {
	net := &Net{Layers: []Layer{
		&Conv{In: 1, Out: 2, KH: 2, KW: 2, Kernels: make([]float32, 8), Bias: make([]float32, 2)},
		&FC{In: 8, Out: 1, Weights: make([]float32, 8), Bias: make([]float32, 1)},
	}}
	cases := []struct {
		name string
		in   Tensor
	}{
		{"empty batch", NewTensor(0, 1, 3, 3)},
		{"wrong channels", NewTensor(1, 3, 3, 3)},
		{"smaller than kernel", NewTensor(1, 1, 1, 3)},
		{"FC size mismatch", NewTensor(1, 1, 4, 4)},
	}
	for _, tc := range cases {
		if _, err := net.Run(context.Background(), tc.in); !errors.Is(err, ErrShape) {
			t.Errorf("%s: error %v, want ErrShape", tc.name, err)
		}
	}
	bad := Tensor{N: 1, C: 1, H: 3, W: 3, Data: make([]float32, 8)}
	if _, err := net.Run(context.Background(), bad); err == nil {
		t.Error("inconsistent tensor accepted")
	}
	broken := &Net{Layers: []Layer{&Conv{In: 1, Out: 2, KH: 2, KW: 2, Kernels: make([]float32, 7), Bias: make([]float32, 2)}}}
	if _, err := broken.Run(context.Background(), NewTensor(1, 1, 3, 3)); err == nil {
		t.Error("conv with too few weights accepted")
	}
}

func TestRunCancelled(t *testing.T) {
	net, err := Load(mtcnnFile(t, "PNet.dat"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := net.Run(ctx, NewTensor(1, 3, 24, 24)); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func randomTensor(r *rand.Rand, n, c, h, w int) Tensor {
	t := NewTensor(n, c, h, w)
	for i := range t.Data {
		t.Data[i] = float32(r.Float64()*2 - 1)
	}
	return t
}

// naiveRun is a direct float64 transcription of OpenFace's layer formulas,
// written independently of the optimised code.
func naiveRun(net *Net, in Tensor) Tensor {
	x := in
	vector := false
	for _, l := range net.Layers {
		switch l := l.(type) {
		case *Conv:
			oh, ow := x.H-l.KH+1, x.W-l.KW+1
			out := NewTensor(x.N, l.Out, oh, ow)
			for b := 0; b < x.N; b++ {
				for o := 0; o < l.Out; o++ {
					for y := 0; y < oh; y++ {
						for xx := 0; xx < ow; xx++ {
							s := float64(l.Bias[o])
							for i := 0; i < l.In; i++ {
								for ky := 0; ky < l.KH; ky++ {
									for kx := 0; kx < l.KW; kx++ {
										s += float64(x.At(b, i, y+ky, xx+kx)) * float64(l.Kernels[((o*l.In+i)*l.KH+ky)*l.KW+kx])
									}
								}
							}
							out.Data[((b*l.Out+o)*oh+y)*ow+xx] = float32(s)
						}
					}
				}
			}
			x, vector = out, false
		case *MaxPool:
			x = maxPool(l, x)
		case *PReLU:
			out := NewTensor(x.N, x.C, x.H, x.W)
			for i, v := range x.Data {
				c := (i / (x.H * x.W)) % x.C
				out.Data[i] = v
				if v < 0 {
					out.Data[i] = v * l.Slopes[c]
				}
			}
			x = out
		case *FC:
			if !vector && x.C == l.In && x.C > 1 {
				out := NewTensor(x.N, l.Out, x.H, x.W)
				for b := 0; b < x.N; b++ {
					for o := 0; o < l.Out; o++ {
						for y := 0; y < x.H; y++ {
							for xx := 0; xx < x.W; xx++ {
								s := float64(l.Bias[o])
								for i := 0; i < l.In; i++ {
									s += float64(l.Weights[o*l.In+i]) * float64(x.At(b, i, y, xx))
								}
								out.Data[((b*l.Out+o)*x.H+y)*x.W+xx] = float32(s)
							}
						}
					}
				}
				x = out
				continue
			}
			out := NewTensor(x.N, l.Out, 1, 1)
			for b := 0; b < x.N; b++ {
				for o := 0; o < l.Out; o++ {
					s := float64(l.Bias[o])
					k := 0
					for c := 0; c < x.C; c++ {
						for xx := 0; xx < x.W; xx++ {
							for y := 0; y < x.H; y++ {
								s += float64(l.Weights[o*l.In+k]) * float64(x.At(b, c, y, xx))
								k++
							}
						}
					}
					out.Data[b*l.Out+o] = float32(s)
				}
			}
			x, vector = out, true
		}
	}
	return x
}

// TestRealNetsAgainstNaive runs the real networks on random inputs (batch
// of 3) and compares with the float64 transcription; it also checks that a
// batch gives exactly what its samples give one at a time.
func TestRealNetsAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		file string
		h, w int
	}{{"PNet.dat", 25, 31}, {"RNet.dat", 24, 24}, {"ONet.dat", 48, 48}} {
		t.Run(tc.file, func(t *testing.T) {
			net, err := Load(mtcnnFile(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			in := randomTensor(r, 3, 3, tc.h, tc.w)
			got, err := net.Run(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			want := naiveRun(net, in)
			if got.N != want.N || got.C != want.C || got.H != want.H || got.W != want.W {
				t.Fatalf("shape %v, want %v", []int{got.N, got.C, got.H, got.W}, []int{want.N, want.C, want.H, want.W})
			}
			var worst float64
			for i := range got.Data {
				worst = max(worst, math.Abs(float64(got.Data[i]-want.Data[i])))
			}
			t.Logf("max |Run - float64 reference| = %.3g", worst)
			if worst > 1e-4 {
				t.Errorf("max difference %g > 1e-4", worst)
			}
			sample := in.C * in.H * in.W
			outSample := got.C * got.H * got.W
			for b := 0; b < in.N; b++ {
				one := Tensor{N: 1, C: in.C, H: in.H, W: in.W, Data: in.Data[b*sample : (b+1)*sample]}
				single, err := net.Run(context.Background(), one)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(single.Data, got.Data[b*outSample:(b+1)*outSample]) {
					t.Errorf("sample %d alone differs from its batch result", b)
				}
			}
		})
	}
}

func BenchmarkRun(b *testing.B) {
	for _, bc := range []struct {
		file    string
		n, h, w int
	}{
		{"PNet.dat", 1, 72, 96},   // the largest pyramid level of a 480x360 frame
		{"PNet.dat", 1, 216, 288}, // ... of a 1440x1080 frame
		{"RNet.dat", 16, 24, 24},
		{"ONet.dat", 4, 48, 48},
	} {
		net, err := Load(mtcnnFile(b, bc.file))
		if err != nil {
			b.Fatal(err)
		}
		in := randomTensor(rand.New(rand.NewPCG(3, 4)), bc.n, 3, bc.h, bc.w)
		b.Run(fmt.Sprintf("%s/%dx%dx%d", bc.file[:4], bc.n, bc.h, bc.w), func(b *testing.B) {
			for b.Loop() {
				if _, err := net.Run(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
