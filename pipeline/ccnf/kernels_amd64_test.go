//go:build amd64

package ccnf

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSigmoidKernel holds sigmoidAcc (through addSigmoidsFast) to the
// scalar sigmoids with math.Exp, bit for bit: on a sweep over the float32
// pre-activations between −1000 and 1000 (the kernel's range and either
// side of it) and on random values of every magnitude with NaNs,
// infinities and subnormals among them, in groups of every alignment.
func TestSigmoidKernel(t *testing.T) {
	if !simd {
		t.Skip("no AVX2/FMA")
	}
	r := rand.New(rand.NewPCG(8, 9))
	var z []float32
	for b := uint32(0); b < math.Float32bits(1000); b += 2011 {
		z = append(z, math.Float32frombits(b), math.Float32frombits(b|1<<31))
	}
	specials := []float32{0, float32(math.Copysign(0, -1)), 700, -700, 700.0001, -700.0001, 709.78, -709.78, 745.2, -745.2, 88.72, -88.72, 103.97, -103.97, 1e-45, -1e-45, math.MaxFloat32, -math.MaxFloat32, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	for i := 0; i < 200000; i++ {
		switch r.IntN(4) {
		case 0:
			z = append(z, specials[r.IntN(len(specials))])
		case 1:
			z = append(z, math.Float32frombits(r.Uint32()))
		default:
			z = append(z, float32(r.NormFloat64()*20))
		}
	}
	for _, a2 := range []float64{2, 0.37 * 2, 1e-3, 3.999} {
		for off := 0; off < 4; off++ {
			zs := z[off:]
			want := make([]float32, len(zs))
			got := make([]float32, len(zs))
			for i := range want {
				want[i] = float32(r.NormFloat64())
				got[i] = want[i]
			}
			addSigmoidsGo(want, zs, a2)
			addSigmoidsFast(got, zs, a2)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("a2 %v, z %v (%#x): %v, scalar %v", a2, zs[i], math.Float32bits(zs[i]), got[i], want[i])
				}
			}
		}
	}
	t.Logf("%d pre-activations", len(z))
}
