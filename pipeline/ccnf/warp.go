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
	half := float32(float32(aw) - 1) // (aw − 1.0f), halved below as OpenFace does
	tx := float32(x-float32(a1*half)/2) + float32(b1*half)/2
	ty := float32(y-float32(a1*half)/2) - float32(b1*half)/2
	m := [6]float64{float64(a1), float64(-b1), float64(tx), float64(b1), float64(a1), float64(ty)}
	dst = growF(dst, aw*ah)
	warpAffineInv(img, m, aw, ah, dst)
	return dst
}

// warpAffineInv is cv::warpAffine(src(float), dst, M, size,
// WARP_INVERSE_MAP | INTER_LINEAR, BORDER_CONSTANT, 0) for an 8-bit source
// whose values are converted to float: each destination pixel (u, v)
// samples src at (M00·u + M01·v + M02, M10·u + M11·v + M12), the
// coordinates quantised as OpenCV's fixed-point blockline does and the four
// taps weighted by float products of 1/32 fractions, summed in OpenCV's
// order. Taps outside the image count as 0.
func warpAffineInv(img *image.Gray, m [6]float64, w, h int, dst []float32) {
	sw, sh := img.Rect.Dx(), img.Rect.Dy()
	pix, stride := img.Pix, img.Stride
	at := func(sx, sy int) float32 {
		if sx < 0 || sy < 0 || sx >= sw || sy >= sh {
			return 0
		}
		return float32(pix[sy*stride+sx])
	}
	for v := 0; v < h; v++ {
		x0 := cvRound((m[1]*float64(v)+m[2])*abScale) + roundDelta
		y0 := cvRound((m[4]*float64(v)+m[5])*abScale) + roundDelta
		row := dst[v*w : (v+1)*w]
		for u := range row {
			// int arithmetic wraps like OpenCV's 32-bit ints.
			xx := int(int32(x0+cvRound(m[0]*float64(u)*abScale))) >> coordShift
			yy := int(int32(y0+cvRound(m[3]*float64(u)*abScale))) >> coordShift
			sx, sy := satShort(xx>>interBits), satShort(yy>>interBits)
			fx, fy := xx&interMask, yy&interMask
			w0, w1, w2, w3 := bilinearWeights(fx, fy)
			var p00, p01, p10, p11 float32
			if sx >= 0 && sy >= 0 && sx+1 < sw && sy+1 < sh {
				o := sy*stride + sx
				p00, p01 = float32(pix[o]), float32(pix[o+1])
				p10, p11 = float32(pix[o+stride]), float32(pix[o+stride+1])
			} else {
				if sx >= sw || sx+1 < 0 || sy >= sh || sy+1 < 0 {
					row[u] = 0
					continue
				}
				p00, p01, p10, p11 = at(sx, sy), at(sx+1, sy), at(sx, sy+1), at(sx+1, sy+1)
			}
			row[u] = float32(float32(float32(p00*w0)+float32(p01*w1))+float32(p10*w2)) + float32(p11*w3)
		}
	}
}

// bilinearWeights returns OpenCV's float BilinearTab_f entry for the 1/32
// fractions fx, fy: (1−ty)(1−tx), (1−ty)tx, ty(1−tx), ty·tx (exact).
func bilinearWeights(fx, fy int) (w0, w1, w2, w3 float32) {
	tx := float32(fx) * (1.0 / interTab)
	ty := float32(fy) * (1.0 / interTab)
	return (1 - ty) * (1 - tx), (1 - ty) * tx, ty * (1 - tx), ty * tx
}
