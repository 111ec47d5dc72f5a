package exactmath

import (
	"math/rand/v2"
	"testing"
)

// The kernels at the shapes OpenFace's pipeline runs them: the CCNF neuron
// chains (7 neurons, 81 positions, K = 122), the Sigma·r product (n = 81),
// CalcShape3D (204×34) and the NU-RLMS Hessian (40 parameters, 68
// landmarks), each through the dispatching function and the portable one.

func BenchmarkGemmChains(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const rows, cols, k, ldx = 7, 80, 122, 88
	w, x, dst := make([]float32, rows*k), make([]float32, k*ldx), make([]float32, rows*cols)
	normalData(r, w)
	normalData(r, x)
	b.Run("dispatch", func(b *testing.B) {
		for b.Loop() {
			GemmChains(dst, cols, w, k, x, ldx, rows, cols, 0, k, false)
		}
	})
	b.Run("portable", func(b *testing.B) {
		for b.Loop() {
			gemmChainsGo(dst, cols, w, k, x, ldx, rows, cols, 0, k, false)
		}
	})
}

func BenchmarkMatVecBLAS(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, c := range []struct {
		name string
		n, k int
	}{{"sigma81", 81, 81}, {"sigma121", 121, 121}, {"shape204x34", 204, 34}} {
		a, x, out := make([]float32, c.n*c.k), make([]float32, c.k), make([]float32, c.n)
		normalData(r, a)
		normalData(r, x)
		b.Run(c.name+"/dispatch", func(b *testing.B) {
			for b.Loop() {
				MatVecBLAS(out, a, c.k, x, nil)
			}
		})
		b.Run(c.name+"/portable", func(b *testing.B) {
			for b.Loop() {
				laneRowGo(out, 1, a, c.k, x, 0, 1, c.n)
			}
		})
	}
}

func BenchmarkAddHessian(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 3))
	const p, k = 40, 136
	jt, jwt, h, g := make([]float32, p*k), make([]float32, p*k), make([]float32, p*p), make([]float32, p*p)
	normalData(r, jt)
	normalData(r, jwt)
	for _, c := range []struct {
		name string
		y    []float32
	}{{"unweighted", jt}, {"weighted", jwt}} {
		b.Run(c.name+"/dispatch", func(b *testing.B) {
			for b.Loop() {
				AddHessian(h, jt, c.y, p, k)
			}
		})
		b.Run(c.name+"/portable", func(b *testing.B) {
			for b.Loop() {
				hessianGo(g, jt, c.y, p, k)
			}
		})
	}
}
