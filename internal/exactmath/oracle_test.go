package exactmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Frozen copies of the routines as they were before the Hessian scratch
// buffers, the symmetric panel skipping and the interleaved Cholesky sums.
// The tests below hold the current code to them bit for bit.

// oracleAddHessian is the former AddHessian: a fresh product and, on the
// assembly path, a fresh transposed factor, every panel computed.
func oracleAddHessian(h, jt, jwt []float32, p, k int) {
	if p <= 0 {
		return
	}
	jt, jwt, h = jt[:p*k], jwt[:p*k], h[:p*p]
	g := make([]float32, p*p)
	oracleHessianProduct(g, jt, jwt, p, k)
	for i, v := range g {
		h[i] += v
	}
}

func oracleHessianProduct(g, jt, jwt []float32, p, k int) {
	if !simd || k == 0 {
		hessianGo(g, jt, jwt, p, k)
		return
	}
	chainRows := FirstLaneRow(p, k)
	if chainRows > 0 {
		ld := (chainRows + 7) &^ 7
		xt := make([]float32, k*ld)
		for i := 0; i < chainRows; i++ {
			for kk, v := range jt[i*k : i*k+k] {
				xt[kk*ld+i] = v
			}
		}
		gemmChainsKernel(g, p, jwt, k, xt, ld, p, chainRows, 0, k, false)
	}
	for i := chainRows; i < p; i++ {
		laneRowKernel(g[i:], p, jwt, k, jt[i*k:i*k+k], i, p, p)
	}
}

// oracleCholeskyFactor is the former choleskyFactor, one sum at a time.
func oracleCholeskyFactor(a []float32, n int) bool {
	for i := 0; i < n; i++ {
		ai := a[i*n : i*n+n]
		for j := 0; j < i; j++ {
			aj := a[j*n : j*n+n]
			s := float64(ai[j])
			for k := 0; k < j; k++ {
				s -= float64(ai[k] * aj[k])
			}
			ai[j] = float32(s * float64(aj[j]))
		}
		s := float64(ai[i])
		for k := 0; k < i; k++ {
			t := float64(ai[k])
			s -= t * t
		}
		if s < FltEpsilon {
			return false
		}
		ai[i] = float32(1 / math.Sqrt(s))
	}
	return true
}

// sameBits tells whether a and b hold the same bits, except that any two
// NaNs count as equal: a product's NaN payload depends on which operand
// the CPU reads first, and the symmetric shortcut (which hessianGo has
// always taken) swaps the operands of mirrored entries.
func sameBits(a, b []float32) (int, bool) {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
			return i, false
		}
	}
	return -1, true
}

// extremeData fills v with a mix of ordinary values, halfway products,
// signed zeros, subnormals, huge values, infinities and, with nan, NaNs.
func extremeData(r *rand.Rand, v []float32, nan bool) {
	specials := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, 1e-40, -3e-39,
		math.MaxFloat32, -math.MaxFloat32, 3e38, 1e30, -1e25, 1e-30,
		float32(math.Inf(1)), float32(math.Inf(-1))}
	for i := range v {
		switch c := r.IntN(10); {
		case c < 5:
			v[i] = float32(r.NormFloat64())
		case c < 7:
			v[i] = float32(r.IntN(64)-32) / 16
		case c < 9 || !nan:
			v[i] = specials[r.IntN(len(specials))]
		default:
			v[i] = float32(math.NaN())
		}
	}
}

