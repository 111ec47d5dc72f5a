package exactmath

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestFirstLaneRow(t *testing.T) {
	for _, c := range []struct{ m, k, want int }{
		{81, 122, 80}, {49, 122, 48}, {121, 122, 121}, {25, 122, 25}, {9, 122, 9},
		{1, 81, 0}, {1, 49, 0}, {1, 121, 0}, {1, 25, 1}, {1, 9, 1}, {64, 122, 64},
		{40, 136, 32}, {6, 136, 0}, {40, 31, 40}, {24, 100, 16}, {25, 100, 25},
	} {
		if got := FirstLaneRow(c.m, c.k); got != c.want {
			t.Errorf("FirstLaneRow(%d, %d) = %d, want %d", c.m, c.k, got, c.want)
		}
	}
}

func TestReductions(t *testing.T) {
	// The trees sum every lane once.
	var l [16]float32
	for i := range l {
		l[i] = float32(i + 1)
	}
	if ReduceQuad(l) != 136 || Reduce512(l) != 136 {
		t.Errorf("reductions %v %v, want 136", ReduceQuad(l), Reduce512(l))
	}
	// They differ in order: the ones are absorbed by ±1e8 in the quad
	// tree and survive in the halving one.
	l = [16]float32{1e8, 1, 0, 0, 0, 0, 0, 0, -1e8, 1}
	if q, h := ReduceQuad(l), Reduce512(l); q != 0 || h != 2 {
		t.Errorf("ReduceQuad %v (want 0), Reduce512 %v (want 2)", q, h)
	}
	// LaneSum picks the quad tree while i or j is in a full group of four.
	for _, c := range []struct {
		i, j, m, n int
		quad       bool
	}{{80, 3, 81, 7, true}, {80, 4, 81, 7, false}, {0, 47, 1, 49, true}, {0, 48, 1, 49, false}, {39, 39, 40, 40, true}} {
		want := Reduce512(l)
		if c.quad {
			want = ReduceQuad(l)
		}
		if got := LaneSum(l, c.i, c.j, c.m, c.n); got != want {
			t.Errorf("LaneSum(%d, %d, %d, %d) = %v, want %v", c.i, c.j, c.m, c.n, got, want)
		}
	}
	// float64 trees.
	d := [8]float64{1e17, 1, 0, 0, -1e17, 1, 0, 0}
	if q, h := ReduceQuadF64(d), Reduce512F64(d); q != 0 || h != 2 {
		t.Errorf("ReduceQuadF64 %v (want 0), Reduce512F64 %v (want 2)", q, h)
	}
}

func TestKSlices(t *testing.T) {
	for _, c := range []struct {
		m, n, k int
		want    []int
	}{
		{10, 2704, 82, []int{0, 82}},
		{10, 400, 491, []int{0, 256, 491}},
		{10, 10, 491, []int{0, 491}},
		{10, 1000, 700, []int{0, 320, 512, 700}},
		{28, 484, 28, []int{0, 28}},
		{64, 1000, 577, []int{0, 288, 577}},
	} {
		if got := KSlices(c.m, c.n, c.k); !slices.Equal(got, c.want) {
			t.Errorf("KSlices(%d,%d,%d) = %v, want %v", c.m, c.n, c.k, got, c.want)
		}
	}
}

// halfwayData fills v with values of short mantissas, which make exact
// float32 halfway sums (the hard FMA cases) frequent.
func halfwayData(r *rand.Rand, v []float32) {
	for i := range v {
		v[i] = float32(r.IntN(64)-32) / 16
	}
}

func normalData(r *rand.Rand, v []float32) {
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
}

// chainDef is the definition of one chain: FMA32 over k ascending.
func chainDef(x, y []float32) float32 {
	var acc float32
	for k := range x {
		acc = FMA32(x[k], y[k], acc)
	}
	return acc
}

// lanesDef is the definition of the lanes: FMA32 into lane k mod 16.
func lanesDef(x, y []float32) [16]float32 {
	var l [16]float32
	for k := range x {
		l[k%16] = FMA32(x[k], y[k], l[k%16])
	}
	return l
}

func TestDotChainAndLanes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 5, 16, 31, 34, 122, 136, 225} {
		x, y := make([]float32, n), make([]float32, n+3)
		halfwayData(r, x)
		normalData(r, y)
		if got, want := DotChain(x, y), chainDef(x, y); got != want {
			t.Errorf("n %d: DotChain %v, definition %v", n, got, want)
		}
		if got, want := DotLanes(x, y), lanesDef(x, y); got != want {
			t.Errorf("n %d: DotLanes %v, definition %v", n, got, want)
		}
		a0, a1, a2, a3 := dotChain4(x, y[1:n+1], y[2:n+2], y[3:n+3], y[:n])
		if a0 != chainDef(x, y) || a1 != chainDef(y[1:n+1], y) || a2 != chainDef(y[2:n+2], y) || a3 != chainDef(y[3:n+3], y) {
			t.Errorf("n %d: dotChain4 differs from single chains", n)
		}
	}
}

