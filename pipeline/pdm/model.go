// Package pdm is OpenFace 2.2's point distribution model (PDM): the 3D face
// shape model behind the CLNF landmark detector and the action-unit stage.
//
// A shape is the mean shape plus a linear combination of principal
// components (the local, non-rigid parameters), placed in the image by a
// weak-perspective projection with a scale, an Euler rotation (R = Rx·Ry·Rz)
// and a 2D translation (the global, rigid parameters). The package reads
// OpenFace's text model files, builds shapes from parameters, fits
// parameters to 2D landmarks (PDM::CalcParams) and derives the head pose and
// camera-space 3D landmarks that FeatureExtraction writes.
//
// Every computation follows OpenFace's float32 arithmetic step by step: libm
// calls are done in float64 and rounded, as GCC builds do; OpenCV's small
// matrix products accumulate in float64 where OpenCV does; and the products
// OpenFace hands to OpenBLAS are summed in the order of the OpenBLAS 0.3.21
// small-matrix kernels (SkylakeX class) of the reference build. Results agree
// with the reference C++ program bit for bit.
package pdm

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// ErrFormat reports a model file that is not a valid PDM.
var ErrFormat = errors.New("pdm: invalid model file")

// Model is a point distribution model of n points and m modes. Models come
// from Load or Read; the exported slices are shared and must be treated as
// read-only. A Model is safe for concurrent use.
type Model struct {
	// Mean is the mean 3D shape, 3n values: x of every point, then y, then z.
	Mean []float32
	// PrincComp holds the principal components, a 3n×m row-major matrix
	// whose rows follow the layout of Mean.
	PrincComp []float32
	// EigenValues holds the variance of each mode (m values).
	EigenValues []float32

	n, m int
}

// NumPoints returns the number of landmarks n.
func (md *Model) NumPoints() int { return md.n }

// NumModes returns the number of non-rigid modes m.
func (md *Model) NumModes() int { return md.m }

// Load reads a PDM text file such as In-the-wild_aligned_PDM_68.txt.
func Load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open pdm %s: %w", path, err)
	}
	defer f.Close()
	md, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("read pdm %s: %w", path, err)
	}
	return md, nil
}

// Read parses a PDM in OpenFace's text layout: a comment, the mean shape
// (3n×1), a comment, the principal components (3n×m), a comment, the
// eigenvalues (1×m). Values are read as float64 and rounded to float32 as
// PDM::Read does.
func Read(r io.Reader) (*Model, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	s := &matScanner{data: data}
	names := [3]string{"mean shape", "principal components", "eigenvalues"}
	var mats [3]Matrix
	for i := range mats {
		s.skipComments()
		mats[i], err = s.readMatrix()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrFormat, names[i], err)
		}
	}
	mean, pc, ev := mats[0], mats[1], mats[2]
	if mean.Cols != 1 || mean.Rows%3 != 0 || mean.Rows == 0 {
		return nil, fmt.Errorf("%w: mean shape is %d×%d, want 3n×1", ErrFormat, mean.Rows, mean.Cols)
	}
	if pc.Rows != mean.Rows || pc.Cols == 0 {
		return nil, fmt.Errorf("%w: principal components are %d×%d, want %d×m", ErrFormat, pc.Rows, pc.Cols, mean.Rows)
	}
	if ev.Rows != 1 || ev.Cols != pc.Cols {
		return nil, fmt.Errorf("%w: eigenvalues are %d×%d, want 1×%d", ErrFormat, ev.Rows, ev.Cols, pc.Cols)
	}
	md := &Model{
		Mean:        toFloat32(mean.Data),
		PrincComp:   toFloat32(pc.Data),
		EigenValues: toFloat32(ev.Data),
		n:           mean.Rows / 3,
		m:           pc.Cols,
	}
	for i, v := range md.EigenValues {
		if !(v > 0) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%w: eigenvalue %d is %v, want a finite positive value", ErrFormat, i, v)
		}
	}
	for _, vals := range [][]float32{md.Mean, md.PrincComp} {
		for _, v := range vals {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("%w: non-finite value %v", ErrFormat, v)
			}
		}
	}
	return md, nil
}

func toFloat32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
