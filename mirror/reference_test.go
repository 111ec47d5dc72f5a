package mirror

// This file freezes the implementation of Mirror and MirrorBoth as it was
// before their inner loops were rewritten for speed, so that
// TestMatchesReference can hold the fast code to the exact bytes of the
// straightforward one. It is not meant to change: if the definition of the
// mirrored picture ever changes on purpose, replace it wholesale.

import (
	"encoding/binary"
	"fmt"
	"math"
)

// BlendWidth is the width, in pixels, of the band across the midline over
// which the kept half and the reflection are blended (see doc.go).
const refBlendWidth = 8

// Fixed-point formats (see doc.go for why and the rounding).
const (
	// fracBits is the number of fractional bits of coordinates and signed
	// distances while they are stepped along a row.
	refFracBits = 32
	// subBits is the number of fractional bits of a sampling position:
	// bilinear weights are multiples of 1/256.
	refSubBits = 8
	// blendShift turns a signed distance (fracBits) into blend-weight units
	// of 1/256: the weight changes by 256/BlendWidth = 32 = 1<<5 per pixel.
	refBlendShift = refFracBits - 5
	// maxOffset bounds the distance of the midline from pixel (0, 0), so
	// that fixed-point coordinates cannot overflow.
	refMaxOffset = 1 << 24
)

// reflection is the reflection across one midline in fixed point: the signed
// distance s and the source position q of pixel (x, y) are affine in x and
// y, with coefficients in units of 2^-fracBits.
type refReflection struct {
	s0, sx, sy    int64 // s  = s0 + x·sx + y·sy
	qx0, qxx, qxy int64 // qx = qx0 + x·qxx + y·qxy
	qy0, qyx, qyy int64 // qy = qy0 + x·qyx + y·qyy
}

func refToFixed(v float64) int64 { return int64(math.Round(v * (1 << refFracBits))) }

// newReflection computes the fixed-point reflection across l. The float64
// products are wrapped in float64() so that no platform fuses them into FMAs:
// the coefficients, hence all output bytes, are the same everywhere.
func refNewReflection(l Line) (refReflection, error) {
	if !l.finite() {
		return refReflection{}, fmt.Errorf("mirror: midline %+v is not finite", l)
	}
	dx, dy := l.Chin.X-l.Glabella.X, l.Chin.Y-l.Glabella.Y
	length := math.Sqrt(float64(dx*dx) + float64(dy*dy))
	if length == 0 || math.IsInf(length, 0) {
		return refReflection{}, fmt.Errorf("mirror: midline from (%g, %g) to (%g, %g) has no direction",
			l.Glabella.X, l.Glabella.Y, l.Chin.X, l.Chin.Y)
	}
	nx, ny := -dy/length, dx/length
	off := -(float64(l.Glabella.X*nx) + float64(l.Glabella.Y*ny)) // s at pixel (0, 0)
	if math.Abs(off) > refMaxOffset {
		return refReflection{}, fmt.Errorf("mirror: midline %+v passes %g px from the frame's origin (limit %d)", l, math.Abs(off), refMaxOffset)
	}
	// q = p − 2·s·n with s = off + p·n.
	return refReflection{
		s0: refToFixed(off), sx: refToFixed(nx), sy: refToFixed(ny),
		qx0: refToFixed(-2 * float64(nx*off)),
		qxx: refToFixed(1 - 2*float64(nx*nx)),
		qxy: refToFixed(-2 * float64(nx*ny)),
		qy0: refToFixed(-2 * float64(ny*off)),
		qyx: refToFixed(-2 * float64(nx*ny)),
		qyy: refToFixed(1 - 2*float64(ny*ny)),
	}, nil
}

// Mirror writes into dst (same size as src, must not overlap src) the picture
// that keeps side keep of src and fills the other half with its reflection
// across l, blended over BlendWidth pixels across the midline (doc.go gives
// the exact definition). dst may have its own Stride; its row padding is left
// alone. Mirror returns an error, and never panics, for invalid, mismatched
// or overlapping images (up to 65536 pixels a side) and for a midline that
// is not finite, has glabella == chin or passes more than 2^24 px from the
// frame.
func refMirror(dst, src Image, l Line, keep Side) error {
	if keep != Right && keep != Left {
		return fmt.Errorf("mirror: unknown side %d", int(keep))
	}
	if err := refCheckImages(src, refNamedImage{"destination", dst}); err != nil {
		return err
	}
	r, err := refNewReflection(l)
	if err != nil {
		return err
	}
	if keep == Right {
		r.mirror(&dst, nil, src)
	} else {
		r.mirror(nil, &dst, src)
	}
	return nil
}

