package pdm

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestReusedBuffersMatch checks that the buffer-reusing entry points of
// NU-RLMS (Shape2DAnd3D, JacobianAt, JacobianInto on a used Jacobian) give
// the bits of the allocating ones, rigid and full, weighted and not, with
// the buffers reused across calls of both widths.
func TestReusedBuffersMatch(t *testing.T) {
	md := loadMainPDM(t)
	n, m := md.NumPoints(), md.NumModes()
	r := rand.New(rand.NewPCG(31, 32))
	var jac Jacobian
	var shape, s3 []float32
	bits := func(v []float32) []uint32 {
		out := make([]uint32, len(v))
		for i, x := range v {
			out[i] = math.Float32bits(x)
		}
		return out
	}
	for trial := 0; trial < 40; trial++ {
		local := make([]float32, m)
		for i := range local {
			local[i] = float32(r.NormFloat64() * math.Sqrt(float64(md.EigenValues[i])))
		}
		g := Global{Scale: float32(0.5 + r.Float64()*3), Rx: float32(r.NormFloat64() * 0.3),
			Ry: float32(r.NormFloat64() * 0.5), Rz: float32(r.NormFloat64() * 0.2),
			Tx: float32(r.Float64() * 500), Ty: float32(r.Float64() * 400)}
		var weights []float32
		if trial%3 != 0 {
			weights = make([]float32, 2*n)
			for i := range weights {
				weights[i] = float32(r.Float64() * 3)
			}
		}
		full := trial%2 == 0

		want2, err := md.Shape2D(g, local, nil)
		if err != nil {
			t.Fatal(err)
		}
		want3, _ := md.Shape3D(local, nil)
		if shape, s3, err = md.Shape2DAnd3D(g, local, shape, s3); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(bits(shape), bits(want2)) || !slices.Equal(bits(s3), bits(want3)) {
			t.Fatalf("trial %d: Shape2DAnd3D differs from Shape2D/Shape3D", trial)
		}

		var fresh Jacobian
		if err := md.JacobianInto(&fresh, g, local, weights, full); err != nil {
			t.Fatal(err)
		}
		if err := md.JacobianAt(&jac, s3, g, weights, full); err != nil {
			t.Fatal(err)
		}
		if jac.Rows != fresh.Rows || jac.Cols != fresh.Cols ||
			!slices.Equal(bits(jac.J), bits(fresh.J)) || !slices.Equal(bits(jac.WT), bits(fresh.WT)) {
			t.Fatalf("trial %d (full %v, weighted %v): JacobianAt differs from a fresh JacobianInto", trial, full, weights != nil)
		}
		if err := md.JacobianInto(&jac, g, local, weights, full); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(bits(jac.J), bits(fresh.J)) || !slices.Equal(bits(jac.WT), bits(fresh.WT)) {
			t.Fatalf("trial %d: JacobianInto on a used Jacobian differs", trial)
		}
	}
}
