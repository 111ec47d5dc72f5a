package pdm

import "facemirror/internal/exactmath"

// Geometry returns PrincComp·local in float64: the 3n non-rigid offsets
// (x block, y block, z block) that FaceAnalyser::AddNextFrame puts in front
// of the local parameters in its geometry descriptor. OpenFace widens both
// operands to float64 and multiplies them with cv::gemm, which computes
// fewer than 100 rows itself and hands more to OpenBLAS (its small-matrix
// dgemm kernel); the sums here follow those orders, so the values agree
// bit for bit.
func (md *Model) Geometry(local []float32) ([]float64, error) {
	if err := md.checkLocal(local); err != nil {
		return nil, err
	}
	m := md.m
	rows := 3 * md.n
	out := make([]float64, rows)
	if rows < 100 {
		for j := range out {
			out[j] = exactmath.DotCV(md.PrincComp[j*m:j*m+m], local)
		}
		return out, nil
	}
	x := make([]float64, m)
	for i, v := range local {
		x[i] = float64(v)
	}
	row := make([]float64, m)
	for j := range out {
		for k, v := range md.PrincComp[j*m : j*m+m] {
			row[k] = float64(v)
		}
		out[j] = exactmath.LaneSumF64(exactmath.DotLanesF64(row, x), 0, j, 1, rows)
	}
	return out, nil
}
