package cnn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// specialTensor is a random tensor sprinkled with the values on which the
// order of comparisons and products shows: ±0, NaNs with payloads, ±Inf,
// subnormals and exact ties.
func specialTensor(r *rand.Rand, n, c, h, w int) Tensor {
	t := randomTensor(r, n, c, h, w)
	special := []float32{
		0, float32(math.Copysign(0, -1)),
		math.Float32frombits(0x7fc01234), math.Float32frombits(0xffc00042),
		float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(1), math.Float32frombits(0x80000003),
		0.5, -0.5,
	}
	for i := range t.Data {
		if r.IntN(8) == 0 {
			t.Data[i] = special[r.IntN(len(special))]
		}
	}
	return t
}

// sameBits reports the first index where a and b differ in any bit.
func sameBits(a, b Tensor) error {
	if a.N != b.N || a.C != b.C || a.H != b.H || a.W != b.W || len(a.Data) != len(b.Data) {
		return fmt.Errorf("shape %dx%dx%dx%d (%d values), want %dx%dx%dx%d (%d values)",
			a.N, a.C, a.H, a.W, len(a.Data), b.N, b.C, b.H, b.W, len(b.Data))
	}
	for i := range a.Data {
		if math.Float32bits(a.Data[i]) != math.Float32bits(b.Data[i]) {
			return fmt.Errorf("value %d is %08x, want %08x", i, math.Float32bits(a.Data[i]), math.Float32bits(b.Data[i]))
		}
	}
	return nil
}