// MirrorBoth writes both mirrored pictures of src in one pass over it: right
// keeps the patient's right half, left the left half. The bytes are exactly
// those of Mirror(right, src, l, Right) and Mirror(left, src, l, Left), and
// the conditions the same; right and left must not overlap each other
// either.
func refMirrorBoth(right, left, src Image, l Line) error {
	if err := refCheckImages(src, refNamedImage{"right", right}, refNamedImage{"left", left}); err != nil {
		return err
	}
	r, err := refNewReflection(l)
	if err != nil {
		return err
	}
	r.mirror(&right, &left, src)
	return nil
}

type refNamedImage struct {
	name string
	Image
}

// checkImages checks that src and the outputs are valid, of one size, and
// that no two of them overlap.
func refCheckImages(src Image, outs ...refNamedImage) error {
	if err := src.valid(); err != nil {
		return fmt.Errorf("mirror: source: %v", err)
	}
	if src.Width > maxSide || src.Height > maxSide {
		return fmt.Errorf("mirror: %dx%d source is larger than %d pixels a side", src.Width, src.Height, maxSide)
	}
	for i, o := range outs {
		if err := o.valid(); err != nil {
			return fmt.Errorf("mirror: %s: %v", o.name, err)
		}
		if o.Width != src.Width || o.Height != src.Height {
			return fmt.Errorf("mirror: %s is %dx%d, source is %dx%d", o.name, o.Width, o.Height, src.Width, src.Height)
		}
		if overlaps(o.Image, src) {
			return fmt.Errorf("mirror: %s overlaps the source", o.name)
		}
		for _, p := range outs[:i] {
			if overlaps(o.Image, p.Image) {
				return fmt.Errorf("mirror: %s and %s overlap", p.name, o.name)
			}
		}
	}
	return nil
}

// mirror writes the picture keeping the right half into right and the one
// keeping the left half into left; either may be nil.
//
// Each pixel's value is defined on its own (doc.go); a row is only split
// into the part well inside s >= 0, the band, and the part well inside
// s < 0 so that the parts outside the band are plain copies or plain
// reflections. The split comes from the line equation with a margin of
// 1 px, so it never changes a byte.
func (r *refReflection) mirror(right, left *Image, src Image) {
	for y := range src.Height {
		r.mirrorRow(right, left, src, y)
	}
}

// mirrorRow writes row y.
func (r *refReflection) mirrorRow(right, left *Image, src Image, y int) {
	const margin = refBlendWidth/2 + 1
	x0, x1 := 0, src.Width
	sRow := r.s0 + int64(y)*r.sy
	// The band is where |s| < margin, s = sr + x·sx.
	sr, sx := float64(sRow)/(1<<refFracBits), float64(r.sx)/(1<<refFracBits)
	lo, hi := x0, x1
	if sx == 0 {
		if math.Abs(sr) >= margin {
			lo, hi = x1, x1
		}
	} else {
		a, b := (-margin-sr)/sx, (margin-sr)/sx
		lo = refClampIndex(math.Floor(min(a, b)), x0, x1)
		hi = refClampIndex(math.Ceil(max(a, b))+1, lo, x1)
	}
	srcRow := src.Pix[y*src.Stride:]
	var rightRow, leftRow []byte
	if right != nil {
		rightRow = right.Pix[y*right.Stride:]
	}
	if left != nil {
		leftRow = left.Pix[y*left.Stride:]
	}
	for _, seg := range [...][2]int{{x0, lo}, {hi, x1}} {
		a, b := seg[0], seg[1]
		if a >= b {
			continue
		}
		// The whole segment is on the side of its first pixel: the
		// picture keeping that side copies it, the other reflects.
		keeper, reflector := rightRow, leftRow
		if sRow+int64(a)*r.sx < 0 {
			keeper, reflector = leftRow, rightRow
		}
		if keeper != nil {
			copy(keeper[3*a:3*b], srcRow[3*a:3*b])
		}
		if reflector != nil {
			r.reflectSpan(reflector, src, y, a, b)
		}
	}
	if lo < hi {
		r.blendSpan(rightRow, leftRow, src, y, lo, hi)
	}
}

// clampIndex converts a float pixel index to an int in [lo, hi] without
// overflowing on far-away values.
func refClampIndex(v float64, lo, hi int) int {
	return int(max(float64(lo), min(v, float64(hi))))
}

