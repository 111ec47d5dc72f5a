package pdm

import (
	"fmt"

	"facemirror/internal/exactmath"
)

// Global holds the rigid parameters of a shape: scale, Euler rotation
// (radians, R = Rx·Ry·Rz) and image translation, in OpenFace's order
// (p_scale, p_rx, p_ry, p_rz, p_tx, p_ty).
type Global struct {
	Scale      float32
	Rx, Ry, Rz float32
	Tx, Ty     float32
}

// Rotation returns the Euler angles of g.
func (g Global) Rotation() Euler { return Euler{g.Rx, g.Ry, g.Rz} }

// Params is a full parameter set: rigid Global and non-rigid Local (one
// value per mode).
type Params struct {
	Global Global
	Local  []float32
}

func (md *Model) checkLocal(local []float32) error {
	if len(local) != md.m {
		return fmt.Errorf("pdm: %d local parameters, the model has %d modes", len(local), md.m)
	}
	return nil
}

// Shape3D returns mean + PrincComp·local (3n values: x block, y block,
// z block), as PDM::CalcShape3D computes it with OpenBLAS. dst is reused
// when it has room.
func (md *Model) Shape3D(local []float32, dst []float32) ([]float32, error) {
	if err := md.checkLocal(local); err != nil {
		return nil, err
	}
	dst = grow(dst, 3*md.n)
	exactmath.MatVecBLAS(dst, md.PrincComp, md.m, local, md.Mean)
	return dst, nil
}

// Shape2D returns the image landmarks (2n values: x of every point, then y)
// for the parameters: x = s·(r00·X + r01·Y + r02·Z) + tx, likewise y with
// the second row of R, as PDM::CalcShape2D computes it.
func (md *Model) Shape2D(g Global, local []float32, dst []float32) ([]float32, error) {
	s3, err := md.Shape3D(local, nil)
	if err != nil {
		return nil, err
	}
	dst = grow(dst, 2*md.n)
	project(dst, s3, md.n, g)
	return dst, nil
}

// Shape2DAnd3D is Shape2D that also returns the 3D shape it projected
// (Shape3D of local), reusing dst and s3 when they have room: NU-RLMS
// needs both at every iteration, the landmarks and the Jacobian's shape.
func (md *Model) Shape2DAnd3D(g Global, local []float32, dst, s3 []float32) (shape, shape3D []float32, err error) {
	s3, err = md.Shape3D(local, s3)
	if err != nil {
		return nil, nil, err
	}
	dst = grow(dst, 2*md.n)
	project(dst, s3, md.n, g)
	return dst, s3, nil
}

// project writes the weak-perspective projection of the 3D shape s3 (n
// points) into dst (2n values).
func project(dst, s3 []float32, n int, g Global) {
	r := RotationMatrix(g.Rotation())
	for i := 0; i < n; i++ {
		x, y, z := s3[i], s3[i+n], s3[i+2*n]
		dst[i] = float32(g.Scale*(float32(float32(r[0][0]*x)+float32(r[0][1]*y))+float32(r[0][2]*z))) + g.Tx
		dst[i+n] = float32(g.Scale*(float32(float32(r[1][0]*x)+float32(r[1][1]*y))+float32(r[1][2]*z))) + g.Ty
	}
}

func grow(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float32, n)
}

// boundingBox returns the extent of the 2D landmarks (x block, y block) as
// OpenFace's ExtractBoundingBox does.
func boundingBox(pts []float32) (minX, maxX, minY, maxY float32) {
	n := len(pts) / 2
	for i := 0; i < n; i++ {
		v := pts[i]
		if i == 0 || v < minX {
			minX = v
		}
		if i == 0 || v > maxX {
			maxX = v
		}
	}
	for i := 0; i < n; i++ {
		v := pts[n+i]
		if i == 0 || v < minY {
			minY = v
		}
		if i == 0 || v > maxY {
			maxY = v
		}
	}
	return minX, maxX, minY, maxY
}
