package pdm

import (
	"fmt"
	"math"

	"facemirror/internal/exactmath"
)

// Jacobian is the derivative of the 2D shape with respect to the
// parameters, as PDM::ComputeJacobian and PDM::ComputeRigidJacobian build
// it.
type Jacobian struct {
	// Rows is 2n: x of every point, then y. Cols is 6 (rigid) or 6+m.
	Rows, Cols int
	// J is Rows×Cols, row-major. Columns: scale, rx, ry, rz, tx, ty, then
	// one per mode.
	J []float32
	// WT is (W·J)ᵀ, Cols×Rows, row-major: the transposed Jacobian weighted
	// by the diagonal weights (Jᵀ when no weighting applies).
	WT []float32

	// s3 is JacobianInto's 3D shape, kept for the next call.
	s3 []float32
}

// RigidJacobian returns the Jacobian with respect to the six rigid
// parameters. weights holds the 2n diagonal entries of W (x then y); nil
// means W = I. As in OpenFace, WT is always the weighted transpose.
func (md *Model) RigidJacobian(g Global, local []float32, weights []float32) (Jacobian, error) {
	var jac Jacobian
	err := md.JacobianInto(&jac, g, local, weights, false)
	return jac, err
}

// FullJacobian returns the Jacobian with respect to the rigid and the
// non-rigid parameters. weights holds the 2n diagonal entries of W (x then
// y); nil means W = I. As in OpenFace, the weights are applied only when
// their sum differs from 2n.
func (md *Model) FullJacobian(g Global, local []float32, weights []float32) (Jacobian, error) {
	var jac Jacobian
	err := md.JacobianInto(&jac, g, local, weights, true)
	return jac, err
}

// JacobianInto is FullJacobian (full) or RigidJacobian into jac, reusing
// its memory: a fit computes one per NU-RLMS iteration.
func (md *Model) JacobianInto(jac *Jacobian, g Global, local []float32, weights []float32, full bool) error {
	if weights != nil && len(weights) != 2*md.n {
		return fmt.Errorf("pdm: %d weights, want %d", len(weights), 2*md.n)
	}
	s3, err := md.Shape3D(local, jac.s3)
	if err != nil {
		return err
	}
	jac.s3 = s3
	return md.JacobianAt(jac, s3, g, weights, full)
}

// JacobianAt is JacobianInto for a 3D shape s3 (3n values) that the caller
// has already computed as Shape3D of the local parameters, which NU-RLMS
// has from the landmarks of the same iteration (Shape2DAnd3D).
func (md *Model) JacobianAt(jac *Jacobian, s3 []float32, g Global, weights []float32, full bool) error {
	if weights != nil && len(weights) != 2*md.n {
		return fmt.Errorf("pdm: %d weights, want %d", len(weights), 2*md.n)
	}
	if len(s3) != 3*md.n {
		return fmt.Errorf("pdm: 3D shape of %d values, want %d", len(s3), 3*md.n)
	}
	cols := 6
	if full {
		cols += md.m
	}
	jac.Rows, jac.Cols = 2*md.n, cols
	jac.J = grow(jac.J, 2*md.n*cols)
	fillJacobian(jac.J, s3, md.n, md.m, md.PrincComp, g, full)
	applyWeight := weights != nil
	if full && weights != nil {
		// ComputeJacobian skips the weighting when trace(W) equals the row
		// count, which is how it recognises the identity.
		var tr float64
		for _, w := range weights {
			tr += float64(w)
		}
		applyWeight = tr != float64(2*md.n)
	}
	jac.WT = grow(jac.WT, len(jac.J))
	rows := jac.Rows
	wt := jac.WT[:cols*rows]
	for r := 0; r < rows; r++ {
		jr := jac.J[r*cols : r*cols+cols]
		if applyWeight {
			w := weights[r]
			for c, v := range jr {
				wt[c*rows+r] = v * w
			}
		} else {
			for c, v := range jr {
				wt[c*rows+r] = v
			}
		}
	}
	return nil
}