// TestGemmChains checks GemmChains (the assembly kernel when the CPU has
// one), the portable kernels and the definition against each other, slices
// added included, on data with many float32 halfway cases, for the shapes
// of the CCNF neurons, the validator's convolutions, MTCNN's layers and
// odd ones.
func TestGemmChains(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	for _, c := range []struct{ rows, cols, k, ldx int }{
		{7, 81, 122, 88}, {7, 49, 122, 56}, {7, 121, 122, 128}, {10, 2704, 82, 2704}, {10, 400, 491, 400},
		{3, 13, 20, 16}, {5, 8, 7, 8}, {28, 100, 28, 104}, {1, 9, 3, 9}, {4, 16, 17, 16}, {6, 5, 40, 5}, {40, 32, 136, 32},
	} {
		w := make([]float32, c.rows*c.k)
		x := make([]float32, c.k*c.ldx)
		normalData(r, w)
		halfwayData(r, x)
		got := make([]float32, c.rows*c.cols)
		port := make([]float32, c.rows*c.cols)
		sl := KSlices(c.rows, c.cols, c.k)
		for s := 0; s+1 < len(sl); s++ {
			GemmChains(got, c.cols, w, c.k, x, c.ldx, c.rows, c.cols, sl[s], sl[s+1], s > 0)
			gemmChainsGo(port, c.cols, w, c.k, x, c.ldx, c.rows, c.cols, sl[s], sl[s+1], s > 0)
		}
		xc := make([]float32, c.k)
		for q := 0; q < c.cols; q++ {
			for kk := range xc {
				xc[kk] = x[kk*c.ldx+q]
			}
			for o := 0; o < c.rows; o++ {
				var want float32
				for s := 0; s+1 < len(sl); s++ {
					v := chainDef(w[o*c.k+sl[s]:o*c.k+sl[s+1]], xc[sl[s]:sl[s+1]])
					if s == 0 {
						want = v
					} else {
						want += v
					}
				}
				i := o*c.cols + q
				if got[i] != want || port[i] != want {
					t.Fatalf("%+v row %d column %d: GemmChains %v, portable %v, definition %v (SIMD %v)", c, o, q, got[i], port[i], want, simd)
				}
			}
		}
	}
	t.Logf("SIMD kernels in use: %v", simd)
}

// TestMatVecBLAS checks the one-output-row product (chains for K < 32,
// lanes and the store trees otherwise), with and without c, through the
// assembly and the portable lane kernels.
func TestMatVecBLAS(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 11))
	for _, c := range []struct{ n, k, lda int }{
		{204, 34, 34}, {81, 81, 96}, {49, 49, 49}, {121, 121, 128}, {225, 225, 240}, {25, 25, 25}, {9, 9, 16},
		{128, 576, 576}, {256, 1152, 1152}, {7, 32, 32}, {5, 16, 16}, {3, 47, 50},
	} {
		a := make([]float32, c.n*c.lda)
		x := make([]float32, c.k)
		cv := make([]float32, c.n)
		halfwayData(r, a)
		normalData(r, x)
		normalData(r, cv)
		got, gotC, port := make([]float32, c.n), make([]float32, c.n), make([]float32, c.n)
		MatVecBLAS(got, a, c.lda, x, nil)
		MatVecBLAS(gotC, a, c.lda, x, cv)
		if c.k >= 32 {
			laneRowGo(port, 1, a, c.lda, x, 0, 1, c.n)
		} else {
			copy(port, got)
		}
		for j := 0; j < c.n; j++ {
			row := a[j*c.lda : j*c.lda+c.k]
			want := chainDef(x, row)
			if c.k >= 32 {
				l := lanesDef(row, x)
				want = ReduceQuad(l)
				if j >= c.n&^3 {
					want = Reduce512(l)
				}
			}
			if got[j] != want || port[j] != want || gotC[j] != cv[j]+want {
				t.Fatalf("%+v output %d: %v (with c %v), portable %v, definition %v (SIMD %v)", c, j, got[j], gotC[j], port[j], want, simd)
			}
		}
	}
}

