// Package align produces OpenFace 2.2's similarity-aligned, masked face
// image (FaceAnalysis::AlignFaceMask), the input of the action-unit HOG
// features and of FeatureExtraction's aligned-face output.
//
// The face is mapped by a scale-rotation fitted (Kabsch with scale) from
// 24 rigid landmarks to the PDM mean shape scaled by 0.7, translated so that
// the model centre (params tx, ty) lands in the middle of a 112×112 image,
// and warped with OpenCV's warpAffine (bilinear, fixed point). Pixels
// outside the piecewise-affine face region spanned by the transformed
// landmarks (brows and the top of the jaw raised by 30 px) are set to 0.
package align

import (
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"

	"gocv.io/x/gocv"

	"facemirror/pipeline/pdm"
)

// Defaults of FaceAnalyser for the action-unit stage.
const (
	DefaultSimScale = 0.7
	DefaultSize     = 112
)

// NumPoints is the landmark count the alignment is defined for.
const NumPoints = 68

// RigidPoints are the 0-based landmarks (jaw sides, nose, eye corners and
// lower lids) that drive the similarity transform.
var RigidPoints = [...]int{1, 2, 3, 4, 12, 13, 14, 15, 27, 28, 29, 31, 32, 33, 34, 35, 36, 39, 40, 41, 42, 45, 46, 47}

// raisedPoints are moved up for the mask so that it covers the forehead
// just above the brows and the temples.
var raisedPoints = [...]int{0, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26}

// ErrBadInput reports input that cannot be aligned.
var ErrBadInput = errors.New("align: bad input")

// Triangle holds three landmark indices.
type Triangle [3]int

// LoadTriangulation reads a triangulation file such as
// AU_predictors/tris_68_full.txt.
func LoadTriangulation(path string) ([]Triangle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open triangulation %s: %w", path, err)
	}
	defer f.Close()
	t, err := ReadTriangulation(f)
	if err != nil {
		return nil, fmt.Errorf("read triangulation %s: %w", path, err)
	}
	return t, nil
}

// ReadTriangulation parses a triangulation in OpenFace's text matrix
// layout: "T 3 4" followed by T rows of three 0-based landmark indices.
func ReadTriangulation(r io.Reader) ([]Triangle, error) {
	m, err := pdm.ReadMatrix(r)
	if err != nil {
		return nil, err
	}
	if m.Cols != 3 || m.Rows == 0 {
		return nil, fmt.Errorf("%w: triangulation is %d×%d, want T×3", pdm.ErrFormat, m.Rows, m.Cols)
	}
	tris := make([]Triangle, m.Rows)
	for i := range tris {
		for j := 0; j < 3; j++ {
			v := m.Data[i*3+j]
			if v != math.Trunc(v) || v < 0 || v >= NumPoints {
				return nil, fmt.Errorf("%w: triangle %d has vertex %v, want an index below %d", pdm.ErrFormat, i, v, NumPoints)
			}
			tris[i][j] = int(v)
		}
	}
	return tris, nil
}

// Affine is a 2×3 float32 transform from image to aligned coordinates:
// (u, v) = (M00·x + M01·y + M02, M10·x + M11·y + M12).
type Affine [2][3]float32

// Aligner aligns faces for one PDM and triangulation. It is safe for
// concurrent use.
type Aligner struct {
	simScale float64
	size     int
	tris     []Triangle
	// dst holds the rigid points of the scaled mean shape.
	dst [][2]float32
}

// New returns an Aligner with FaceAnalyser's settings (scale 0.7,
// 112×112) for a 68-point PDM.
func New(md *pdm.Model, tris []Triangle) (*Aligner, error) {
	return NewWithSize(md, tris, DefaultSimScale, DefaultSize)
}

// NewWithSize returns an Aligner producing size×size images at the given
// similarity scale (FaceAnalyser's -simscale and -simsize).
func NewWithSize(md *pdm.Model, tris []Triangle, simScale float64, size int) (*Aligner, error) {
	if md == nil || md.NumPoints() != NumPoints {
		return nil, fmt.Errorf("%w: the alignment needs a %d-point PDM", ErrBadInput, NumPoints)
	}
	if len(tris) == 0 {
		return nil, fmt.Errorf("%w: empty triangulation", ErrBadInput)
	}
	for i, t := range tris {
		for _, v := range t {
			if v < 0 || v >= NumPoints {
				return nil, fmt.Errorf("%w: triangle %d has vertex %d", ErrBadInput, i, v)
			}
		}
	}
	if !(simScale > 0) || size < 2 || size > 4096 {
		return nil, fmt.Errorf("%w: scale %v, size %d", ErrBadInput, simScale, size)
	}
	a := &Aligner{simScale: simScale, size: size, tris: append([]Triangle(nil), tris...)}
	// pdm.mean_shape * sim_scale: OpenCV scales by the float32 factor.
	s := float32(simScale)
	for _, i := range RigidPoints {
		a.dst = append(a.dst, [2]float32{md.Mean[i] * s, md.Mean[NumPoints+i] * s})
	}
	return a, nil
}

