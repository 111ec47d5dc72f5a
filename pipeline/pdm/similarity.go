package pdm

import (
	"errors"
	"math"
)

// Mat2 is a 2×2 float32 matrix, indexed [row][col].
type Mat2 [2][2]float32

// AlignShapesWithScale returns the 2×2 scale-rotation A that maps the
// point set src onto dst (both n points (x, y)) as OpenFace's
// Utilities::AlignShapesWithScale computes it: both sets are centred, the
// scale is the ratio of their RMS radii, and the rotation is the Kabsch
// solution (SVD of the 2×2 correlation, reflections removed) in OpenCV's
// float32 arithmetic. There is no translation.
func AlignShapesWithScale(src, dst [][2]float32) (Mat2, error) {
	n := len(src)
	if n == 0 || len(dst) != n {
		return Mat2{}, errors.New("pdm: point sets must be non-empty and of equal size")
	}
	a, sa := normaliseShape(src)
	b, sb := normaliseShape(dst)
	s := sb / sa
	r := kabsch2D(a, b)
	return Mat2{{s * r[0][0], s * r[0][1]}, {s * r[1][0], s * r[1][1]}}, nil
}

// normaliseShape centres the points (cv::mean in float64, narrowed),
// computes their RMS radius (float32 squares summed by cv::sum, whose
// order decides the last bit now and then) and scales them to unit RMS
// radius (multiplying by the float32 reciprocal, as OpenCV's Mat/double
// does).
func normaliseShape(p [][2]float32) ([][2]float32, float32) {
	n := len(p)
	inv := 1 / float64(n)
	var sx, sy float64
	for _, v := range p {
		sx += float64(v[0])
		sy += float64(v[1])
	}
	mx, my := float32(sx*inv), float32(sy*inv)
	out := make([][2]float32, n)
	sq := make([]float32, 0, 2*n)
	for i, v := range p {
		x, y := v[0]-mx, v[1]-my
		out[i] = [2]float32{x, y}
		sq = append(sq, x*x, y*y)
	}
	scale := float32(math.Sqrt(sumCV(sq) / float64(n)))
	k := float32(1 / float64(scale))
	for i := range out {
		out[i][0] *= k
		out[i][1] *= k
	}
	return out, scale
}

// sumCV is cv::sum of a continuous float matrix as OpenCV 4.6 computes it
// on an AVX2 machine: blocks of 16 values go into eight float64 lanes
// (lane l of the first accumulator takes v[l] + v[l+8], of the second
// v[l+4] + v[l+12]), the lanes are added pairwise and then in order; the
// tail is summed four values at a time in float32 (the scalar loop adds
// the elements in their own type) and then one by one, each partial sum
// added to the float64 total.
func sumCV(v []float32) float64 {
	var s0, s1 [4]float64
	x := 0
	for ; x+16 <= len(v); x += 16 {
		for l := range s0 {
			s0[l] += float64(v[x+l]) + float64(v[x+8+l])
			s1[l] += float64(v[x+4+l]) + float64(v[x+12+l])
		}
	}
	var s float64
	for l := range s0 {
		s += s0[l] + s1[l]
	}
	for ; x+4 <= len(v); x += 4 {
		s += float64(v[x] + v[x+1] + v[x+2] + v[x+3])
	}
	for ; x < len(v); x++ {
		s += float64(v[x])
	}
	return s
}

// kabsch2D is OpenFace's AlignShapesKabsch2D for centred point sets.
func kabsch2D(a, b [][2]float32) Mat2 {
	// aᵀ·b through cv::gemm: float64 sums over the points.
	var h [4]float64
	for i := range a {
		h[0] += float64(a[i][0]) * float64(b[i][0])
		h[1] += float64(a[i][0]) * float64(b[i][1])
		h[2] += float64(a[i][1]) * float64(b[i][0])
		h[3] += float64(a[i][1]) * float64(b[i][1])
	}
	u, _, vt := svdSmall([]float32{float32(h[0]), float32(h[1]), float32(h[2]), float32(h[3])}, 2)
	// d = det(Vᵀᵀ·Uᵀ) only decides the reflection.
	var m [4]float32
	for i := 0; i < 2; i++ {
		for j := 0; j < 2; j++ {
			m[i*2+j] = float32(float64(vt[i])*float64(u[j*2]) + float64(vt[2+i])*float64(u[j*2+1]))
		}
	}
	corr := float32(1)
	if float64(m[0])*float64(m[3])-float64(m[1])*float64(m[2]) <= 0 {
		corr = -1
	}
	// R = V·diag(1, corr)·Uᵀ, as two cv::gemm products.
	p := [4]float32{vt[0], vt[2] * corr, vt[1], vt[3] * corr}
	var r Mat2
	for i := 0; i < 2; i++ {
		for j := 0; j < 2; j++ {
			r[i][j] = float32(float64(p[i*2])*float64(u[j*2]) + float64(p[i*2+1])*float64(u[j*2+1]))
		}
	}
	return r
}
