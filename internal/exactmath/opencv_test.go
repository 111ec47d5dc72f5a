package exactmath

import (
	"math/rand/v2"
	"testing"

	"gocv.io/x/gocv"
)

// The ports of OpenCV's float algorithms are checked against the OpenCV
// library that gocv links (Debian's 4.6, the version OpenFace's reference
// build used): the results must agree bit for bit.

func matFrom32(rows, cols int, v []float32) gocv.Mat {
	m := gocv.NewMatWithSize(rows, cols, gocv.MatTypeCV32F)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			m.SetFloatAt(r, c, v[r*cols+c])
		}
	}
	return m
}

// spd returns a random symmetric positive definite n×n matrix: a Gram
// matrix plus a diagonal.
func spd(r *rand.Rand, n int) []float32 {
	j := make([]float32, 2*n*n)
	normalData(r, j)
	a := make([]float32, n*n)
	for row := 0; row < n; row++ {
		for c := 0; c < n; c++ {
			var s float32
			for k := 0; k < 2*n; k++ {
				s += j[k*n+row] * j[k*n+c]
			}
			a[row*n+c] = s
		}
		a[row*n+row] += 0.5
	}
	return a
}

func TestCholeskySolveMatchesOpenCV(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 0))
	for _, n := range []int{6, 16, 38, 40} {
		a := spd(r, n)
		b := make([]float32, n)
		for i := range b {
			b[i] = float32(r.NormFloat64() * 10)
		}
		ma, mb, mx := matFrom32(n, n, a), matFrom32(n, 1, b), gocv.NewMat()
		if !gocv.Solve(ma, mb, &mx, gocv.SolveDecompositionCholesky) {
			t.Fatalf("n=%d: OpenCV failed", n)
		}
		if !CholeskySolve(a, n, b) {
			t.Fatalf("n=%d: factorisation failed", n)
		}
		for i := 0; i < n; i++ {
			if b[i] != mx.GetFloatAt(i, 0) {
				t.Fatalf("n=%d: x[%d] = %v, OpenCV %v", n, i, b[i], mx.GetFloatAt(i, 0))
			}
		}
		ma.Close()
		mb.Close()
		mx.Close()
	}
	// Not positive definite.
	if CholeskySolve([]float32{1, 2, 3, 4, 2, 1, 0, 0, 3, 0, -5, 0, 4, 0, 0, 1}, 4, []float32{1, 1, 1, 1}) {
		t.Errorf("indefinite matrix solved")
	}
}

func TestCholeskyInvertMatchesOpenCV(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 0))
	for _, n := range []int{9, 25, 49, 81} {
		a := spd(r, n)
		ma, mi := matFrom32(n, n, a), gocv.NewMat()
		gocv.Invert(ma, &mi, gocv.SolveDecompositionCholesky)
		got := CholeskyInvert(a, n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				if got[i*n+j] != mi.GetFloatAt(i, j) {
					t.Fatalf("n=%d: inverse (%d,%d) = %v, OpenCV %v", n, i, j, got[i*n+j], mi.GetFloatAt(i, j))
				}
			}
		}
		ma.Close()
		mi.Close()
	}
	inv := CholeskyInvert([]float32{1, 2, 2, 1}, 2)
	for _, v := range inv {
		if v != 0 {
			t.Fatalf("indefinite matrix: inverse %v, want zeros", inv)
		}
	}
}

// TestMatVecCVMatchesOpenCV compares the small-product order with cv::gemm
// (alpha·A·x + c) for products OpenCV computes itself (fewer than 100
// rows).
func TestMatVecCVMatchesOpenCV(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 0))
	for _, c := range []struct {
		rows, cols int
		alpha      float64
		beta       bool
	}{{40, 136, 1, false}, {50, 1000, 1, true}, {30, 50, 1, true}, {3, 7, -0.75, true}, {99, 34, 2.5, false}} {
		a := make([]float32, c.rows*c.cols)
		x := make([]float32, c.cols)
		cv := make([]float32, c.rows)
		normalData(r, a)
		normalData(r, x)
		normalData(r, cv)
		ma, mx, mc, dst := matFrom32(c.rows, c.cols, a), matFrom32(c.cols, 1, x), matFrom32(c.rows, 1, cv), gocv.NewMat()
		var cArg []float32
		beta := 0.0
		if c.beta {
			cArg, beta = cv, 1
		}
		gocv.Gemm(ma, mx, c.alpha, mc, beta, &dst, 0)
		got := make([]float32, c.rows)
		MatVecCV(got, a, c.cols, x, c.alpha, cArg)
		for i := range got {
			if got[i] != dst.GetFloatAt(i, 0) {
				t.Fatalf("%+v output %d: %v, cv::gemm %v", c, i, got[i], dst.GetFloatAt(i, 0))
			}
		}
		ma.Close()
		mx.Close()
		mc.Close()
		dst.Close()
	}
}
