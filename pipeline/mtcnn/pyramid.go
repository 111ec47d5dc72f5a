package mtcnn

import (
	"fmt"
	"math"
	"math/big"
)

// pnetSupport is the side of the window one PNet output cell covers.
const pnetSupport = 12

// level is one pyramid level: the scale from the image to the level, the
// level size, and the PNet output map size the networks must produce.
type level struct {
	scale      float64
	w, h       int
	mapW, mapH int
}

// pyramid returns OpenFace's pyramid for a w×h image. The number of levels
// is floor(log(minFace/minSide)/log(factor))+1; zero or fewer is
// ErrImageTooSmall (OpenFace finds nothing, or throws on the negative
// count). Level i has scale (12/minFace)·factor^i and size
// ceil(w·scale)×ceil(h·scale).
func pyramid(w, h int, opt Options) ([]level, error) {
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("%w: empty %dx%d image", ErrImageTooSmall, w, h)
	}
	minSide := min(w, h)
	n := int(math.Floor(math.Log(opt.MinFace/float64(minSide))/math.Log(opt.Factor))) + 1
	if n <= 0 {
		return nil, fmt.Errorf("%w: %dx%d image, smaller side %d px with minimum face %g px", ErrImageTooSmall, w, h, minSide, opt.MinFace)
	}
	base := float64(pnetSupport) / opt.MinFace
	levels := make([]level, 0, n)
	for i := 0; i < n; i++ {
		s := base * powInt(opt.Factor, i)
		lw, lh := int(math.Ceil(float64(w)*s)), int(math.Ceil(float64(h)*s))
		mw, mh := pnetMapSize(lw), pnetMapSize(lh)
		if mw <= 0 || mh <= 0 {
			return nil, fmt.Errorf("%w: pyramid level %d is %dx%d, below the %d px PNet window", ErrImageTooSmall, i, lw, lh, pnetSupport)
		}
		levels = append(levels, level{scale: s, w: lw, h: lh, mapW: mw, mapH: mh})
	}
	return levels, nil
}

// powInt returns b^n correctly rounded to float64. OpenFace uses glibc's
// pow, which is correctly rounded for these arguments, while Go's math.Pow
// multiplies step by step and is off by an ulp for some n (0.709^5), enough
// to move a ceil() level size.
func powInt(b float64, n int) float64 {
	const prec = 64 * 40
	x := new(big.Float).SetPrec(prec).SetFloat64(b)
	r := new(big.Float).SetPrec(prec).SetFloat64(1)
	for i := 0; i < n; i++ {
		r.Mul(r, x)
	}
	f, _ := r.Float64()
	return f
}

// pnetMapSize is the PNet output size along one axis for an input of n
// pixels: 3×3 conv, 2×2/2 max-pool with OpenFace's round((n−k)/s)+1 output
// size, then two 3×3 convs.
func pnetMapSize(n int) int {
	n -= 2
	if n < 2 {
		return 0
	}
	n = int(math.Round(float64(float32(n-2)/2))) + 1
	return n - 4
}