// shift turns a fixed-point coordinate into a sampling position in 1/256
// pixel; coordinates are stepped with half of that step added, so that the
// shift rounds half up.
const (
	refShift   = refFracBits - refSubBits
	refHalfSub = 1 << (refShift - 1)
	refOne     = 1 << refSubBits
)

// sampler reads bilinear samples of one source image at fixed-point
// coordinates (biased by halfSub), clamped to the frame.
//
// A sample is returned unrounded in units of 2^-16, with B and G in the low
// and high halves of one uint64 and R in another: the sums of four taps
// weighted (256−fx)(256−fy), fx(256−fy), (256−fx)fy and fx·fy.
type refSampler struct {
	pix                   []byte
	width, height, stride int
}

func refNewSampler(src Image) refSampler {
	return refSampler{src.Pix, src.Width, src.Height, src.Stride}
}

// at returns the sample at (qx, qy).
func (s refSampler) at(qx, qy int64) (bg, red uint64) {
	if s.width < 2 || s.height < 2 {
		return s.atThin(qx, qy)
	}
	i, fx, fy := s.footprint(qx, qy)
	return s.mix(i, fx, fy)
}

// footprint returns the byte offset of the top-left tap and the fractions
// (in 1/256) of the sampling position at (qx, qy), for frames of at least
// 2×2 pixels. The position is clamped to [0, width−1] × [0, height−1],
// which replicates the edge pixels; at the last column or row, the tap
// before it is used with fraction 256 instead of the last with fraction 0,
// which is the same sum and keeps all four taps inside the frame.
func (s refSampler) footprint(qx, qy int64) (i int, fx, fy uint64) {
	px := min(max(qx>>refShift, 0), int64(s.width-1)<<refSubBits)
	py := min(max(qy>>refShift, 0), int64(s.height-1)<<refSubBits)
	ix := min(px>>refSubBits, int64(s.width-2))
	iy := min(py>>refSubBits, int64(s.height-2))
	return int(iy)*s.stride + 3*int(ix), uint64(px - ix<<refSubBits), uint64(py - iy<<refSubBits)
}

// mix returns the bilinear sum of the 2×2 taps from byte offset i. It
// computes the three channels at once: the horizontal lerps in 16-bit lanes
// of a uint64 (B, R, G at bits 0, 16, 32), the vertical one in 32-bit lanes.
// Lanes may borrow from each other in between, but every final lane value
// fits its lane, so the packed results are exact.
func (s refSampler) mix(i int, fx, fy uint64) (bg, red uint64) {
	// The top two taps, and the bottom two read from two bytes earlier,
	// which keeps the 8-byte loads inside Pix even at the frame's last
	// pixel (footprint never points at the last column or row).
	top := refHlerp(binary.LittleEndian.Uint64(s.pix[i:i+8]), fx)
	bottom := refHlerp(binary.LittleEndian.Uint64(s.pix[i+s.stride-2:i+s.stride+6])>>16, fx)
	bg, bgBottom := top&0xFFFF_0000_FFFF, bottom&0xFFFF_0000_FFFF
	red, redBottom := top>>16&0xFFFF, bottom>>16&0xFFFF
	return bg<<refSubBits + (bgBottom-bg)*fy, red<<refSubBits + (redBottom-red)*fy
}

// hlerp mixes the two pixels in the low six bytes of p (B, G, R, B, G, R)
// with fraction fx in 1/256 (up to 256 inclusive), returning a·(256−fx) +
// b·fx for each channel in 16-bit lanes: B at bit 0, R at 16, G at 32.
func refHlerp(p, fx uint64) uint64 {
	a := p&0xFF00FF | p<<24&0xFF_0000_0000
	b := p>>24&0xFF00FF | p&0xFF_0000_0000
	return a<<refSubBits + (b-a)*fx
}

// atThin is at for frames one pixel wide or high, where the taps beyond
// the single column or row are the edge pixels themselves (fraction 0).
func (s refSampler) atThin(qx, qy int64) (bg, red uint64) {
	px := min(max(qx>>refShift, 0), int64(s.width-1)<<refSubBits)
	py := min(max(qy>>refShift, 0), int64(s.height-1)<<refSubBits)
	ix, fx := int(px>>refSubBits), uint64(px&(refOne-1))
	iy, fy := int(py>>refSubBits), uint64(py&(refOne-1))
	right, down := 3, s.stride
	if ix == s.width-1 {
		right = 0
	}
	if iy == s.height-1 {
		down = 0
	}
	p := s.pix[iy*s.stride+3*ix:]
	var v [3]uint64
	for c := range v {
		top := uint64(p[c])*(refOne-fx) + uint64(p[right+c])*fx
		bottom := uint64(p[down+c])*(refOne-fx) + uint64(p[down+right+c])*fx
		v[c] = top*(refOne-fy) + bottom*fy
	}
	return v[0] | v[1]<<32, v[2]
}

