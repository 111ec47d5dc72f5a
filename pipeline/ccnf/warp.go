package ccnf

import (
	"image"
	"math"
)

// Fixed-point constants of OpenCV's warpAffine (imgwarp.cpp): coordinates
// in 1/1024 units, bilinear weights on a 1/32 grid.
const (
	abBits      = 10
	abScale     = 1 << abBits
	interBits   = 5
	interTab    = 1 << interBits
	roundDelta  = abScale / interTab / 2
	interMask   = interTab - 1
	coordShift  = abBits - interBits
	maxInt32F   = math.MaxInt32
	minInt32F   = math.MinInt32
	maxShortVal = math.MaxInt16
	minShortVal = math.MinInt16
)

// cvRound is saturate_cast<int>(double): round half to even, saturating
// (OpenCV's conversion gives INT_MIN for values out of range and NaN).
func cvRound(v float64) int {
	r := math.RoundToEven(v)
	if !(r >= minInt32F && r <= maxInt32F) {
		return minInt32F
	}
	return int(r)
}

func satShort(v int) int {
	if v > maxShortVal {
		return maxShortVal
	}
	if v < minShortVal {
		return minShortVal
	}
	return v
}

// AreaOfInterest samples the aw×ah float area of interest around the
// landmark (x, y) as Patch_experts::Response does: warpAffine of the
// float image with WARP_INVERSE_MAP | INTER_LINEAR, constant border 0, and
// the matrix [[a1, −b1, tx], [b1, a1, ty]] that puts the landmark at the
// area's centre ((aw−1)/2 in both axes). a1 and b1 come from the
// reference-to-image similarity (a1 = M00, b1 = −M01). The result is
// row-major; dst is reused when it has room. Image coordinates are relative
// to img.Rect.Min.
func AreaOfInterest(img *image.Gray, x, y, a1, b1 float32, aw, ah int, dst []float32) []float32 {
	return areaOfInterest(img, x, y, a1, b1, aw, ah, dst, simd)
}

// areaOfInterest is AreaOfInterest with the SIMD kernel (fast) for the
// pixels whose taps lie inside the image, or the portable code alone.
func areaOfInterest(img *image.Gray, x, y, a1, b1 float32, aw, ah int, dst []float32, fast bool) []float32 {
	half := float32(float32(aw) - 1) // (aw − 1.0f), halved below as OpenFace does
	tx := float32(x-float32(a1*half)/2) + float32(b1*half)/2
	ty := float32(y-float32(a1*half)/2) - float32(b1*half)/2
	m := [6]float64{float64(a1), float64(-b1), float64(tx), float64(b1), float64(a1), float64(ty)}
	dst = growF(dst, aw*ah)
	warpAffineInv(img, m, aw, ah, dst, fast)
	return dst
}

