package pdm

import "math"

// Mat3 is a 3×3 float32 matrix, indexed [row][col].
type Mat3 [3][3]float32

// Mul returns a·b with float32 sums in natural order (cv::Matx product).
func (a Mat3) Mul(b Mat3) Mat3 {
	var c Mat3
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			c[i][j] = float32(a[i][0]*b[0][j]) + float32(a[i][1]*b[1][j]) + float32(a[i][2]*b[2][j])
		}
	}
	return c
}

// Euler holds rotation angles in radians about x (pitch), y (yaw) and z
// (roll), composed as R = Rx·Ry·Rz.
type Euler struct{ X, Y, Z float32 }

// sinf and cosf are libm's double sin and cos rounded to float32: what an
// unqualified sin(float) becomes in OpenFace's GCC build.
func sinf(x float32) float32 { return float32(math.Sin(float64(x))) }
func cosf(x float32) float32 { return float32(math.Cos(float64(x))) }

// RotationMatrix returns R = Rx·Ry·Rz for the Euler angles, as OpenFace's
// Euler2RotationMatrix computes it.
func RotationMatrix(e Euler) Mat3 {
	s1, s2, s3 := sinf(e.X), sinf(e.Y), sinf(e.Z)
	c1, c2, c3 := cosf(e.X), cosf(e.Y), cosf(e.Z)
	return Mat3{
		{c2 * c3, -c2 * s3, s2},
		{float32(c1*s3) + float32(float32(c3*s1)*s2), float32(c1*c3) - float32(float32(s1*s2)*s3), -c2 * s1},
		{float32(s1*s3) - float32(float32(c1*c3)*s2), float32(c3*s1) + float32(float32(c1*s2)*s3), c1 * c2},
	}
}

// EulerFromMatrix extracts Euler angles from a rotation matrix through its
// quaternion, as OpenFace's RotationMatrix2Euler does.
func EulerFromMatrix(r Mat3) Euler {
	q0 := float32(math.Sqrt(float64(1+r[0][0]+r[1][1]+r[2][2]))) / 2
	q1 := (r[2][1] - r[1][2]) / (4 * q0)
	q2 := (r[0][2] - r[2][0]) / (4 * q0)
	q3 := (r[1][0] - r[0][1]) / (4 * q0)
	t1 := 2 * (float32(q0*q2) + float32(q1*q3))
	if t1 > 1 {
		t1 = 1
	}
	if t1 < -1 {
		t1 = -1
	}
	yaw := float32(math.Asin(float64(t1)))
	pitch := float32(math.Atan2(float64(2*(float32(q0*q1)-float32(q2*q3))),
		float64(float32(float32(float32(q0*q0)-float32(q1*q1))-float32(q2*q2))+float32(q3*q3))))
	roll := float32(math.Atan2(float64(2*(float32(q0*q3)-float32(q1*q2))),
		float64(float32(float32(float32(q0*q0)+float32(q1*q1))-float32(q2*q2))-float32(q3*q3))))
	return Euler{pitch, yaw, roll}
}

// AxisAngleToMatrix converts a rotation vector to a matrix as cv::Rodrigues
// does for float input (float64 arithmetic, rounded at the end).
func AxisAngleToMatrix(v [3]float32) Mat3 {
	r := rodriguesVecToMat([3]float64{float64(v[0]), float64(v[1]), float64(v[2])})
	var out Mat3
	for i := range r {
		for j := range r[i] {
			out[i][j] = float32(r[i][j])
		}
	}
	return out
}

// MatrixToAxisAngle converts a rotation matrix to a rotation vector as
// cv::Rodrigues does for float input: the matrix is orthonormalised by SVD
// in float64 and the angle taken with acos.
func MatrixToAxisAngle(m Mat3) [3]float32 {
	var r [3][3]float64
	for i := range m {
		for j := range m[i] {
			r[i][j] = float64(m[i][j])
		}
	}
	v := rodriguesMatToVec(r)
	return [3]float32{float32(v[0]), float32(v[1]), float32(v[2])}
}

// AxisAngleToEuler is OpenFace's AxisAngle2Euler.
func AxisAngleToEuler(v [3]float32) Euler { return EulerFromMatrix(AxisAngleToMatrix(v)) }

// EulerToAxisAngle is OpenFace's Euler2AxisAngle.
func EulerToAxisAngle(e Euler) [3]float32 { return MatrixToAxisAngle(RotationMatrix(e)) }

