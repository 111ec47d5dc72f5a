package pdm

import (
	"math/rand"
	"testing"

	"gocv.io/x/gocv"

	"facemirror/internal/exactmath"
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

func matFrom64(rows, cols int, v []float64) gocv.Mat {
	m := gocv.NewMatWithSize(rows, cols, gocv.MatTypeCV64F)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			m.SetDoubleAt(r, c, v[r*cols+c])
		}
	}
	return m
}

func TestSVDMatchesOpenCV(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for trial := 0; trial < 300; trial++ {
		n := 2 + trial%2
		a32 := make([]float32, n*n)
		a64 := make([]float64, n*n)
		for i := range a32 {
			a32[i] = float32(rng.NormFloat64())
			a64[i] = rng.NormFloat64()
		}
		if trial%10 == 0 {
			// Near-rotations, as Orthonormalise and Rodrigues see them.
			for i := 0; i < n; i++ {
				a32[i*n+i] += 3
				a64[i*n+i] += 3
			}
		}
		u, w, vt := svdSmall(a32, n)
		src := matFrom32(n, n, a32)
		cw, cu, cvt := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
		gocv.SVDCompute(src, &cw, &cu, &cvt)
		for i := 0; i < n; i++ {
			if cw.GetFloatAt(i, 0) != w[i] {
				t.Fatalf("float32 trial %d: w[%d] = %v, OpenCV %v", trial, i, w[i], cw.GetFloatAt(i, 0))
			}
			for j := 0; j < n; j++ {
				if cu.GetFloatAt(i, j) != u[i*n+j] || cvt.GetFloatAt(i, j) != vt[i*n+j] {
					t.Fatalf("float32 trial %d: U/Vt differ at (%d,%d)", trial, i, j)
				}
			}
		}
		src.Close()
		u64, w64, vt64 := svdSmall(a64, n)
		src = matFrom64(n, n, a64)
		gocv.SVDCompute(src, &cw, &cu, &cvt)
		for i := 0; i < n; i++ {
			if cw.GetDoubleAt(i, 0) != w64[i] {
				t.Fatalf("float64 trial %d: w[%d] = %v, OpenCV %v", trial, i, w64[i], cw.GetDoubleAt(i, 0))
			}
			for j := 0; j < n; j++ {
				if cu.GetDoubleAt(i, j) != u64[i*n+j] || cvt.GetDoubleAt(i, j) != vt64[i*n+j] {
					t.Fatalf("float64 trial %d: U/Vt differ at (%d,%d)", trial, i, j)
				}
			}
		}
		src.Close()
		cw.Close()
		cu.Close()
		cvt.Close()
	}
}

// TestSolveCholesky checks the wrapper around exactmath.CholeskySolve
// (whose agreement with cv::solve is tested there): the inputs stay
// untouched, and a failed factorisation gives zeros and false, as
// cv::solve does.
func TestSolveCholesky(t *testing.T) {
	a := []float32{4, 0, 0, 0, 2, 5, 0, 0, 1, 1, 6, 0, 0.5, 1, 1, 7}
	b := []float32{1, 2, 3, 4}
	a0, b0 := append([]float32(nil), a...), append([]float32(nil), b...)
	got, ok := SolveCholesky(a, 4, b)
	want := append([]float32(nil), b...)
	if !ok || !exactmath.CholeskySolve(append([]float32(nil), a...), 4, want) {
		t.Fatal("factorisation failed")
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("x[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	for i := range a {
		if a[i] != a0[i] || (i < 4 && b[i] != b0[i]) {
			t.Fatal("SolveCholesky modified its arguments")
		}
	}
	x, ok := SolveCholesky([]float32{1, 2, 3, 4, 2, 1, 0, 0, 3, 0, -5, 0, 4, 0, 0, 1}, 4, []float32{1, 1, 1, 1})
	if ok || x[0] != 0 || x[3] != 0 {
		t.Errorf("indefinite matrix: %v, %v", x, ok)
	}
}

func TestGradientMatchesOpenCV(t *testing.T) {
	md := loadMainPDM(t)
	rng := rand.New(rand.NewSource(11))
	local := make([]float32, 34)
	for i := range local {
		local[i] = float32(rng.NormFloat64() * 5)
	}
	g := Global{Scale: 1.3, Rx: 0.1, Ry: -0.2, Rz: 0.05, Tx: 300, Ty: 200}
	w := make([]float32, 136)
	for i := range w {
		w[i] = float32(rng.Float64())
	}
	for _, weights := range [][]float32{nil, w} {
		jac, err := md.FullJacobian(g, local, weights)
		if err != nil {
			t.Fatal(err)
		}
		v := make([]float32, jac.Rows)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		got, err := jac.Gradient(v)
		if err != nil {
			t.Fatal(err)
		}
		a, b, d, none := matFrom32(jac.Cols, jac.Rows, jac.WT), matFrom32(jac.Rows, 1, v), gocv.NewMat(), gocv.NewMat()
		gocv.Gemm(a, b, 1, none, 0, &d, 0)
		none.Close()
		for i := range got {
			if got[i] != d.GetFloatAt(i, 0) {
				t.Fatalf("gradient[%d] = %v, OpenCV %v", i, got[i], d.GetFloatAt(i, 0))
			}
		}
		a.Close()
		b.Close()
		d.Close()
	}
}