// TestWorkspaceMatchesOracle holds the forward pass to the frozen one it
// replaced (oracle_test.go), bit for bit: the real networks over many input
// sizes (one and several im2col blocks, ragged last blocks, batches) and
// hand-built networks for the paths they do not take (k-sliced products,
// pooling that leaves cells empty, a PReLU not after a convolution). One
// Workspace serves every case, in an order that shrinks and grows the
// buffers, so stale contents would show.
func TestWorkspaceMatchesOracle(t *testing.T) {
	type tc struct {
		name    string
		net     *Net
		n, h, w int
	}
	var cases []tc
	for _, f := range []struct {
		file  string
		sizes [][3]int
	}{
		{"PNet.dat", [][3]int{{1, 216, 384}, {1, 12, 12}, {2, 25, 31}, {1, 100, 13}, {1, 13, 200}, {1, 47, 95}, {1, 153, 272}, {1, 13, 12}}},
		{"RNet.dat", [][3]int{{1, 24, 24}, {37, 24, 24}, {3, 25, 24}}},
		{"ONet.dat", [][3]int{{1, 48, 48}, {9, 48, 48}, {2, 49, 48}}},
	} {
		net, err := Load(mtcnnFile(t, f.file))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range f.sizes {
			cases = append(cases, tc{fmt.Sprintf("%s/%dx%dx%d", f.file[:4], s[0], s[1], s[2]), net, s[0], s[1], s[2]})
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	weights := func(n int) []float32 {
		w := make([]float32, n)
		for i := range w {
			w[i] = float32(r.Float64()*2-1) / 16
		}
		return w
	}
	// 80 maps of 3x3 give 721 taps: with 16 outputs and 100 positions the
	// product exceeds the small-matrix limit and is cut into k slices.
	sliced := &Net{Layers: []Layer{
		&Conv{In: 80, Out: 16, KH: 3, KW: 3, Kernels: weights(16 * 80 * 9), Bias: weights(16)},
		&PReLU{Slopes: weights(16)},
		&MaxPool{KX: 1, KY: 1, SX: 2, SY: 3}, // leaves cells no window starts in
		&PReLU{Slopes: weights(16)},
		&FC{In: 16, Out: 5, Weights: weights(80), Bias: weights(5)},
	}}
	cases = append(cases, tc{"sliced", sliced, 2, 12, 12}, tc{"sliced/small", sliced, 1, 5, 7})
	odd := &Net{Layers: []Layer{
		&Conv{In: 2, Out: 3, KH: 2, KW: 3, Kernels: weights(36), Bias: weights(3)},
		&MaxPool{KX: 3, KY: 2, SX: 2, SY: 2},
		&PReLU{Slopes: weights(3)},
		&MaxPool{KX: 2, KY: 2, SX: 2, SY: 2},
		&FC{In: 3 * 4 * 4, Out: 120, Weights: weights(120 * 48), Bias: weights(120)},
		&PReLU{Slopes: weights(120)},
		&FC{In: 120, Out: 7, Weights: weights(840), Bias: weights(7)},
	}}
	cases = append(cases, tc{"odd", odd, 3, 17, 19})

	var ws Workspace
	ctx := context.Background()
	for round := 0; round < 2; round++ {
		for _, i := range r.Perm(len(cases)) {
			c := cases[i]
			in := specialTensor(r, c.n, c.net.InChannels(), c.h, c.w)
			keep := append([]float32(nil), in.Data...)
			want, err := oracleRun(ctx, c.net, in)
			if err != nil {
				t.Fatalf("%s: oracle: %v", c.name, err)
			}
			got, err := c.net.RunWorkspace(ctx, &ws, in)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if err := sameBits(got, want); err != nil {
				t.Errorf("%s: RunWorkspace: %v", c.name, err)
			}
			fresh, err := c.net.Run(ctx, in)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if err := sameBits(fresh, want); err != nil {
				t.Errorf("%s: Run: %v", c.name, err)
			}
			if err := sameBits(in, Tensor{N: in.N, C: in.C, H: in.H, W: in.W, Data: keep}); err != nil {
				t.Errorf("%s: input modified: %v", c.name, err)
			}
		}
	}
}

// TestWorkspaceAllocations checks that a warm Workspace runs PNet without
// allocating the activations again.
func TestWorkspaceAllocations(t *testing.T) {
	net, err := Load(mtcnnFile(t, "PNet.dat"))
	if err != nil {
		t.Fatal(err)
	}
	in := randomTensor(rand.New(rand.NewPCG(7, 8)), 1, 3, 72, 96)
	var ws Workspace
	ctx := context.Background()
	if _, err := net.RunWorkspace(ctx, &ws, in); err != nil {
		t.Fatal(err)
	}
	// What remains is the shape plan and the k-slice bounds.
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := net.RunWorkspace(ctx, &ws, in); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 8 {
		t.Errorf("%v allocations per warm run, want at most 8", allocs)
	}
}

// TestPoolAndPReLUMatchOracle runs the pooling and PReLU kernels directly
// on maps full of ±0, NaNs, infinities and ties, where the order of the
// max scan and the PReLU test show, over widths that take the vector
// kernels, their tails and the clipped border windows.
func TestPoolAndPReLUMatchOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	special := []float32{
		0, float32(math.Copysign(0, -1)), 0, float32(math.Copysign(0, -1)),
		math.Float32frombits(0x7fc01234), math.Float32frombits(0xffc00042), math.Float32frombits(0x7f800001),
		float32(math.Inf(1)), float32(math.Inf(-1)), -math.MaxFloat32,
		math.Float32frombits(1), math.Float32frombits(0x80000003), 0.5, -0.5,
	}
	pools := []*MaxPool{
		{KX: 2, KY: 2, SX: 2, SY: 2}, {KX: 3, KY: 3, SX: 2, SY: 2},
		{KX: 3, KY: 2, SX: 2, SY: 2}, {KX: 1, KY: 1, SX: 2, SY: 2},
	}
	for _, h := range []int{1, 2, 3, 4, 5, 9} {
		for _, w := range []int{1, 2, 3, 5, 16, 17, 18, 19, 33, 34, 35, 50, 67} {
			x := randomTensor(r, 2, 3, h, w)
			for i := range x.Data {
				if r.IntN(2) == 0 {
					x.Data[i] = special[r.IntN(len(special))]
				}
			}
			for _, l := range pools {
				if PoolOutSize(h, l.KY, l.SY) < 1 || PoolOutSize(w, l.KX, l.SX) < 1 {
					continue
				}
				if err := sameBits(maxPool(l, x), oracleMaxPool(l, x)); err != nil {
					t.Errorf("%s on %dx%d: %v", l, h, w, err)
				}
			}
			p := &PReLU{Slopes: []float32{0.25, -0.5, float32(math.Copysign(0, -1))}}
			got := Tensor{N: x.N, C: x.C, H: x.H, W: x.W, Data: append([]float32(nil), x.Data...)}
			want := Tensor{N: x.N, C: x.C, H: x.H, W: x.W, Data: append([]float32(nil), x.Data...)}
			prelu(p, got)
			oraclePReLU(p, want)
			if err := sameBits(got, want); err != nil {
				t.Errorf("PReLU on %dx%d: %v", h, w, err)
			}
		}
	}
}
