package pdm

import (
	"fmt"
	"math"
)

// Camera holds pinhole intrinsics in pixels.
type Camera struct{ Fx, Fy, Cx, Cy float32 }

// DefaultCamera returns the intrinsics FeatureExtraction assumes for a
// w×h video when none are given: fx = 500·w/640 and fy = 500·h/480 are
// averaged and used for both axes; the optical centre is the image centre.
func DefaultCamera(w, h int) Camera {
	fx := 500 * (float32(w) / 640)
	fy := 500 * (float32(h) / 480)
	f := (fx + fy) / 2
	return Camera{Fx: f, Fy: f, Cx: float32(w) / 2, Cy: float32(h) / 2}
}

// Pose is a head pose in camera coordinates: translation (millimetres,
// the PDM's unit) and Euler rotation (radians), FeatureExtraction's
// pose_Tx … pose_Rz.
type Pose struct {
	Tx, Ty, Tz float32
	Rx, Ry, Rz float32
}

// CameraShape returns the 3D landmarks in camera space as
// CLNF::GetShape computes them and FeatureExtraction writes them (X_i, Y_i,
// Z_i): the depth of each point is fx/scale plus its rotated model depth,
// and X, Y back-project the 2D landmarks at that depth. The result has 3n
// values: every X, then every Y, then every Z.
func (md *Model) CameraShape(landmarks []float32, g Global, local []float32, cam Camera) ([]float32, error) {
	n := md.n
	if len(landmarks) != 2*n {
		return nil, fmt.Errorf("pdm: %d landmark values, want %d", len(landmarks), 2*n)
	}
	s3, err := md.Shape3D(local, nil)
	if err != nil {
		return nil, err
	}
	r := RotationMatrix(g.Rotation())
	zAvg := cam.Fx / g.Scale
	out := make([]float32, 3*n)
	for i := 0; i < n; i++ {
		x, y, z := float64(s3[i]), float64(s3[n+i]), float64(s3[2*n+i])
		// (Sᵀ·Rᵀ) through cv::gemm: float64 sums, one rounding.
		rz := float32(x*float64(r[2][0]) + y*float64(r[2][1]) + z*float64(r[2][2]))
		depth := zAvg + rz
		out[i] = depth * ((landmarks[i] - cam.Cx) / cam.Fx)
		out[n+i] = depth * ((landmarks[n+i] - cam.Cy) / cam.Fy)
		out[2*n+i] = depth
	}
	return out, nil
}

// HeadPose estimates the head pose as OpenFace's GetPose does: the 3D
// model shape for local is posed by an iterative PnP (Levenberg–Marquardt
// on the reprojection error, cv::solvePnP with SOLVEPNP_ITERATIVE) against
// the 2D landmarks. The start point is the weak-perspective estimate
// (depth fx/scale) with, as in OpenFace, the Euler angles of g used as the
// initial rotation vector. A zero scale gives the zero pose.
func (md *Model) HeadPose(landmarks []float32, g Global, local []float32, cam Camera) (Pose, error) {
	n := md.n
	if len(landmarks) != 2*n {
		return Pose{}, fmt.Errorf("pdm: %d landmark values, want %d", len(landmarks), 2*n)
	}
	if g.Scale == 0 {
		return Pose{}, nil
	}
	s3, err := md.Shape3D(local, nil)
	if err != nil {
		return Pose{}, err
	}
	z := cam.Fx / g.Scale
	x := float32(float64(g.Tx-cam.Cx) * (1 / float64(cam.Fx)) * float64(z))
	y := float32(float64(g.Ty-cam.Cy) * (1 / float64(cam.Fy)) * float64(z))
	obj := make([][3]float64, n)
	img := make([][2]float64, n)
	for i := 0; i < n; i++ {
		obj[i] = [3]float64{float64(s3[i]), float64(s3[n+i]), float64(s3[2*n+i])}
		img[i] = [2]float64{float64(landmarks[i]), float64(landmarks[n+i])}
	}
	param := [6]float64{float64(g.Rx), float64(g.Ry), float64(g.Rz), float64(x), float64(y), float64(z)}
	param = refinePnP(obj, img, cam, param)
	rv := [3]float32{float32(param[0]), float32(param[1]), float32(param[2])}
	e := AxisAngleToEuler(rv)
	return Pose{
		Tx: float32(param[3]), Ty: float32(param[4]), Tz: float32(param[5]),
		Rx: e.X, Ry: e.Y, Rz: e.Z,
	}, nil
}

