package au

import (
	"fmt"

	"facemirror/internal/exactmath"
	"facemirror/pipeline/pdm"
)

// geometry computes geometry descriptors with a model's principal
// components widened to float64 once, as FaceAnalyser converts them.
type geometry struct {
	pc    []float64 // rows×modes, row-major
	rows  int       // 3n
	modes int
}

func newGeometry(md *pdm.Model) (*geometry, error) {
	if md == nil {
		return nil, fmt.Errorf("au: no PDM given")
	}
	rows, modes := 3*md.NumPoints(), md.NumModes()
	if rows+modes != GeomLen || len(md.PrincComp) != rows*modes {
		return nil, fmt.Errorf("%w: PDM of %d points and %d modes gives %d geometry values, the predictors need %d",
			ErrModel, md.NumPoints(), modes, rows+modes, GeomLen)
	}
	g := &geometry{pc: make([]float64, rows*modes), rows: rows, modes: modes}
	for i, v := range md.PrincComp {
		g.pc[i] = float64(v)
	}
	return g, nil
}

// fill writes the descriptor of local into dst (GeomLen values).
//
// OpenCV hands this 204×34 by 34×1 double product to OpenBLAS 0.3.21,
// whose small-matrix dgemm kernel for AVX-512 CPUs (the reference
// machine's) computes each row as a dot product in 8 FMA lanes over k mod
// 8, reduced by the store's tree; the same order is used here so the
// descriptor is bit-identical.
func (g *geometry) fill(dst []float64, local []float32) {
	dst = dst[:g.rows+g.modes]
	loc := dst[g.rows:]
	for j, v := range local[:g.modes] {
		loc[j] = float64(v)
	}
	for r := 0; r < g.rows; r++ {
		l := exactmath.DotLanesF64(g.pc[r*g.modes:(r+1)*g.modes], loc)
		dst[r] = exactmath.LaneSumF64(l, 0, r, 1, g.rows)
	}
}

// Geometry returns OpenFace's geometry descriptor for the local (non-rigid)
// parameters of md: PrincComp·local (the x, y and z blocks of the shape
// offsets from the mean) followed by local itself, all in float64. dst is
// reused when it has room.
func Geometry(md *pdm.Model, local []float32, dst []float64) ([]float64, error) {
	g, err := newGeometry(md)
	if err != nil {
		return nil, err
	}
	if len(local) != g.modes {
		return nil, fmt.Errorf("au: %d local parameters, the PDM has %d modes", len(local), g.modes)
	}
	if cap(dst) < GeomLen {
		dst = make([]float64, GeomLen)
	}
	dst = dst[:GeomLen]
	g.fill(dst, local)
	return dst, nil
}
