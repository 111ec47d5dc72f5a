package pdm

// Geometry returns PrincComp·local in float64: the 3n non-rigid offsets
// (x block, y block, z block) that FaceAnalyser::AddNextFrame puts in front
// of the local parameters in its geometry descriptor. OpenFace widens both
// operands to float64 and multiplies them with cv::gemm, which hands 100 or
// more rows to OpenBLAS; the sums here follow that product's order
// (OpenBLAS 0.3.21's small-matrix dgemm kernel), so the values agree bit
// for bit.
func (md *Model) Geometry(local []float32) ([]float64, error) {
	if err := md.checkLocal(local); err != nil {
		return nil, err
	}
	m := md.m
	x := make([]float64, m)
	for i, v := range local {
		x[i] = float64(v)
	}
	rows := 3 * md.n
	out := make([]float64, rows)
	n4 := rows &^ 3
	for j := range out {
		row := md.PrincComp[j*m : j*m+m]
		if rows < 100 {
			out[j] = dotCV64(row, x)
			continue
		}
		// Eight FMA lanes over k mod 8; the products of widened float32
		// values are exact, so each FMA is a plain sum.
		var l [8]float64
		k8 := m &^ 7
		for k := 0; k < k8; k++ {
			l[k&7] += float64(row[k]) * x[k]
		}
		for k := k8; k < m; k++ {
			l[k-k8] += float64(row[k]) * x[k]
		}
		if j < n4 {
			out[j] = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
		} else {
			// GCC's _mm512_reduce_add_pd.
			t0, t1, t2, t3 := l[4]+l[0], l[5]+l[1], l[6]+l[2], l[7]+l[3]
			out[j] = (t2 + t0) + (t3 + t1)
		}
	}
	return out, nil
}

// dotCV64 is OpenCV's own float64 gemm for one output value: four partial
// sums over k mod 4 and a tail.
func dotCV64(row []float32, x []float64) float64 {
	var s0, s1, s2, s3 float64
	k := 0
	for ; k <= len(row)-4; k += 4 {
		s0 += float64(row[k]) * x[k]
		s1 += float64(row[k+1]) * x[k+1]
		s2 += float64(row[k+2]) * x[k+2]
		s3 += float64(row[k+3]) * x[k+3]
	}
	for ; k < len(row); k++ {
		s0 += float64(row[k]) * x[k]
	}
	return s0 + s1 + s2 + s3
}
