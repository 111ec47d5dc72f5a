package exactmath

// The portable GemmChains kernels run several float32 FMA chains (emulated
// as in FMA32) side by side so that their latencies overlap. Each step
// computes s = w·x + acc in float64, where w·x is exact, so s is the exact
// sum rounded once; only the rare steps where some s needs the careful
// rounding (needsFix) take fmaSlow for all chains. x points at the first
// of the columns in the k-major second factor (row stride st).

// chain4x2 returns w_j·x_i for four weight rows and two adjacent
// columns, indexed [j·2+i].
func chain4x2(w0, w1, w2, w3 []float32, x []float32, st int) (r [8]float32) {
	n := len(w0)
	w1 = w1[:n]
	w2 = w2[:n]
	w3 = w3[:n]
	var a0, a1, a2, a3, a4, a5, a6, a7 float32
	for k := 0; k < n; k++ {
		xs := x[k*st : k*st+2]
		u0, u1 := float64(xs[0]), float64(xs[1])
		c0, c1, c2, c3 := float64(w0[k]), float64(w1[k]), float64(w2[k]), float64(w3[k])
		s0 := c0*u0 + float64(a0)
		s1 := c0*u1 + float64(a1)
		s2 := c1*u0 + float64(a2)
		s3 := c1*u1 + float64(a3)
		s4 := c2*u0 + float64(a4)
		s5 := c2*u1 + float64(a5)
		s6 := c3*u0 + float64(a6)
		s7 := c3*u1 + float64(a7)
		if needsFix(s0) || needsFix(s1) || needsFix(s2) || needsFix(s3) || needsFix(s4) || needsFix(s5) || needsFix(s6) || needsFix(s7) {
			a0 = fmaSlow(c0*u0, float64(a0), s0)
			a1 = fmaSlow(c0*u1, float64(a1), s1)
			a2 = fmaSlow(c1*u0, float64(a2), s2)
			a3 = fmaSlow(c1*u1, float64(a3), s3)
			a4 = fmaSlow(c2*u0, float64(a4), s4)
			a5 = fmaSlow(c2*u1, float64(a5), s5)
			a6 = fmaSlow(c3*u0, float64(a6), s6)
			a7 = fmaSlow(c3*u1, float64(a7), s7)
			continue
		}
		a0 = float32(s0)
		a1 = float32(s1)
		a2 = float32(s2)
		a3 = float32(s3)
		a4 = float32(s4)
		a5 = float32(s5)
		a6 = float32(s6)
		a7 = float32(s7)
	}
	return [8]float32{a0, a1, a2, a3, a4, a5, a6, a7}
}

// chain3x2 returns w_j·x_i for three weight rows and two adjacent
// columns (every OpenFace CCNF expert has 7 = 4 + 3 neurons), indexed
// [j·2+i].
func chain3x2(w0, w1, w2 []float32, x []float32, st int) (r [6]float32) {
	n := len(w0)
	w1 = w1[:n]
	w2 = w2[:n]
	var a0, a1, a2, a3, a4, a5 float32
	for k := 0; k < n; k++ {
		xs := x[k*st : k*st+2]
		u0, u1 := float64(xs[0]), float64(xs[1])
		c0, c1, c2 := float64(w0[k]), float64(w1[k]), float64(w2[k])
		s0 := c0*u0 + float64(a0)
		s1 := c0*u1 + float64(a1)
		s2 := c1*u0 + float64(a2)
		s3 := c1*u1 + float64(a3)
		s4 := c2*u0 + float64(a4)
		s5 := c2*u1 + float64(a5)
		if needsFix(s0) || needsFix(s1) || needsFix(s2) || needsFix(s3) || needsFix(s4) || needsFix(s5) {
			a0 = fmaSlow(c0*u0, float64(a0), s0)
			a1 = fmaSlow(c0*u1, float64(a1), s1)
			a2 = fmaSlow(c1*u0, float64(a2), s2)
			a3 = fmaSlow(c1*u1, float64(a3), s3)
			a4 = fmaSlow(c2*u0, float64(a4), s4)
			a5 = fmaSlow(c2*u1, float64(a5), s5)
			continue
		}
		a0 = float32(s0)
		a1 = float32(s1)
		a2 = float32(s2)
		a3 = float32(s3)
		a4 = float32(s4)
		a5 = float32(s5)
	}
	return [6]float32{a0, a1, a2, a3, a4, a5}
}

// chain1x2 returns w·x for two adjacent columns.
func chain1x2(w0 []float32, x []float32, st int) (r [2]float32) {
	n := len(w0)
	var a0, a1 float32
	for k := 0; k < n; k++ {
		xs := x[k*st : k*st+2]
		u0, u1 := float64(xs[0]), float64(xs[1])
		c0 := float64(w0[k])
		s0 := c0*u0 + float64(a0)
		s1 := c0*u1 + float64(a1)
		if needsFix(s0) || needsFix(s1) {
			a0 = fmaSlow(c0*u0, float64(a0), s0)
			a1 = fmaSlow(c0*u1, float64(a1), s1)
			continue
		}
		a0 = float32(s0)
		a1 = float32(s1)
	}
	return [2]float32{a0, a1}
}