func rodriguesVecToMat(v [3]float64) [3][3]float64 {
	theta := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
	if theta < epsFloat64 {
		return [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	}
	c, s := math.Cos(theta), math.Sin(theta)
	c1 := 1 - c
	itheta := 1 / theta
	x, y, z := v[0]*itheta, v[1]*itheta, v[2]*itheta
	rrt := [3][3]float64{{x * x, x * y, x * z}, {x * y, y * y, y * z}, {x * z, y * z, z * z}}
	rx := [3][3]float64{{0, -z, y}, {z, 0, -x}, {-y, x, 0}}
	var r [3][3]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			id := 0.0
			if i == j {
				id = 1
			}
			r[i][j] = float64(c*id) + float64(c1*rrt[i][j]) + float64(s*rx[i][j])
		}
	}
	return r
}

func rodriguesMatToVec(m [3][3]float64) [3]float64 {
	for i := range m {
		for j := range m[i] {
			// cv::checkRange(R, true, 0, -100, 100) rejects NaN and large values.
			if !(m[i][j] >= -100 && m[i][j] < 100) {
				return [3]float64{}
			}
		}
	}
	a := []float64{m[0][0], m[0][1], m[0][2], m[1][0], m[1][1], m[1][2], m[2][0], m[2][1], m[2][2]}
	u, _, vt := svdSmall(a, 3)
	var r [3][3]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			r[i][j] = float64(u[i*3]*vt[j]) + float64(u[i*3+1]*vt[3+j]) + float64(u[i*3+2]*vt[6+j])
		}
	}
	x, y, z := r[2][1]-r[1][2], r[0][2]-r[2][0], r[1][0]-r[0][1]
	s := math.Sqrt((x*x + y*y + z*z) * 0.25)
	c := (r[0][0] + r[1][1] + r[2][2] - 1) * 0.5
	if c > 1 {
		c = 1
	} else if c < -1 {
		c = -1
	}
	theta := math.Acos(c)
	if s < 1e-5 {
		if c > 0 {
			return [3]float64{}
		}
		t := (r[0][0] + 1) * 0.5
		x = math.Sqrt(math.Max(t, 0))
		t = (r[1][1] + 1) * 0.5
		y = math.Sqrt(math.Max(t, 0))
		if r[0][1] < 0 {
			y = -y
		}
		t = (r[2][2] + 1) * 0.5
		z = math.Sqrt(math.Max(t, 0))
		if r[0][2] < 0 {
			z = -z
		}
		if math.Abs(x) < math.Abs(y) && math.Abs(x) < math.Abs(z) && (r[1][2] > 0) != (y*z > 0) {
			z = -z
		}
		theta /= math.Sqrt(x*x + y*y + z*z)
		return [3]float64{x * theta, y * theta, z * theta}
	}
	vth := 1 / (2 * s)
	vth *= theta
	return [3]float64{x * vth, y * vth, z * vth}
}

// orthonormalise is OpenFace's PDM::Orthonormalise: the nearest rotation
// U·diag(1,1,det(U·Vᵀ))·Vᵀ, with OpenCV's float32 SVD and small products.
func orthonormalise(m Mat3) Mat3 {
	a := []float32{m[0][0], m[0][1], m[0][2], m[1][0], m[1][1], m[1][2], m[2][0], m[2][1], m[2][2]}
	u, _, vt := svdSmall(a, 3)
	x := mul3Small(u, vt)
	d := float32(det3(x))
	w := []float32{1, 0, 0, 0, 1, 0, 0, 0, d}
	r := mul3Small(mul3Small(u, w), vt)
	return Mat3{{r[0], r[1], r[2]}, {r[3], r[4], r[5]}, {r[6], r[7], r[8]}}
}

// mul3Small is cv::gemm on two 3×3 float32 matrices (the unrolled small
// path: float32 sums in natural order).
func mul3Small(a, b []float32) []float32 {
	c := make([]float32, 9)
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			c[i*3+j] = float32(a[i*3]*b[j]) + float32(a[i*3+1]*b[3+j]) + float32(a[i*3+2]*b[6+j])
		}
	}
	return c
}

// det3 is cv::determinant of a 3×3 float32 matrix (cofactors in float64).
func det3(m []float32) float64 {
	f := func(i int) float64 { return float64(m[i]) }
	p := func(i, j int) float64 { return float64(f(i) * f(j)) }
	return float64(f(0)*(p(4, 8)-p(5, 7))) - float64(f(1)*(p(3, 8)-p(5, 6))) + float64(f(2)*(p(3, 7)-p(4, 6)))
}