// refinePnP is the Levenberg–Marquardt refinement of
// cvFindExtrinsicCameraParams2 (CvLevMarq: at most 20 iterations, stop when
// the relative parameter change is below FLT_EPSILON, λ starting at 10⁻³
// and moving by factors of 10) for a distortion-free camera.
func refinePnP(obj [][3]float64, img [][2]float64, cam Camera, param [6]float64) [6]float64 {
	const maxIter = 20
	nerr := 2 * len(obj)
	jac := make([]float64, nerr*6)
	errv := make([]float64, nerr)
	var jtj [36]float64
	var jte [6]float64
	lambdaLg10 := -3
	prev := param

	step := func() {
		lambda := math.Exp(float64(lambdaLg10) * math.Ln10)
		var a [36]float64
		copy(a[:], jtj[:])
		for i := 0; i < 6; i++ {
			a[i*7] *= 1 + lambda
		}
		d := solveSPD6(a, jte)
		for i := range param {
			param[i] = prev[i] - d[i]
		}
	}

	// normalEquations fills JᵀJ and Jᵀe at the current parameters.
	normalEquations := func() {
		projectPoints(obj, img, cam, param, errv, jac)
		for i := range jtj {
			r, c := i/6, i%6
			var s float64
			for k := 0; k < nerr; k++ {
				s += jac[k*6+r] * jac[k*6+c]
			}
			jtj[i] = s
		}
		for r := 0; r < 6; r++ {
			var s float64
			for k := 0; k < nerr; k++ {
				s += jac[k*6+r] * errv[k]
			}
			jte[r] = s
		}
	}

	normalEquations()
	prev = param
	step()
	prevErr := norm(errv)
	for iters := 0; ; {
		projectPoints(obj, img, cam, param, errv, nil)
		e := norm(errv)
		if e > prevErr {
			lambdaLg10++
			if lambdaLg10 <= 16 {
				step()
				continue
			}
		}
		lambdaLg10 = max(lambdaLg10-1, -16)
		iters++
		var dn, pn float64
		for i := range param {
			d := param[i] - prev[i]
			dn += d * d
			pn += prev[i] * prev[i]
		}
		if iters >= maxIter || math.Sqrt(dn)/(math.Sqrt(pn)+epsFloat64) < epsFloat32 {
			return param
		}
		prevErr = e
		normalEquations()
		prev = param
		step()
	}
}

