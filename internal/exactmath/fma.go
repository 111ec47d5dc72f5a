package exactmath

import "math"

// Bit patterns of the fast test in needsFix: the 29 low mantissa bits of a
// float64 that lies exactly halfway between two normal float32 values, and
// the smallest float64 exponent field of a normal float32.
const (
	tieMask     = 1<<29 - 1
	tieBits     = 1 << 28
	expMask     = 0x7ff0000000000000
	minNormal32 = 0x3810000000000000
)

// FMA32 returns a·b + c rounded once to float32, as a hardware float32
// fused multiply-add (the instructions of OpenBLAS's kernels and of
// OpenCV's SIMD loops on the reference machine) computes it.
//
// The product of two float32 values is exact in float64, so the float64
// sum is the exact result rounded once (whether or not the compiler fuses
// it); rounding that to float32 differs from a single rounding only when
// the float64 sum lies exactly halfway between two float32 values or in
// float32's subnormal range, which a slow path settles from the sum's
// exact rounding error.
func FMA32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	if needsFix(s) {
		return fmaSlow(p, float64(c), s)
	}
	return float32(s)
}

// needsFix reports whether the float64 sum s might round to float32
// differently from the exact sum it approximates: s is a float32 halfway
// point, or it is non-zero and below float32's normal range, where the
// halfway test does not apply.
func needsFix(s float64) bool {
	b := math.Float64bits(s)
	return b&tieMask == tieBits || (b&expMask < minNormal32 && b<<1 != 0)
}

// fmaSlow rounds the exact sum p + c (p an exact float64 product of two
// float32 values, s the float64 rounding of the sum) to float32.
func fmaSlow(p, c, s float64) float32 {
	f := float32(s)
	if float64(f) == s || math.IsInf(s, 0) || math.IsNaN(s) {
		return f
	}
	lo, hi := f, f
	if float64(f) < s {
		hi = math.Nextafter32(f, float32(math.Inf(1)))
	} else {
		lo = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	if s != (float64(lo)+float64(hi))/2 {
		return f
	}
	// s is halfway: the sign of the rounding error of s = p + c (TwoSum)
	// tells on which side the exact sum lies.
	bv := s - p
	e := (p - (s - bv)) + (c - bv)
	switch {
	case e > 0:
		return hi
	case e < 0:
		return lo
	}
	return f
}
