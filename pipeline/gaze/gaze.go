package gaze

import (
	"errors"
	"fmt"
	"math"
)

// ErrInput reports point sets of the wrong size.
var ErrInput = errors.New("gaze: invalid input")

// Vec3 is a point or a direction in camera space (x, y, z).
type Vec3 [3]float32

// Eye selects one of the two eyes.
type Eye int

const (
	// Left is the face's left eye (the right one in the picture):
	// OpenFace's left_eye_28 model, gaze_0, corners at landmarks 36 and
	// 39.
	Left Eye = iota
	// Right is the face's right eye: right_eye_28, gaze_1, corners at
	// landmarks 42 and 45.
	Right
)

// String names the eye.
func (e Eye) String() string {
	switch e {
	case Left:
		return "left"
	case Right:
		return "right"
	}
	return fmt.Sprintf("Eye(%d)", int(e))
}

// Model constants of OpenFace's gaze estimate.
const (
	// FaceLandmarks is the size of the face point set: OpenFace's 68
	// landmarks.
	FaceLandmarks = 68
	// IrisLandmarks is how many of an eye model's first landmarks outline
	// the iris; their mean is the pupil.
	IrisLandmarks = 8
	// EyeballRadius is the radius of the eye sphere in millimetres.
	EyeballRadius = 12
)

// eyeballOffset is the eye sphere's centre relative to the midpoint of the
// eye corners, in head coordinates (mm): up and behind.
var eyeballOffset = [3]float32{0, -3.5, 7}

// corners returns the face landmarks at the corners of eye e.
func (e Eye) corners() (int, int, bool) {
	switch e {
	case Left:
		return 36, 39, true
	case Right:
		return 42, 45, true
	}
	return 0, 0, false
}

// Pupil returns the pupil of an eye whose camera-space landmarks are
// eye3D (every X, then every Y, then every Z): the mean of the first
// IrisLandmarks points, as GetPupilPosition computes it (cv::mean: a
// float64 sum, then rounded to float32).
func Pupil(eye3D []float32) (Vec3, error) {
	n := len(eye3D) / 3
	if len(eye3D)%3 != 0 || n < IrisLandmarks {
		return Vec3{}, fmt.Errorf("%w: %d eye landmark values, want 3 per point and at least %d points", ErrInput, len(eye3D), IrisLandmarks)
	}
	var p Vec3
	for c := 0; c < 3; c++ {
		var s float64
		for _, v := range eye3D[c*n : c*n+IrisLandmarks] {
			s += float64(v)
		}
		p[c] = float32(s * (1.0 / IrisLandmarks))
	}
	return p, nil
}

// EyeballCentre returns the centre of eye e's sphere: the midpoint of its
// corners in face3D (68 camera-space landmarks) plus the offset rotated
// by the head rotation rot (row-major, as pdm.RotationMatrix gives it).
// The arithmetic is OpenCV's for EstimateGaze's matrix expression: the
// midpoint through addWeighted (one rounding of (a+b)/2), the rotated
// offset through gemm with float64 sums (the transposed product takes its
// general path), then a float32 sum.
func EyeballCentre(face3D []float32, e Eye, rot [3][3]float32) (Vec3, error) {
	a, b, ok := e.corners()
	if !ok {
		return Vec3{}, fmt.Errorf("%w: %v", ErrInput, e)
	}
	if len(face3D) != 3*FaceLandmarks {
		return Vec3{}, fmt.Errorf("%w: %d face landmark values, want %d", ErrInput, len(face3D), 3*FaceLandmarks)
	}
	var c Vec3
	for i := 0; i < 3; i++ {
		pa, pb := float64(face3D[i*FaceLandmarks+a]), float64(face3D[i*FaceLandmarks+b])
		mid := float32(0.5*pa + 0.5*pb)
		var off float64
		for k := 0; k < 3; k++ {
			off += float64(eyeballOffset[k]) * float64(rot[i][k])
		}
		c[i] = mid + float32(off)
	}
	return c, nil
}

// RaySphere returns the first point where the ray from origin along dir
// meets the sphere around centre, as OpenFace's RaySphereIntersect
// computes it in float32, and (0, 0, −1) when the ray misses. Like
// OpenFace it scales the root by a/2 (the quadratic formula read as
// (−b − √disc)/2·a), which is the exact root for the unit directions
// EstimateGaze passes.
func RaySphere(origin, dir, centre Vec3, radius float32) Vec3 {
	dx, dy, dz := dir[0], dir[1], dir[2]
	x0, y0, z0 := origin[0], origin[1], origin[2]
	cx, cy, cz := centre[0], centre[1], centre[2]
	a := float32(dx*dx) + float32(dy*dy)
	a += float32(dz * dz)
	b := float32(float32(2*dx)*(x0-cx)) + float32(float32(2*dy)*(y0-cy))
	b += float32(float32(2*dz) * (z0 - cz))
	c := float32(cx*cx) + float32(cy*cy)
	c += float32(cz * cz)
	c += float32(x0 * x0)
	c += float32(y0 * y0)
	c += float32(z0 * z0)
	dot := float32(cx*x0) + float32(cy*y0)
	dot += float32(cz * z0)
	c += float32(-2 * dot)
	c -= float32(radius * radius)
	disc := float32(b*b) - float32(float32(4*a)*c)
	if disc < 0 {
		return Vec3{0, 0, -1}
	}
	// An unqualified sqrt of a float in OpenFace's build is the C
	// library's double sqrt, so the rest is float64 until stored in t.
	t := float32((float64(-b) - math.Sqrt(float64(disc))) / 2 * float64(a))
	return Vec3{x0 + float32(dx*t), y0 + float32(dy*t), z0 + float32(dz*t)}
}

// normalise divides v by its length: cv::norm's float64 length, each
// quotient rounded to float32 (Point3f / double).
func normalise(v Vec3) Vec3 {
	x, y, z := float64(v[0]), float64(v[1]), float64(v[2])
	n := math.Sqrt(x*x + y*y + z*z)
	return Vec3{float32(x / n), float32(y / n), float32(z / n)}
}

// Direction is EstimateGaze for eye e: the unit gaze vector from the eye
// model's camera-space landmarks eye3D, the face's 68 camera-space
// landmarks face3D and the head rotation rot (the rotation matrix of the
// head pose's Euler angles).
func Direction(eye3D, face3D []float32, e Eye, rot [3][3]float32) (Vec3, error) {
	pupil, err := Pupil(eye3D)
	if err != nil {
		return Vec3{}, err
	}
	centre, err := EyeballCentre(face3D, e, rot)
	if err != nil {
		return Vec3{}, err
	}
	hit := RaySphere(Vec3{}, normalise(pupil), centre, EyeballRadius)
	return normalise(Vec3{hit[0] - centre[0], hit[1] - centre[1], hit[2] - centre[2]}), nil
}

// Angle is GetGazeAngle: the horizontal and vertical angles (radians) of
// the mean of the two eyes' gaze vectors, atan2(x, −z) and atan2(y, −z),
// in float64 from the float32 mean and rounded to float32 as
// FeatureExtraction records them.
func Angle(left, right Vec3) [2]float32 {
	var m Vec3
	for i := range m {
		m[i] = (left[i] + right[i]) / 2
	}
	return [2]float32{
		float32(math.Atan2(float64(m[0]), float64(-m[2]))),
		float32(math.Atan2(float64(m[1]), float64(-m[2]))),
	}
}