// reflectSpan writes the reflection into pixels [x0, x1) of row y of out.
func (r *refReflection) reflectSpan(out []byte, src Image, y, x0, x1 int) {
	qx := r.qx0 + int64(y)*r.qxy + int64(x0)*r.qxx + refHalfSub
	qy := r.qy0 + int64(y)*r.qyy + int64(x0)*r.qyx + refHalfSub
	s := refNewSampler(src)
	if s.width < 2 || s.height < 2 {
		r.reflectEdge(out, s, qx, qy, x0, x1)
		return
	}
	// Most pixels need no clamping: run them through the faster loop.
	a, b := r.interior(s, qx, qy, x0, x1)
	pos := func(x int) (int64, int64) { return qx + int64(x-x0)*r.qxx, qy + int64(x-x0)*r.qyx }
	r.reflectEdge(out, s, qx, qy, x0, a)
	ax, ay := pos(a)
	r.reflectRun(out, s, ax, ay, a, b)
	bx, by := pos(b)
	r.reflectEdge(out, s, bx, by, b, x1)
}

// interior returns the pixels [a, b) of [x0, x1) whose sampling positions
// (qx, qy at x0) need no clamping. The position is affine in x, so they
// form an interval: it is estimated in float64 and its ends checked
// exactly.
func (r *refReflection) interior(s refSampler, qx, qy int64, x0, x1 int) (a, b int) {
	lo, hi := float64(x0), float64(x1-1)
	for _, c := range [2]struct {
		q, d int64
		size int
	}{{qx, r.qxx, s.width}, {qy, r.qyx, s.height}} {
		// Unclamped means 0 <= (q + k·d)>>shift < (size−1)·256.
		qmax := float64(int64(c.size-1) << refFracBits)
		q, d := float64(c.q), float64(c.d)
		if d == 0 {
			if q < 0 || q >= qmax {
				return x0, x0
			}
			continue
		}
		k1, k2 := -q/d, (qmax-q)/d
		lo = max(lo, float64(x0)+math.Ceil(min(k1, k2)))
		hi = min(hi, float64(x0)+math.Floor(max(k1, k2)))
	}
	if lo > hi {
		return x0, x0
	}
	a, b = int(lo), int(hi)+1
	inside := func(x int) bool {
		k := int64(x - x0)
		px, py := (qx+k*r.qxx)>>refShift, (qy+k*r.qyx)>>refShift
		return px >= 0 && px < int64(s.width-1)<<refSubBits && py >= 0 && py < int64(s.height-1)<<refSubBits
	}
	for a < b && !inside(a) {
		a++
	}
	for b > a && !inside(b-1) {
		b--
	}
	return a, b
}

// reflectRun is the hot loop of Mirror: s.at() inlined by hand for pixels
// [x0, x1) of out, starting at (qx, qy), with the sampler's fields in
// locals so that they stay in registers. The caller guarantees that no
// position needs clamping; reflectEdge is the same with clamping.
func (r *refReflection) reflectRun(out []byte, s refSampler, qx, qy int64, x0, x1 int) {
	const round = 1<<15 | 1<<47 // half of 2^16 in both halves
	pix, stride := s.pix, s.stride
	dx, dy := r.qxx, r.qyx
	out = out[3*x0 : 3*x1]
	for j := 0; j+3 <= len(out); j += 3 {
		px, py := qx>>refShift, qy>>refShift
		qx += dx
		qy += dy
		fx, fy := uint64(px)&(refOne-1), uint64(py)&(refOne-1)
		i := int(py>>refSubBits)*stride + 3*int(px>>refSubBits)
		top := refHlerp(binary.LittleEndian.Uint64(pix[i:i+8]), fx)
		bottom := refHlerp(binary.LittleEndian.Uint64(pix[i+stride-2:i+stride+6])>>16, fx)
		bg, bgBottom := top&0xFFFF_0000_FFFF, bottom&0xFFFF_0000_FFFF
		red, redBottom := top>>16&0xFFFF, bottom>>16&0xFFFF
		bg = bg<<refSubBits + (bgBottom-bg)*fy + round
		red = red<<refSubBits + (redBottom-red)*fy + round
		o := out[j : j+3 : j+3]
		o[0] = byte(bg >> 16)
		o[1] = byte(bg >> 48)
		o[2] = byte(red >> 16)
	}
}

