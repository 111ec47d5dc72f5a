package video

import (
	"math"
	"math/big"
	"strconv"
)

// Rational is an exact frame rate, Num/Den frames per second, as FFmpeg
// stores it (30000/1001 for NTSC 29.97, 24000/1001 for 23.976). The zero
// value and 0/1 mean "no frame rate" (still images).
type Rational struct {
	Num, Den int64
}

// String formats r as "Num/Den", e.g. "30000/1001".
func (r Rational) String() string {
	den := r.Den
	if den == 0 {
		den = 1
	}
	return strconv.FormatInt(r.Num, 10) + "/" + strconv.FormatInt(den, 10)
}

// Float returns Num/Den as a float64, or 0 when Den is 0. For a rate
// recovered by rationalFromFPS it is bit-identical to OpenCV's
// CAP_PROP_FPS.
func (r Rational) Float() float64 {
	if r.Den == 0 {
		return 0
	}
	return float64(r.Num) / float64(r.Den)
}

// maxRationalTerm bounds numerator and denominator: FFmpeg keeps frame rates
// as AVRational, two C ints reduced with av_reduce(..., INT_MAX).
const maxRationalTerm = math.MaxInt32

// rationalFromFPS recovers the exact rational behind OpenCV's CAP_PROP_FPS.
//
// OpenCV's FFmpeg backend returns the stream's average frame rate as
// (double)num/(double)den. Two different reduced fractions whose
// denominators stay below about 10^7 are further apart than one unit in the
// last place of such a double, so the fraction FFmpeg held is the convergent
// of the double's continued fraction with the smallest denominator whose
// IEEE quotient reproduces the double bit for bit. The expansion is done on
// the double's exact binary value (math/big), so no rounding creeps in.
// A non-positive or non-finite value gives 0/1.
func rationalFromFPS(fps float64) Rational {
	if !(fps > 0) || math.IsInf(fps, 0) {
		return Rational{0, 1}
	}
	x := new(big.Rat).SetFloat64(fps)
	if x == nil {
		return Rational{0, 1}
	}
	// Convergents h/k of x: h(-1)=1, h(-2)=0, k(-1)=0, k(-2)=1.
	hPrev, h := big.NewInt(0), big.NewInt(1)
	kPrev, k := big.NewInt(1), big.NewInt(0)
	num := new(big.Int).Set(x.Num())
	den := new(big.Int).Set(x.Denom())
	best := Rational{0, 1}
	for den.Sign() != 0 {
		a, rem := new(big.Int).QuoRem(num, den, new(big.Int))
		hNext := new(big.Int).Add(new(big.Int).Mul(a, h), hPrev)
		kNext := new(big.Int).Add(new(big.Int).Mul(a, k), kPrev)
		if !hNext.IsInt64() || !kNext.IsInt64() || hNext.Int64() > maxRationalTerm || kNext.Int64() > maxRationalTerm {
			break
		}
		hPrev, h = h, hNext
		kPrev, k = k, kNext
		best = Rational{h.Int64(), k.Int64()}
		if best.Float() == fps {
			return best
		}
		num, den = den, rem
	}
	// Only a rate FFmpeg could not have produced ends here; the closest
	// convergent within AVRational's range is the honest answer.
	if best.Den == 0 {
		return Rational{0, 1}
	}
	return best
}