// Size returns the side of the aligned image in pixels.
func (a *Aligner) Size() int { return a.size }

func checkLandmarks(landmarks []float32) error {
	if len(landmarks) != 2*NumPoints {
		return fmt.Errorf("%w: %d landmark values, want %d", ErrBadInput, len(landmarks), 2*NumPoints)
	}
	for _, v := range landmarks {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w: landmark value %v", ErrBadInput, v)
		}
	}
	return nil
}

// Transform returns the image-to-aligned transform for the landmarks (2n
// values: x of every point, then y) and the translation of the FaceAnalyser's
// own parameter fit (g.Tx, g.Ty).
func (a *Aligner) Transform(landmarks []float32, g pdm.Global) (Affine, error) {
	if err := checkLandmarks(landmarks); err != nil {
		return Affine{}, err
	}
	src := make([][2]float32, len(RigidPoints))
	for j, i := range RigidPoints {
		src[j] = [2]float32{landmarks[i], landmarks[NumPoints+i]}
	}
	r, err := pdm.AlignShapesWithScale(src, a.dst)
	if err != nil {
		return Affine{}, err
	}
	// T = R·(tx, ty) in float32 (cv::Matx product).
	t0 := float32(r[0][0]*g.Tx) + float32(r[0][1]*g.Ty)
	t1 := float32(r[1][0]*g.Tx) + float32(r[1][1]*g.Ty)
	half := float32(a.size / 2)
	m := Affine{{r[0][0], r[0][1], -t0 + half}, {r[1][0], r[1][1], -t1 + half}}
	for _, row := range m {
		for _, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return Affine{}, fmt.Errorf("%w: degenerate landmarks give the transform %v", ErrBadInput, m)
			}
		}
	}
	return m, nil
}

// Mask returns the size×size face mask (1 inside, 0 outside, row-major)
// for the landmarks under the transform m, as OpenFace builds it with
// PAW's per-pixel triangle search.
func (a *Aligner) Mask(landmarks []float32, m Affine) ([]uint8, error) {
	if err := checkLandmarks(landmarks); err != nil {
		return nil, err
	}
	pts := make([][2]float32, NumPoints)
	for i := range pts {
		x, y := float64(landmarks[i]), float64(landmarks[NumPoints+i])
		// landmarks·W₂ᵀ through cv::gemm (float64 sums), then + offset.
		pts[i][0] = float32(x*float64(m[0][0])+y*float64(m[0][1])) + m[0][2]
		pts[i][1] = float32(x*float64(m[1][0])+y*float64(m[1][1])) + m[1][2]
	}
	raise := (30 / 0.7) * a.simScale
	for _, i := range raisedPoints {
		pts[i][1] = float32(float64(pts[i][1]) - raise)
	}
	return rasterMask(pts, a.tris, a.size), nil
}

// Align warps the BGR (or grey) 8-bit frame to the aligned face and masks
// it. landmarks are the detected 2D landmarks (x block, y block) and g the
// parameters CalcParams fitted to them. The caller owns the returned Mat.
func (a *Aligner) Align(img gocv.Mat, landmarks []float32, g pdm.Global) (gocv.Mat, error) {
	if img.Empty() {
		return gocv.NewMat(), fmt.Errorf("%w: empty image", ErrBadInput)
	}
	if t := img.Type(); t != gocv.MatTypeCV8UC3 && t != gocv.MatTypeCV8UC1 {
		return gocv.NewMat(), fmt.Errorf("%w: image type %v, want 8-bit BGR or grey", ErrBadInput, t)
	}
	m, err := a.Transform(landmarks, g)
	if err != nil {
		return gocv.NewMat(), err
	}
	mask, err := a.Mask(landmarks, m)
	if err != nil {
		return gocv.NewMat(), err
	}
	out, err := a.warp(img, m)
	if err != nil {
		return gocv.NewMat(), err
	}
	data, err := out.DataPtrUint8()
	if err != nil {
		out.Close()
		return gocv.NewMat(), fmt.Errorf("align: aligned image data: %w", err)
	}
	ch := out.Channels()
	for p, keep := range mask {
		if keep == 0 {
			for c := 0; c < ch; c++ {
				data[p*ch+c] = 0
			}
		}
	}
	return out, nil
}

// warp runs cv::warpAffine with the float32 transform widened to float64,
// bilinear interpolation and a constant 0 border, as AlignFaceMask does.
func (a *Aligner) warp(img gocv.Mat, m Affine) (gocv.Mat, error) {
	mat := gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F)
	defer mat.Close()
	for r := 0; r < 2; r++ {
		for c := 0; c < 3; c++ {
			mat.SetDoubleAt(r, c, float64(m[r][c]))
		}
	}
	out := gocv.NewMat()
	gocv.WarpAffine(img, &out, mat, image.Pt(a.size, a.size))
	if out.Rows() != a.size || out.Cols() != a.size || !out.IsContinuous() {
		out.Close()
		return gocv.NewMat(), fmt.Errorf("align: warpAffine returned a %d×%d image", out.Cols(), out.Rows())
	}
	return out, nil
}