// TestLaneRow checks lane rows of products with several output rows and
// a strided destination (the CCNF neurons' last positions), through the
// assembly and the portable kernels, against the definition.
func TestLaneRow(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 17))
	for _, c := range []struct{ i, m, n, k int }{{80, 81, 7, 122}, {48, 49, 7, 122}, {3, 4, 5, 40}, {33, 40, 40, 136}, {39, 40, 40, 136}, {0, 1, 9, 33}} {
		const ldo = 3
		a := make([]float32, c.n*c.k)
		x := make([]float32, c.k)
		halfwayData(r, a)
		normalData(r, x)
		got, port := make([]float32, c.n*ldo), make([]float32, c.n*ldo)
		LaneRow(got, ldo, a, c.k, x, c.i, c.m, c.n)
		laneRowGo(port, ldo, a, c.k, x, c.i, c.m, c.n)
		for j := 0; j < c.n; j++ {
			want := LaneSum(lanesDef(x, a[j*c.k:(j+1)*c.k]), c.i, j, c.m, c.n)
			if got[j*ldo] != want || port[j*ldo] != want {
				t.Fatalf("%+v output %d: %v, portable %v, definition %v (SIMD %v)", c, j, got[j*ldo], port[j*ldo], want, simd)
			}
		}
	}
}

// TestAddHessian checks the Hessian product, weighted and unweighted (the
// symmetric shortcut), for the full (40 parameters), rigid (6) and odd
// sizes, through the assembly and the portable kernels, against the
// definition.
func TestAddHessian(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 13))
	for _, c := range []struct{ p, k int }{{40, 136}, {6, 136}, {40, 12}, {26, 56}, {22, 102}, {17, 40}, {3, 2}} {
		jt := make([]float32, c.p*c.k)
		jwt := make([]float32, c.p*c.k)
		halfwayData(r, jt)
		normalData(r, jwt)
		for _, weighted := range []bool{false, true} {
			y := jt
			if weighted {
				y = jwt
			}
			h := make([]float32, c.p*c.p)
			normalData(r, h)
			h0 := append([]float32(nil), h...)
			AddHessian(h, jt, y, c.p, c.k)
			port := make([]float32, c.p*c.p)
			hessianGo(port, jt, y, c.p, c.k)
			chainRows := FirstLaneRow(c.p, c.k)
			for j := 0; j < c.p; j++ {
				for i := 0; i < c.p; i++ {
					x, yy := jt[i*c.k:(i+1)*c.k], y[j*c.k:(j+1)*c.k]
					want := chainDef(x, yy)
					if i >= chainRows {
						want = LaneSum(lanesDef(x, yy), i, j, c.p, c.p)
					}
					if port[j*c.p+i] != want || h[j*c.p+i] != h0[j*c.p+i]+want {
						t.Fatalf("%+v weighted %v entry (%d, %d): %v (portable %v), want %v added to %v (SIMD %v)",
							c, weighted, j, i, h[j*c.p+i], port[j*c.p+i], want, h0[j*c.p+i], simd)
					}
				}
			}
		}
	}
}

// TestDotLanesF64 checks the lane layout on widened float32 values, whose
// products are exact (so each FMA is a plain sum, the case of OpenFace's
// geometry descriptor), and that each step is fused.
func TestDotLanesF64(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 15))
	x, y := make([]float64, 37), make([]float64, 37)
	for i := range x {
		x[i], y[i] = float64(float32(r.NormFloat64())), float64(float32(r.NormFloat64()))
	}
	l := DotLanesF64(x, y)
	for lane := range l {
		var want float64
		for k := lane; k < len(x); k += 8 {
			want += x[k] * y[k]
		}
		if l[lane] != want {
			t.Errorf("lane %d: %v, want %v", lane, l[lane], want)
		}
	}
	// (1+2⁻³⁰)(1−2⁻³⁰) − 1 is −2⁻⁶⁰ fused and 0 when the product rounds.
	x = []float64{-1, 0, 0, 0, 0, 0, 0, 0, 1 + 0x1p-30}
	y = []float64{1, 0, 0, 0, 0, 0, 0, 0, 1 - 0x1p-30}
	if got := DotLanesF64(x, y)[0]; got != -0x1p-60 {
		t.Errorf("fused lane %v, want -2⁻⁶⁰", got)
	}
}

// TestLaneTailSignedZero checks that a short tail leaves the lanes it does
// not reach untouched, negative zeros included, in the assembly kernel as
// in DotLanes: lanes that underflow to −0 stay −0, so the sum is −0.
func TestLaneTailSignedZero(t *testing.T) {
	for _, k := range []int{33, 47, 40} {
		a, x := make([]float32, k), make([]float32, k)
		for i := range a {
			a[i], x[i] = -1e-30, 1e-30
		}
		for i := k &^ 15; i < k; i++ {
			a[i], x[i] = float32(math.Copysign(0, -1)), 1
		}
		rows := append(append([]float32(nil), a...), a...)
		out := make([]float32, 2)
		MatVecBLAS(out, rows, k, x, nil)
		want := DotLanes(a, x)
		for _, v := range out {
			if !math.Signbit(float64(v)) || v != 0 {
				t.Errorf("k %d: sum %v (sign %v), want -0", k, v, math.Signbit(float64(v)))
			}
		}
		for l := range want {
			if !math.Signbit(float64(want[l])) {
				t.Fatalf("k %d: DotLanes lane %d is %v, want -0", k, l, want[l])
			}
		}
	}
}
