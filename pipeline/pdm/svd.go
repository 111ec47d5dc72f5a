package pdm

import "math"

// floatT is the element type of the small dense helpers: OpenFace runs the
// same OpenCV algorithms on float32 and float64 matrices.
type floatT interface{ ~float32 | ~float64 }

// svdSmall is the singular value decomposition of an n×n matrix (n ≤ 3) as
// cv::SVD::compute does it: one-sided Jacobi rotations on the transposed
// matrix, sums of squares and dot products in float64, rotations applied in
// the element type. It returns U, the singular values (descending) and Vᵀ,
// all n×n row-major.
func svdSmall[T floatT](a []T, n int) (u, w, vt []T) {
	var minval float64
	var eps T
	switch any(eps).(type) {
	case float32:
		minval, eps = flt32Min, T(2*epsFloat32)
	default:
		minval, eps = flt64Min, T(10*epsFloat64)
	}
	// OpenCV works on Aᵀ: its rows become the left singular vectors.
	at := make([]T, n*n)
	for i := 0; i < n; i++ {
		for k := 0; k < n; k++ {
			at[i*n+k] = a[k*n+i]
		}
	}
	w = make([]T, n)
	vt = make([]T, n*n)
	jacobiSVD(at, w, vt, n, n, n, minval, eps)
	u = make([]T, n*n)
	for i := 0; i < n; i++ {
		for k := 0; k < n; k++ {
			u[k*n+i] = at[i*n+k]
		}
	}
	return u, w, vt
}

// C's FLT_EPSILON, DBL_EPSILON, FLT_MIN and DBL_MIN.
const (
	epsFloat32 = 1.1920928955078125e-07
	epsFloat64 = 2.220446049250313e-16
	flt32Min   = 1.1754943508222875e-38
	flt64Min   = 2.2250738585072014e-308
)

// cvHypot is OpenCV's scaled hypotenuse used by the Jacobi SVD.
func cvHypot(a, b float64) float64 {
	a, b = math.Abs(a), math.Abs(b)
	if a > b {
		b /= a
		return a * math.Sqrt(1+b*b)
	}
	if b > 0 {
		a /= b
		return b * math.Sqrt(1+a*a)
	}
	return 0
}

// jacobiSVD is OpenCV's JacobiSVDImpl_ for an n×m matrix stored as its
// transpose At (n rows of length m). On return the rows of At are the left
// singular vectors, W the singular values and Vt the right singular vectors.
// The random completion of null vectors is kept so that rank-deficient input
// behaves as in OpenCV.
func jacobiSVD[T floatT](at, w, vt []T, m, n, n1 int, minval float64, eps T) {
	W := make([]float64, n)
	for i := 0; i < n; i++ {
		var sd float64
		for k := 0; k < m; k++ {
			t := float64(at[i*m+k])
			sd += t * t
		}
		W[i] = sd
		for k := 0; k < n; k++ {
			vt[i*n+k] = 0
		}
		vt[i*n+i] = 1
	}
	maxIter := m
	if maxIter < 30 {
		maxIter = 30
	}
	for iter := 0; iter < maxIter; iter++ {
		changed := false
		for i := 0; i < n-1; i++ {
			for j := i + 1; j < n; j++ {
				ai, aj := at[i*m:i*m+m], at[j*m:j*m+m]
				a, b := W[i], W[j]
				var p float64
				for k := 0; k < m; k++ {
					p += float64(ai[k]) * float64(aj[k])
				}
				if math.Abs(p) <= float64(eps)*math.Sqrt(a*b) {
					continue
				}
				p *= 2
				beta := a - b
				gamma := cvHypot(p, beta)
				var c, s T
				if beta < 0 {
					delta := (gamma - beta) * 0.5
					s = T(math.Sqrt(delta / gamma))
					c = T(p / (gamma * float64(s) * 2))
				} else {
					c = T(math.Sqrt((gamma + beta) / (gamma * 2)))
					s = T(p / (gamma * float64(c) * 2))
				}
				a, b = 0, 0
				for k := 0; k < m; k++ {
					t0 := T(c*ai[k]) + T(s*aj[k])
					t1 := T(-s*ai[k]) + T(c*aj[k])
					ai[k], aj[k] = t0, t1
					a += float64(t0) * float64(t0)
					b += float64(t1) * float64(t1)
				}
				W[i], W[j] = a, b
				changed = true
				vi, vj := vt[i*n:i*n+n], vt[j*n:j*n+n]
				for k := 0; k < n; k++ {
					t0 := T(c*vi[k]) + T(s*vj[k])
					t1 := T(-s*vi[k]) + T(c*vj[k])
					vi[k], vj[k] = t0, t1
				}
			}
		}
		if !changed {
			break
		}
	}
	for i := 0; i < n; i++ {
		var sd float64
		for k := 0; k < m; k++ {
			t := float64(at[i*m+k])
			sd += t * t
		}
		W[i] = math.Sqrt(sd)
	}
	for i := 0; i < n-1; i++ {
		j := i
		for k := i + 1; k < n; k++ {
			if W[j] < W[k] {
				j = k
			}
		}
		if i != j {
			W[i], W[j] = W[j], W[i]
			for k := 0; k < m; k++ {
				at[i*m+k], at[j*m+k] = at[j*m+k], at[i*m+k]
			}
			for k := 0; k < n; k++ {
				vt[i*n+k], vt[j*n+k] = vt[j*n+k], vt[i*n+k]
			}
		}
	}
	for i := 0; i < n; i++ {
		w[i] = T(W[i])
	}
	rng := cvRNG(0x12345678)
	for i := 0; i < n1; i++ {
		sd := 0.0
		if i < n {
			sd = W[i]
		}
		for ii := 0; ii < 100 && sd <= minval; ii++ {
			// A zero singular value: OpenCV completes the basis with a
			// pseudo-random vector orthogonalised against the others.
			val0 := T(1.0 / float64(m))
			for k := 0; k < m; k++ {
				if rng.next()&256 != 0 {
					at[i*m+k] = val0
				} else {
					at[i*m+k] = -val0
				}
			}
			for it := 0; it < 2; it++ {
				for j := 0; j < i; j++ {
					sd = 0
					for k := 0; k < m; k++ {
						sd += float64(at[i*m+k] * at[j*m+k])
					}
					var asum T
					for k := 0; k < m; k++ {
						t := T(float64(at[i*m+k]) - sd*float64(at[j*m+k]))
						at[i*m+k] = t
						if t < 0 {
							asum -= t
						} else {
							asum += t
						}
					}
					if asum > eps*100 {
						asum = 1 / asum
					} else {
						asum = 0
					}
					for k := 0; k < m; k++ {
						at[i*m+k] *= asum
					}
				}
			}
			sd = 0
			for k := 0; k < m; k++ {
				t := float64(at[i*m+k])
				sd += t * t
			}
			sd = math.Sqrt(sd)
		}
		var s T
		if sd > minval {
			s = T(1 / sd)
		}
		for k := 0; k < m; k++ {
			at[i*m+k] *= s
		}
	}
}

// cvRNG is OpenCV's multiply-with-carry generator (cv::RNG).
type cvRNG uint64

func (r *cvRNG) next() uint32 {
	*r = cvRNG(uint64(uint32(*r))*4164903690 + (uint64(*r) >> 32))
	return uint32(*r)
}