func norm(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

// projectPoints writes the reprojection errors (projection − image point,
// x and y interleaved per point) and, when jac is not nil, their
// derivatives with respect to the rotation vector and the translation
// (cvProjectPoints2 without distortion).
func projectPoints(obj [][3]float64, img [][2]float64, cam Camera, param [6]float64, errv, jac []float64) {
	rot, dRdr := rodriguesWithJacobian([3]float64{param[0], param[1], param[2]})
	fx, fy := float64(cam.Fx), float64(cam.Fy)
	cx, cy := float64(cam.Cx), float64(cam.Cy)
	for i, p := range obj {
		X, Y, Z := p[0], p[1], p[2]
		x := rot[0]*X + rot[1]*Y + rot[2]*Z + param[3]
		y := rot[3]*X + rot[4]*Y + rot[5]*Z + param[4]
		z := rot[6]*X + rot[7]*Y + rot[8]*Z + param[5]
		if z != 0 {
			z = 1 / z
		} else {
			z = 1
		}
		x *= z
		y *= z
		errv[2*i] = x*fx + cx - img[i][0]
		errv[2*i+1] = y*fy + cy - img[i][1]
		if jac == nil {
			continue
		}
		jx, jy := jac[2*i*6:2*i*6+6], jac[(2*i+1)*6:(2*i+1)*6+6]
		for j := 0; j < 3; j++ {
			d := dRdr[j*9:]
			dx0 := X*d[0] + Y*d[1] + Z*d[2]
			dy0 := X*d[3] + Y*d[4] + Z*d[5]
			dz0 := X*d[6] + Y*d[7] + Z*d[8]
			jx[j] = fx * z * (dx0 - x*dz0)
			jy[j] = fy * z * (dy0 - y*dz0)
		}
		jx[3], jx[4], jx[5] = fx*z, 0, fx*(-x*z)
		jy[3], jy[4], jy[5] = 0, fy*z, fy*(-y*z)
	}
}

// rodriguesWithJacobian returns the rotation matrix of a rotation vector
// (row-major) and its 3×9 derivative, as cvRodrigues2 computes them.
func rodriguesWithJacobian(v [3]float64) ([9]float64, [27]float64) {
	var jac [27]float64
	theta := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
	if theta < epsFloat64 {
		jac[5], jac[15], jac[19] = -1, -1, -1
		jac[7], jac[11], jac[21] = 1, 1, 1
		return [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}, jac
	}
	r3 := rodriguesVecToMat(v)
	var rot [9]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			rot[i*3+j] = r3[i][j]
		}
	}
	c, s := math.Cos(theta), math.Sin(theta)
	c1 := 1 - c
	it := 1 / theta
	x, y, z := v[0]*it, v[1]*it, v[2]*it
	rrt := [9]float64{x * x, x * y, x * z, x * y, y * y, y * z, x * z, y * z, z * z}
	rx := [9]float64{0, -z, y, z, 0, -x, -y, x, 0}
	id := [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}
	drrt := [27]float64{
		x + x, y, z, y, 0, 0, z, 0, 0,
		0, x, 0, x, y + y, z, 0, z, 0,
		0, 0, x, 0, 0, y, x, y, z + z,
	}
	drx := [27]float64{
		0, 0, 0, 0, 0, -1, 0, 1, 0,
		0, 0, 1, 0, 0, 0, -1, 0, 0,
		0, -1, 0, 1, 0, 0, 0, 0, 0,
	}
	ri := [3]float64{x, y, z}
	for i := 0; i < 3; i++ {
		a0 := -s * ri[i]
		a1 := (s - 2*c1*it) * ri[i]
		a2 := c1 * it
		a3 := (c - s*it) * ri[i]
		a4 := s * it
		for k := 0; k < 9; k++ {
			jac[i*9+k] = a0*id[k] + a1*rrt[k] + a2*drrt[i*9+k] + a3*rx[k] + a4*drx[i*9+k]
		}
	}
	return rot, jac
}

// solveSPD6 solves the 6×6 symmetric positive definite system a·x = b by
// Cholesky decomposition in float64.
func solveSPD6(a [36]float64, b [6]float64) [6]float64 {
	const n = 6
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			s := a[i*n+j]
			for k := 0; k < j; k++ {
				s -= a[i*n+k] * a[j*n+k]
			}
			if i == j {
				if s <= 0 {
					return [6]float64{}
				}
				a[i*n+i] = math.Sqrt(s)
			} else {
				a[i*n+j] = s / a[j*n+j]
			}
		}
	}
	var x [6]float64
	for i := 0; i < n; i++ {
		s := b[i]
		for k := 0; k < i; k++ {
			s -= a[i*n+k] * x[k]
		}
		x[i] = s / a[i*n+i]
	}
	for i := n - 1; i >= 0; i-- {
		s := x[i]
		for k := i + 1; k < n; k++ {
			s -= a[k*n+i] * x[k]
		}
		x[i] = s / a[i*n+i]
	}
	return x
}