// reflectEdge writes pixels [x0, x1) of out, starting at (qx, qy), whose
// positions may need clamping: reflectRun with s.footprint's clamping.
func (r *refReflection) reflectEdge(out []byte, s refSampler, qx, qy int64, x0, x1 int) {
	const round = 1<<15 | 1<<47
	if s.width < 2 || s.height < 2 {
		for x := x0; x < x1; x++ {
			bg, red := s.atThin(qx, qy)
			bg, red = bg+round, red+round
			out[3*x], out[3*x+1], out[3*x+2] = byte(bg>>16), byte(bg>>48), byte(red>>16)
			qx += r.qxx
			qy += r.qyx
		}
		return
	}
	pix, stride := s.pix, s.stride
	pxMax, pyMax := int64(s.width-1)<<refSubBits, int64(s.height-1)<<refSubBits
	ixMax, iyMax := int64(s.width-2), int64(s.height-2)
	out = out[3*x0 : 3*x1]
	for j := 0; j+3 <= len(out); j += 3 {
		px, py := min(max(qx>>refShift, 0), pxMax), min(max(qy>>refShift, 0), pyMax)
		qx += r.qxx
		qy += r.qyx
		ix, iy := min(px>>refSubBits, ixMax), min(py>>refSubBits, iyMax)
		fx, fy := uint64(px-ix<<refSubBits), uint64(py-iy<<refSubBits)
		i := int(iy)*stride + 3*int(ix)
		top := refHlerp(binary.LittleEndian.Uint64(pix[i:i+8]), fx)
		bottom := refHlerp(binary.LittleEndian.Uint64(pix[i+stride-2:i+stride+6])>>16, fx)
		bg, bgBottom := top&0xFFFF_0000_FFFF, bottom&0xFFFF_0000_FFFF
		red, redBottom := top>>16&0xFFFF, bottom>>16&0xFFFF
		bg = bg<<refSubBits + (bgBottom-bg)*fy + round
		red = red<<refSubBits + (redBottom-red)*fy + round
		o := out[j : j+3 : j+3]
		o[0] = byte(bg >> 16)
		o[1] = byte(bg >> 48)
		o[2] = byte(red >> 16)
	}
}

// blendSpan writes pixels [x0, x1) of row y, which may lie in the band, into
// right and left (either may be nil) by the full per-pixel definition.
func (r *refReflection) blendSpan(right, left []byte, src Image, y, x0, x1 int) {
	sd := r.s0 + int64(y)*r.sy + int64(x0)*r.sx
	qx := r.qx0 + int64(y)*r.qxy + int64(x0)*r.qxx + refHalfSub
	qy := r.qy0 + int64(y)*r.qyy + int64(x0)*r.qyx + refHalfSub
	s := refNewSampler(src)
	orig := src.Pix[y*src.Stride:]
	for x := x0; x < x1; x++ {
		a := refBlendWeight(sd)
		bg, red := s.at(qx, qy)
		v := [3]uint64{bg & 0xFFFF_FFFF, bg >> 32, red}
		for c := range 3 {
			o, i := uint64(orig[3*x+c]), 3*x+c
			if right != nil {
				right[i] = refBlend(o, v[c], a)
			}
			if left != nil {
				left[i] = refBlend(o, v[c], 256-a)
			}
		}
		sd += r.sx
		qx += r.qxx
		qy += r.qyx
	}
}

// blendWeight returns the weight, in 1/256, of the original pixel in the
// picture that keeps the right half, at signed distance s (fixed point):
// 1/2 + s/BlendWidth rounded half up, clamped to [0, 1]. The picture that
// keeps the left half uses 256 minus it, so the two are symmetric.
func refBlendWeight(s int64) uint64 {
	a := 128 + (s+1<<(refBlendShift-1))>>refBlendShift
	return uint64(max(0, min(a, 256)))
}

// blend mixes the original value o with the unrounded reflected value v
// (units of 2^-16) with weight a/256 on o, rounding once, half up.
func refBlend(o, v, a uint64) byte {
	return byte((a*o<<16 + (256-a)*v + 1<<23) >> 24)
}