// fillJacobian writes the 2n×cols Jacobian at the 3D shape s3 (n points);
// pc is the principal component matrix (3n×m) matching s3.
func fillJacobian(j, s3 []float32, n, m int, pc []float32, g Global, full bool) {
	r := RotationMatrix(g.Rotation())
	r11, r12, r13 := r[0][0], r[0][1], r[0][2]
	r21, r22, r23 := r[1][0], r[1][1], r[1][2]
	s := g.Scale
	cols := 6
	if full {
		cols += m
	}
	for i := 0; i < n; i++ {
		x, y, z := s3[i], s3[i+n], s3[i+2*n]
		jx := j[i*cols : i*cols+cols]
		jy := j[(i+n)*cols : (i+n)*cols+cols]
		jx[0] = float32(float32(x*r11)+float32(y*r12)) + float32(z*r13)
		jy[0] = float32(float32(x*r21)+float32(y*r22)) + float32(z*r23)
		jx[1] = s * (float32(y*r13) - float32(z*r12))
		jy[1] = s * (float32(y*r23) - float32(z*r22))
		jx[2] = -s * (float32(x*r13) - float32(z*r11))
		jy[2] = -s * (float32(x*r23) - float32(z*r21))
		jx[3] = s * (float32(x*r12) - float32(y*r11))
		jy[3] = s * (float32(x*r22) - float32(y*r21))
		jx[4], jy[4] = 1, 0
		jx[5], jy[5] = 0, 1
		if !full {
			continue
		}
		vx, vy, vz := pc[i*m:i*m+m], pc[(i+n)*m:(i+n)*m+m], pc[(i+2*n)*m:(i+2*n)*m+m]
		for k := 0; k < m; k++ {
			jx[6+k] = s * (float32(float32(r11*vx[k])+float32(r12*vy[k])) + float32(r13*vz[k]))
			jy[6+k] = s * (float32(float32(r21*vx[k])+float32(r22*vy[k])) + float32(r23*vz[k]))
		}
	}
}

// UpdateParams applies a parameter update (6 rigid values, optionally
// followed by m local ones) as PDM::UpdateModelParameters does: scale and
// translation are added; the rotation is composed with the small rotation
// (Δrx, Δry, Δrz), orthonormalised by SVD, and converted back to Euler
// angles through the axis-angle form; local parameters are added.
func (md *Model) UpdateParams(delta []float32, g *Global, local []float32) error {
	if len(delta) != 6 && len(delta) != 6+md.m {
		return fmt.Errorf("pdm: update of %d values, want 6 or %d", len(delta), 6+md.m)
	}
	if len(delta) > 6 {
		if err := md.checkLocal(local); err != nil {
			return err
		}
	}
	updateParams(delta, g, local)
	return nil
}

func updateParams(delta []float32, g *Global, local []float32) {
	g.Scale += delta[0]
	g.Tx += delta[4]
	g.Ty += delta[5]
	r1 := RotationMatrix(g.Rotation())
	r2 := Mat3{
		{1, -delta[3], delta[2]},
		{delta[3], 1, -delta[1]},
		{-delta[2], delta[1], 1},
	}
	r3 := r1.Mul(orthonormalise(r2))
	e := AxisAngleToEuler(MatrixToAxisAngle(r3))
	if isNaN32(e.X) || isNaN32(e.Y) || isNaN32(e.Z) {
		e = Euler{}
	}
	g.Rx, g.Ry, g.Rz = e.X, e.Y, e.Z
	if len(delta) > 6 {
		for i := range local {
			local[i] += delta[6+i]
		}
	}
}

func isNaN32(v float32) bool { return v != v }

// Clamp limits every local parameter to ±3 standard deviations of its mode
// (PDM::Clamp; the pose is not limited). As in OpenFace, the bound
// 3·sqrt(λ) is computed in double (the float factor promoted, sqrt of the
// widened eigenvalue) and rounded once to float.
func (md *Model) Clamp(local []float32) error {
	if err := md.checkLocal(local); err != nil {
		return err
	}
	for i, ev := range md.EigenValues {
		v := float32(3 * math.Sqrt(float64(ev)))
		if p := local[i]; math.Abs(float64(p)) > float64(v) {
			if p > 0 {
				local[i] = v
			} else {
				local[i] = -v
			}
		}
	}
	return nil
}

// Gradient returns WT·v, the weighted Jacobian transpose times a residual
// (landmark errors or mean shifts, 2n values), with OpenCV's gemm
// summation, which OpenFace's fits use for this product (fewer than 100
// parameters).
func (j Jacobian) Gradient(v []float32) ([]float32, error) {
	if len(v) != j.Rows || len(j.WT) != j.Rows*j.Cols || j.Cols >= 100 {
		return nil, fmt.Errorf("pdm: gradient of a %d×%d Jacobian with %d values", j.Rows, j.Cols, len(v))
	}
	out := make([]float32, j.Cols)
	exactmath.MatVecCV(out, j.WT, j.Rows, v, 1, nil)
	return out, nil
}
