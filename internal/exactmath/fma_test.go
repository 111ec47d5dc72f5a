package exactmath

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// exactFMA32 rounds a·b + c once to float32 with big-float arithmetic.
func exactFMA32(a, b, c float32) float32 {
	x := new(big.Float).SetPrec(200).SetFloat64(float64(a))
	x.Mul(x, new(big.Float).SetFloat64(float64(b)))
	x.Add(x, new(big.Float).SetFloat64(float64(c)))
	f, _ := x.Float32()
	return f
}

// TestFMA32 compares the emulated float32 FMA with exact arithmetic on
// random operands, on sums that cancel most of the product (many float32
// halfway points), and on constructed cases where rounding the float64 sum
// to float32 would round twice.
func TestFMA32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	check := func(a, b, c float32) {
		t.Helper()
		got, want := FMA32(a, b, c), exactFMA32(a, b, c)
		if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
			t.Fatalf("FMA32(%g, %g, %g) = %g, want %g", a, b, c, got, want)
		}
	}
	for i := 0; i < 200000; i++ {
		a, b := float32(r.NormFloat64()), float32(r.NormFloat64())
		switch i % 3 {
		case 0:
			check(a, b, float32(r.NormFloat64()*math.Exp2(float64(r.IntN(40)-20))))
		case 1:
			check(a, b, -float32(float64(a)*float64(b)))
		default:
			// Short mantissas make exact halfway sums frequent.
			check(float32(r.IntN(64)-32)/16, b, float32(r.IntN(4096)-2048)/1024)
		}
	}
	// a·a = 1 + 2⁻¹¹ + 2⁻²⁴ is a float32 halfway point; a tiny c keeps
	// the float64 sum on it while the exact sum lies to one side.
	a := float32(1 + 0x1p-12)
	check(a, a, 0x1p-60)
	check(a, a, -0x1p-60)
	check(-a, a, 0x1p-60)
	if got, want := FMA32(a, a, 0x1p-60), float32(1+0x1p-11+0x1p-23); got != want {
		t.Errorf("double-rounding case: %v, want %v", got, want)
	}
	// a·a = 1 + 2⁻²³ + 2⁻⁴⁸ lies just above a halfway point.
	a = float32(1 + 0x1p-24)
	check(a, a, 0)
	check(a, a, 0x1p-80)
	check(a, a, -0x1p-80)
	// Subnormal results, zeros, infinities and NaN.
	check(1e-30, 1e-10, 1e-39)
	check(1e-20, -1e-20, 1e-45)
	check(0, 5, -0)
	check(float32(math.Inf(1)), 2, 1)
	if got := FMA32(float32(math.NaN()), 1, 1); got == got {
		t.Errorf("FMA32(NaN, 1, 1) = %v", got)
	}
	check(3e38, 3e38, -1)
}