// warpAffineInv is cv::warpAffine(src(float), dst, M, size,
// WARP_INVERSE_MAP | INTER_LINEAR, BORDER_CONSTANT, 0) for an 8-bit source
// whose values are converted to float: each destination pixel (u, v)
// samples src at (M00·u + M01·v + M02, M10·u + M11·v + M12), the
// coordinates quantised as OpenCV's fixed-point blockline does and the four
// taps weighted by float products of 1/32 fractions, summed in OpenCV's
// order. Taps outside the image count as 0.
func warpAffineInv(img *image.Gray, m [6]float64, w, h int, dst []float32, fast bool) {
	sw, sh := img.Rect.Dx(), img.Rect.Dy()
	pix, stride := img.Pix, img.Stride
	// The per-column terms do not depend on the row; OpenCV computes them
	// once too (adelta, bdelta). The kernel takes them as 32-bit ints,
	// which is all the sums below keep of them.
	var buf [2 * 128]int32
	delta := buf[:]
	if 2*w > len(buf) {
		delta = make([]int32, 2*w)
	}
	adelta, bdelta := delta[:w], delta[w:2*w]
	for u := range adelta {
		adelta[u] = int32(cvRound(m[0] * float64(u) * abScale))
		bdelta[u] = int32(cvRound(m[3] * float64(u) * abScale))
	}
	// The kernel's four-byte tap loads must stay inside pix and its
	// offsets inside int32; with sides below 2^15 its bounds test on the
	// unsaturated source pixel is satShort's.
	maxOff := len(pix) - 4 - stride
	fast = fast && simd && w >= 8 && sw < 1<<15 && sh < 1<<15 && len(pix) < 1<<31-1
	for v := 0; v < h; v++ {
		x0 := cvRound((m[1]*float64(v)+m[2])*abScale) + roundDelta
		y0 := cvRound((m[4]*float64(v)+m[5])*abScale) + roundDelta
		row := dst[v*w : (v+1)*w]
		for u := 0; u < w; {
			if fast && w-u >= 8 {
				u += warpRow(&row[u], &pix[0], &adelta[u], &bdelta[u], x0, y0, (w-u)&^7, stride, sw, sh, maxOff)
			}
			if fast && u < w && w-u < 8 && u > 0 {
				// The last pixels as the row's last eight, some of them
				// computed again (to the same values).
				if warpRow(&row[w-8], &pix[0], &adelta[w-8], &bdelta[w-8], x0, y0, 8, stride, sw, sh, maxOff) == 8 {
					break
				}
			}
			// A group of eight the kernel left, or the last pixels.
			end := min(u+8, w)
			for ; u < end; u++ {
				row[u] = warpPixel(pix, stride, sw, sh, x0+int(adelta[u]), y0+int(bdelta[u]))
			}
		}
	}
}

// warpPixel is one destination pixel of warpAffineInv, whose fixed-point
// source coordinates (before the shift by coordShift) are x and y.
func warpPixel(pix []byte, stride, sw, sh, x, y int) float32 {
	// int arithmetic wraps like OpenCV's 32-bit ints.
	xx := int(int32(x)) >> coordShift
	yy := int(int32(y)) >> coordShift
	sx, sy := satShort(xx>>interBits), satShort(yy>>interBits)
	wt := &bilinearTab[(yy&interMask)*interTab+xx&interMask]
	var p00, p01, p10, p11 float32
	if sx >= 0 && sy >= 0 && sx+1 < sw && sy+1 < sh {
		o := sy*stride + sx
		p00, p01 = float32(pix[o]), float32(pix[o+1])
		p10, p11 = float32(pix[o+stride]), float32(pix[o+stride+1])
	} else {
		if sx >= sw || sx+1 < 0 || sy >= sh || sy+1 < 0 {
			return 0
		}
		at := func(sx, sy int) float32 {
			if sx < 0 || sy < 0 || sx >= sw || sy >= sh {
				return 0
			}
			return float32(pix[sy*stride+sx])
		}
		p00, p01, p10, p11 = at(sx, sy), at(sx+1, sy), at(sx, sy+1), at(sx+1, sy+1)
	}
	return float32(float32(float32(p00*wt[0])+float32(p01*wt[1]))+float32(p10*wt[2])) + float32(p11*wt[3])
}

// bilinearTab holds bilinearWeights for every pair of fractions, at
// fy·interTab + fx. It is filled once and only read.
var bilinearTab = func() (t [interTab * interTab][4]float32) {
	for fy := 0; fy < interTab; fy++ {
		for fx := 0; fx < interTab; fx++ {
			w0, w1, w2, w3 := bilinearWeights(fx, fy)
			t[fy*interTab+fx] = [4]float32{w0, w1, w2, w3}
		}
	}
	return t
}()

// bilinearWeights returns OpenCV's float BilinearTab_f entry for the 1/32
// fractions fx, fy: (1−ty)(1−tx), (1−ty)tx, ty(1−tx), ty·tx (exact).
func bilinearWeights(fx, fy int) (w0, w1, w2, w3 float32) {
	tx := float32(fx) * (1.0 / interTab)
	ty := float32(fy) * (1.0 / interTab)
	return (1 - ty) * (1 - tx), (1 - ty) * tx, ty * (1 - tx), ty * tx
}
