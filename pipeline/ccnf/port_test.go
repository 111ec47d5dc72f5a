package ccnf

import (
	"context"
	"math"
	"testing"

	"facemirror/internal/exactmath"
)

// portResponse is a direct, unoptimised transcription of
// CCNF_patch_expert::ResponseOpenBlas with the reference machine's
// OpenBLAS order (see package exactmath), one FMA at a time: the optimised
// expertResponse must agree with it bit for bit.
func portResponse(e *Expert, sigma []float32, aoi []float32, aw, ah int) []float32 {
	w, h := e.Width, e.Height
	yB, xB := ah-h+1, aw-w+1
	k := 1 + w*h
	cols := make([][]float32, 0, xB*yB)
	for j := 0; j < xB; j++ {
		for i := 0; i < yB; i++ {
			row := make([]float32, k)
			row[0] = 1
			var sum float32
			for yy := 0; yy < h; yy++ {
				for xx := 0; xx < w; xx++ {
					v := aoi[(i+yy)*aw+j+xx]
					sum += v
					row[xx*h+yy+1] = v
				}
			}
			mean := sum / float32(w*h)
			var ss float32
			for x := 1; x < k; x++ {
				d := row[x] - mean
				row[x] = d
				ss += float32(d * d)
			}
			norm := float32(math.Sqrt(float64(ss)))
			if norm == 0 {
				norm = 1
			}
			norm = float32(1.0 / float64(norm))
			for x := 1; x < k; x++ {
				row[x] *= norm
			}
			cols = append(cols, row)
		}
	}
	m, n := len(cols), len(e.Neurons)
	tail := exactmath.FirstLaneRow(m, k)
	resp := make([]float32, m)
	for jn, nr := range e.Neurons {
		wrow := e.weights[jn*k : (jn+1)*k]
		for q, x := range cols {
			var z float32
			if q < tail {
				for c := range x {
					z = exactmath.FMA32(x[c], wrow[c], z)
				}
			} else {
				var l [16]float32
				for c := range x {
					l[c%16] = exactmath.FMA32(x[c], wrow[c], l[c%16])
				}
				if q < m&^3 || jn < n&^3 {
					z = exactmath.ReduceQuad(l)
				} else {
					z = exactmath.Reduce512(l)
				}
			}
			if nr.Alpha > 1e-4 {
				resp[q] = float32(float64(resp[q]) + (2.0*nr.Alpha)/(1.0+math.Exp(float64(-z))))
			}
		}
	}
	ws := yB
	r := make([]float32, ws*ws)
	for i := 0; i < ws; i++ {
		for j := 0; j < ws; j++ {
			r[i*ws+j] = resp[j*ws+i]
		}
	}
	nk := ws * ws
	out := make([]float32, nk)
	for j := range out {
		srow := sigma[j*nk : (j+1)*nk]
		if nk < 32 {
			for c := range r {
				out[j] = exactmath.FMA32(r[c], srow[c], out[j])
			}
			continue
		}
		var l [16]float32
		for c := range r {
			l[c%16] = exactmath.FMA32(r[c], srow[c], l[c%16])
		}
		if j < nk&^3 {
			out[j] = exactmath.ReduceQuad(l)
		} else {
			out[j] = exactmath.Reduce512(l)
		}
	}
	minV := out[0]
	for _, v := range out {
		minV = min(minV, v)
	}
	if minV < 0 {
		for j := range out {
			out[j] -= minV
		}
	}
	return out
}

// TestResponseMatchesPort compares the optimised response (SIMD panels
// where available, transposed im2col, interleaved sums) with the direct
// transcription on every landmark of real frames, for every window size
// and model the tracker uses, bit for bit.
func TestResponseMatchesPort(t *testing.T) {
	md := loadPDM(t)
	img := videoFrame(t, v01, 1)
	g, local := referenceParams(t, v01, 0)
	for _, c := range []struct {
		file string
		ws   int
		yaw  float32
	}{
		{general025, 11, 0}, {general035, 9, 0}, {general05, 7, 0},
		{general035, 9, -0.45}, {general05, 7, 1.0}, {general05, 15, 0},
	} {
		s := loadScale(t, c.file)
		gc := g
		gc.Ry += c.yaw
		var r Responses
		if err := s.Response(context.Background(), img, md, gc, local, c.ws, NewWorkspace(2), &r); err != nil {
			t.Fatal(err)
		}
		a1, b1 := r.RefToImg[0][0], -r.RefToImg[0][1]
		checked := 0
		for i := range r.Maps {
			if r.Maps[i] == nil {
				continue
			}
			e := s.Experts[r.View][i]
			aoi := AreaOfInterest(img, r.Landmarks[i], r.Landmarks[i+68], a1, b1, c.ws+10, c.ws+10, nil)
			sg, _ := s.Sigma(r.View, i, c.ws)
			want := portResponse(e, sg, aoi, c.ws+10, c.ws+10)
			for k, v := range want {
				if r.Maps[i][k] != v {
					t.Fatalf("%s ws %d view %d landmark %d cell %d: %v, direct port %v", c.file, c.ws, r.View, i, k, r.Maps[i][k], v)
				}
			}
			checked++
		}
		t.Logf("%s ws %d view %d: %d maps identical", c.file, c.ws, r.View, checked)
	}
	// The eye experts have windows 3 and 5 (no sigma components, chains
	// for Sigma·r because K < 32).
	for _, c := range []struct {
		file string
		ws   int
	}{{leftEye1, 3}, {rightEye15, 5}} {
		s := loadScale(t, c.file)
		for i := 0; i < s.NumPoints(); i++ {
			aoi := AreaOfInterest(img, 200+float32(i), 150, 0.9, 0.1, c.ws+10, c.ws+10, nil)
			got, err := s.ExpertResponse(0, i, aoi, c.ws, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			sg, _ := s.Sigma(0, i, c.ws)
			want := portResponse(s.Experts[0][i], sg, aoi, c.ws+10, c.ws+10)
			for k, v := range want {
				if got[k] != v {
					t.Fatalf("%s ws %d landmark %d cell %d: %v, direct port %v", c.file, c.ws, i, k, got[k], v)
				}
			}
		}
	}
}