// TestAddHessianMatchesOracle compares the scratch-buffer Hessian (reused
// across sizes, so that stale contents would show) with the frozen one on
// normal, halfway and extreme inputs, weighted and unweighted.
func TestAddHessianMatchesOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	var s HessianScratch
	sizes := []struct{ p, k int }{{40, 136}, {6, 136}, {40, 12}, {26, 56}, {22, 102}, {17, 40}, {3, 2},
		{40, 74}, {6, 74}, {36, 40}, {16, 32}, {25, 33}, {9, 64}, {1, 40}, {40, 136}, {33, 100}, {48, 136}}
	for trial := 0; trial < 6; trial++ {
		for _, c := range sizes {
			jt := make([]float32, c.p*c.k)
			jwt := make([]float32, c.p*c.k)
			switch trial % 3 {
			case 0:
				normalData(r, jt)
				normalData(r, jwt)
			case 1:
				halfwayData(r, jt)
				halfwayData(r, jwt)
			default:
				extremeData(r, jt, trial == 5)
				extremeData(r, jwt, trial == 5)
			}
			for _, weighted := range []bool{false, true} {
				y := jt
				if weighted {
					y = jwt
				}
				h := make([]float32, c.p*c.p)
				normalData(r, h)
				want := append([]float32(nil), h...)
				oracleAddHessian(want, jt, y, c.p, c.k)
				got := append([]float32(nil), h...)
				s.AddHessian(got, jt, y, c.p, c.k)
				if i, ok := sameBits(got, want); !ok {
					t.Fatalf("trial %d %+v weighted %v entry %d: %v, want %v", trial, c, weighted, i, got[i], want[i])
				}
				got2 := append([]float32(nil), h...)
				AddHessian(got2, jt, y, c.p, c.k)
				if i, ok := sameBits(got2, want); !ok {
					t.Fatalf("trial %d %+v weighted %v entry %d (AddHessian): %v, want %v", trial, c, weighted, i, got2[i], want[i])
				}
			}
		}
	}
}

// spdMatrix returns a random symmetric positive definite n×n matrix
// Aᵀ·A + n·I, scaled by scale.
func spdMatrix(r *rand.Rand, n int, scale float64) []float32 {
	a := make([]float64, n*n)
	for i := range a {
		a[i] = r.NormFloat64()
	}
	m := make([]float32, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for k := 0; k < n; k++ {
				s += a[k*n+i] * a[k*n+j]
			}
			if i == j {
				s += float64(n)
			}
			m[i*n+j] = float32(s * scale)
		}
	}
	return m
}

// TestCholeskyMatchesOracle compares the factor, the solution and the
// inverse, and the matrix left behind by a failed factorisation, with the
// frozen one-sum-at-a-time factorisation on positive definite, indefinite,
// badly scaled and extreme matrices of the fits' sizes.
func TestCholeskyMatchesOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for trial := 0; trial < 40; trial++ {
		for _, n := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 24, 39, 40, 41, 46, 99} {
			var a []float32
			switch trial % 5 {
			case 0:
				a = spdMatrix(r, n, 1)
			case 1:
				a = spdMatrix(r, n, math.Pow(10, float64(r.IntN(60)-30)))
			case 2:
				// Indefinite: a factorisation that fails part way.
				a = spdMatrix(r, n, 1)
				d := r.IntN(n)
				a[d*n+d] = -a[d*n+d]
			case 3:
				a = make([]float32, n*n)
				extremeData(r, a, false)
			default:
				a = make([]float32, n*n)
				extremeData(r, a, true)
				for i := 0; i < n; i++ {
					a[i*n+i] = float32(math.Abs(float64(a[i*n+i]))) + float32(n)
				}
			}
			want := append([]float32(nil), a...)
			okWant := oracleCholeskyFactor(want, n)
			got := append([]float32(nil), a...)
			okGot := choleskyFactor(got, n)
			if okGot != okWant {
				t.Fatalf("trial %d n %d: ok %v, want %v", trial, n, okGot, okWant)
			}
			if i, ok := sameBits(got, want); !ok {
				t.Fatalf("trial %d n %d entry %d: %v, want %v", trial, n, i, got[i], want[i])
			}
			// The solve and the inverse run on the factor; with equal
			// factors they agree, and CholeskySolve must still take it.
			b := make([]float32, n)
			normalData(r, b)
			f := append([]float32(nil), a...)
			x := append([]float32(nil), b...)
			if CholeskySolve(f, n, x) != okWant {
				t.Fatalf("trial %d n %d: CholeskySolve disagrees on definiteness", trial, n)
			}
			if i, ok := sameBits(f, want); !ok {
				t.Fatalf("trial %d n %d: CholeskySolve's factor entry %d: %v, want %v", trial, n, i, f[i], want[i])
			}
		}
	}
}
