package mirror

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"unsafe"
)

// Side names the patient's half that a mirrored picture keeps.
type Side int

const (
	// Right is the patient's anatomical right: the image's left when the
	// face is upright and facing the camera, where the signed distance s
	// from the midline is >= 0.
	Right Side = iota
	// Left is the patient's anatomical left, where s < 0.
	Left
)

// String returns "right" or "left".
func (s Side) String() string {
	switch s {
	case Right:
		return "right"
	case Left:
		return "left"
	}
	return fmt.Sprintf("Side(%d)", int(s))
}

// BlendWidth is the width, in pixels, of the band across the midline over
// which the kept half and the reflection are blended (see doc.go).
const BlendWidth = 8

// Fixed-point formats (see doc.go for why and the rounding).
const (
	// fracBits is the number of fractional bits of coordinates and signed
	// distances while they are stepped along a row.
	fracBits = 32
	// subBits is the number of fractional bits of a sampling position:
	// bilinear weights are multiples of 1/256.
	subBits = 8
	// blendShift turns a signed distance (fracBits) into blend-weight units
	// of 1/256: the weight changes by 256/BlendWidth = 32 = 1<<5 per pixel.
	blendShift = fracBits - 5
	// maxOffset bounds the distance of the midline from pixel (0, 0), so
	// that fixed-point coordinates cannot overflow.
	maxOffset = 1 << 24
)

// reflection is the reflection across one midline in fixed point: the signed
// distance s and the source position q of pixel (x, y) are affine in x and
// y, with coefficients in units of 2^-fracBits.
type reflection struct {
	s0, sx, sy    int64 // s  = s0 + x·sx + y·sy
	qx0, qxx, qxy int64 // qx = qx0 + x·qxx + y·qxy
	qy0, qyx, qyy int64 // qy = qy0 + x·qyx + y·qyy
}

func toFixed(v float64) int64 { return int64(math.Round(v * (1 << fracBits))) }

// newReflection computes the fixed-point reflection across l. The float64
// products are wrapped in float64() so that no platform fuses them into FMAs:
// the coefficients, hence all output bytes, are the same everywhere.
func newReflection(l Line) (reflection, error) {
	if !l.finite() {
		return reflection{}, fmt.Errorf("mirror: midline %+v is not finite", l)
	}
	dx, dy := l.Chin.X-l.Glabella.X, l.Chin.Y-l.Glabella.Y
	length := math.Sqrt(float64(dx*dx) + float64(dy*dy))
	if length == 0 || math.IsInf(length, 0) {
		return reflection{}, fmt.Errorf("mirror: midline from (%g, %g) to (%g, %g) has no direction",
			l.Glabella.X, l.Glabella.Y, l.Chin.X, l.Chin.Y)
	}
	nx, ny := -dy/length, dx/length
	off := -(float64(l.Glabella.X*nx) + float64(l.Glabella.Y*ny)) // s at pixel (0, 0)
	if math.Abs(off) > maxOffset {
		return reflection{}, fmt.Errorf("mirror: midline %+v passes %g px from the frame's origin (limit %d)", l, math.Abs(off), maxOffset)
	}
	// q = p − 2·s·n with s = off + p·n.
	return reflection{
		s0: toFixed(off), sx: toFixed(nx), sy: toFixed(ny),
		qx0: toFixed(-2 * float64(nx*off)),
		qxx: toFixed(1 - 2*float64(nx*nx)),
		qxy: toFixed(-2 * float64(nx*ny)),
		qy0: toFixed(-2 * float64(ny*off)),
		qyx: toFixed(-2 * float64(nx*ny)),
		qyy: toFixed(1 - 2*float64(ny*ny)),
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
func Mirror(dst, src Image, l Line, keep Side) error {
	if keep != Right && keep != Left {
		return fmt.Errorf("mirror: unknown side %d", int(keep))
	}
	if err := checkImages(src, namedImage{"destination", dst}); err != nil {
		return err
	}
	r, err := newReflection(l)
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
func MirrorBoth(right, left, src Image, l Line) error {
	if err := checkImages(src, namedImage{"right", right}, namedImage{"left", left}); err != nil {
		return err
	}
	r, err := newReflection(l)
	if err != nil {
		return err
	}
	r.mirror(&right, &left, src)
	return nil
}

type namedImage struct {
	name string
	Image
}

// checkImages checks that src and the outputs are valid, of one size, and
// that no two of them overlap.
func checkImages(src Image, outs ...namedImage) error {
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
// reflections. The split comes from the line equation in float64, with a
// margin of 1/8 px beyond the BlendWidth/2 at which the blend weight is
// saturated, far more than the float64 error, so it never changes a byte.
func (r *reflection) mirror(right, left *Image, src Image) {
	for y := range src.Height {
		r.mirrorRow(right, left, src, y)
	}
}

// mirrorRow writes row y.
func (r *reflection) mirrorRow(right, left *Image, src Image, y int) {
	const margin = BlendWidth/2 + 1.0/8
	x0, x1 := 0, src.Width
	sRow := r.s0 + int64(y)*r.sy
	// The band is where |s| < margin, s = sr + x·sx.
	sr, sx := float64(sRow)/(1<<fracBits), float64(r.sx)/(1<<fracBits)
	lo, hi := x0, x1
	if sx == 0 {
		if math.Abs(sr) >= margin {
			lo, hi = x1, x1
		}
	} else {
		a, b := (-margin-sr)/sx, (margin-sr)/sx
		lo = clampIndex(math.Floor(min(a, b)), x0, x1)
		hi = clampIndex(math.Ceil(max(a, b))+1, lo, x1)
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
func clampIndex(v float64, lo, hi int) int {
	return int(max(float64(lo), min(v, float64(hi))))
}

// shift turns a fixed-point coordinate into a sampling position in 1/256
// pixel; coordinates are stepped with half of that step added, so that the
// shift rounds half up.
const (
	shift   = fracBits - subBits
	halfSub = 1 << (shift - 1)
	one     = 1 << subBits
)

// The bilinear sum S of one channel (doc.go) is computed with two integer
// multiplications, one per source row, without unpacking the taps:
//
//   - The channel of two horizontally adjacent BGR pixels is bytes 0 and 3
//     of the four bytes from the first one's channel; masked with pairMask,
//     that is P = left + right·2^24.
//   - With k = fx + (256−fx)·2^24 and the row weights tw = (256−fy)·k and
//     bw = fy·k, Pt·tw + Pb·bw = V·k where V = vl + vr·2^24 holds the two
//     columns' vertical mixes (each below 2^16). Then
//     V·k = vl·fx + (vl·(256−fx) + vr·fx)·2^24 + vr·(256−fx)·2^48, whose
//     middle term is S < 2^24 and whose low term is below 2^24: bits 24 to
//     47 are exactly S, whatever the product wraps above them.
//
// Per pixel that is six masked loads and six multiplications, and no
// shuffling of bytes into lanes; it is plain integer arithmetic, exact on
// every platform.
const (
	pairMask = 0xFF0000FF
	sumShift = 24
	sumMask  = 1<<24 - 1
	// outShift and outRound take the reflected byte ⌊(S + 2^15) / 2^16⌋
	// straight from the product.
	outShift = sumShift + 16
	outRound = 1 << (outShift - 1)
)

// lerpWeights[fx] is k of the horizontal step for fraction fx, up to 256
// (the frame's last column, see sampler.weights).
var lerpWeights = func() (k [one + 1]uint64) {
	for fx := range k {
		k[fx] = uint64(fx) + uint64(one-fx)<<sumShift
	}
	return k
}()

// pairAt returns P for the channel whose left tap is at p; the callers
// make sure that the four bytes from p are inside the source.
func pairAt(p unsafe.Pointer) uint64 {
	return uint64(binary.LittleEndian.Uint32((*[4]byte)(p)[:]) & pairMask)
}

// mix returns the reflected byte of the channel whose top-left tap is at
// top and bottom-left tap at bot, for row weights tw and bw.
func mix(top, bot unsafe.Pointer, tw, bw uint64) byte {
	return byte((pairAt(top)*tw + pairAt(bot)*bw + outRound) >> outShift)
}

// mix3 is mix for the three channels of a pixel.
func mix3(top, bot unsafe.Pointer, tw, bw uint64) [3]byte {
	return [3]byte{
		mix(top, bot, tw, bw),
		mix(unsafe.Add(top, 1), unsafe.Add(bot, 1), tw, bw),
		mix(unsafe.Add(top, 2), unsafe.Add(bot, 2), tw, bw),
	}
}

// sampler reads bilinear samples of one source image at fixed-point
// coordinates (biased by halfSub), clamped to the frame.
type sampler struct {
	pix                   []byte
	width, height, stride int
}

func newSampler(src Image) sampler {
	return sampler{src.Pix, src.Width, src.Height, src.Stride}
}

// weights returns, for a frame of at least 2×2 pixels, the byte offset of
// the top-left tap of the sample at (qx, qy) and the weights tw, bw of its
// top and bottom rows. The position is clamped to [0, width−1] ×
// [0, height−1], which replicates the edge pixels; at the last column or
// row, the tap before it is used with fraction 256 instead of the last with
// fraction 0, which is the same sum and keeps all four taps inside the
// frame.
func (s sampler) weights(qx, qy int64) (off int, tw, bw uint64) {
	px := min(max(qx>>shift, 0), int64(s.width-1)<<subBits)
	py := min(max(qy>>shift, 0), int64(s.height-1)<<subBits)
	ix := min(px>>subBits, int64(s.width-2))
	iy := min(py>>subBits, int64(s.height-2))
	k := lerpWeights[px-ix<<subBits]
	bw = uint64(py-iy<<subBits) * k
	return int(iy)*s.stride + 3*int(ix), k<<subBits - bw, bw
}

// unclamped reports whether the sample at (qx, qy) lies inside
// [0, width−1) × [0, height−1), where its taps need no clamping.
func (s sampler) unclamped(qx, qy int64) bool {
	px, py := qx>>shift, qy>>shift
	return px >= 0 && px < int64(s.width-1)<<subBits && py >= 0 && py < int64(s.height-1)<<subBits
}

// atThin returns the unrounded samples S (units of 2^-16) of B, G and R at
// (qx, qy) for frames one pixel wide or high, where the taps beyond
// the single column or row are the edge pixels themselves (fraction 0).
func (s sampler) atThin(qx, qy int64) [3]uint64 {
	px := min(max(qx>>shift, 0), int64(s.width-1)<<subBits)
	py := min(max(qy>>shift, 0), int64(s.height-1)<<subBits)
	ix, fx := int(px>>subBits), uint64(px&(one-1))
	iy, fy := int(py>>subBits), uint64(py&(one-1))
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
		top := uint64(p[c])*(one-fx) + uint64(p[right+c])*fx
		bottom := uint64(p[down+c])*(one-fx) + uint64(p[down+right+c])*fx
		v[c] = top*(one-fy) + bottom*fy
	}
	return v
}

// reflectSpan writes the reflection into pixels [x0, x1) of row y of out.
//
// Along the span each source coordinate is affine in x, so it lies before
// the frame, inside it and beyond it on at most three intervals. The span
// is cut wherever either coordinate changes interval, and each piece goes
// through the loop for its case: both coordinates inside (reflectRun,
// nearly all pixels), one of them held at an edge of the frame
// (reflectRow, reflectColumn), or both (one value, repeated).
func (r *reflection) reflectSpan(out []byte, src Image, y, x0, x1 int) {
	qx := r.qx0 + int64(y)*r.qxy + int64(x0)*r.qxx + halfSub
	qy := r.qy0 + int64(y)*r.qyy + int64(x0)*r.qyx + halfSub
	s := newSampler(src)
	if s.width < 2 || s.height < 2 {
		r.reflectThin(out, s, qx, qy, x0, x1)
		return
	}
	n := x1 - x0
	if n <= 0 {
		return
	}
	last := int64(n - 1)
	if s.unclamped(qx, qy) && s.unclamped(qx+last*r.qxx, qy+last*r.qyx) {
		// The usual case, without the divisions below.
		r.reflectRun(out, s, qx, qy, x0, x1)
		return
	}
	ax, ay := newAxis(qx, r.qxx, s.width, n), newAxis(qy, r.qyx, s.height, n)
	cuts := [...]int{0, ax.in0, ax.in1, ay.in0, ay.in1, n}
	slices.Sort(cuts[:])
	for i := range len(cuts) - 1 {
		k0, k1 := cuts[i], cuts[i+1]
		if k0 == k1 {
			continue
		}
		a, b := x0+k0, x0+k1
		sx, sy := qx+int64(k0)*r.qxx, qy+int64(k0)*r.qyx
		ix, fx, xIn := ax.at(k0, s.width)
		iy, fy, yIn := ay.at(k0, s.height)
		switch {
		case xIn && yIn:
			r.reflectRun(out, s, sx, sy, a, b)
		case yIn:
			r.reflectColumn(out, s, ix, fx, sy, a, b)
		case xIn:
			r.reflectRow(out, s, sx, iy, fy, a, b)
		default:
			top := unsafe.Add(unsafe.Pointer(unsafe.SliceData(s.pix)), iy*s.stride+3*ix)
			k := lerpWeights[fx]
			bw := uint64(fy) * k
			v := mix3(top, unsafe.Add(top, s.stride), k<<subBits-bw, bw)
			for j := 3 * a; j < 3*b; j += 3 {
				copy(out[j:j+3], v[:])
			}
		}
	}
}

// axis is one source coordinate q + k·d along a span of n pixels (k < n):
// the samples of pixels [in0, in1) lie inside the frame's extent
// [0, size−1) and need no clamping; the others are clamped to its first
// pixel (position 0) on one side and to its last (size−1) on the other,
// the first before in0 if lowFirst.
type axis struct {
	in0, in1 int
	lowFirst bool
}

// newAxis finds the intervals of q + k·d exactly, with integer division.
// With q below 2^57 and |d| at most 2^32 (see maxOffset and maxSide),
// nothing overflows.
func newAxis(q, d int64, size, n int) axis {
	// Inside means 0 <= (q + k·d)>>shift < (size−1)·256, that is
	// 0 <= q + k·d < u.
	u := int64(size-1) << fracBits
	clampK := func(k int64) int { return int(min(max(k, 0), int64(n))) }
	switch {
	case d > 0:
		return axis{clampK(-floorDiv(q, d)), clampK(-floorDiv(q-u, d)), true}
	case d < 0:
		return axis{clampK(floorDiv(q-u, -d) + 1), clampK(floorDiv(q, -d) + 1), false}
	case q < 0:
		return axis{n, n, true}
	case q >= u:
		return axis{n, n, false}
	}
	return axis{0, n, true}
}

// floorDiv returns ⌊a/b⌋ for b > 0.
func floorDiv(a, b int64) int64 {
	if a < 0 {
		return -((-a + b - 1) / b)
	}
	return a / b
}

// at reports whether the sample of pixel k lies inside the frame along this
// axis, and if not, returns the tap index and fraction it is clamped to:
// the first pixel (index 0, fraction 0), or the last, read as index size−2
// with fraction 256 as in sampler.weights.
func (a axis) at(k, size int) (i, f int, inside bool) {
	if a.in0 <= k && k < a.in1 {
		return 0, 0, true
	}
	if (k < a.in0) == a.lowFirst {
		return 0, 0, false
	}
	return size - 2, one, false
}

// reflectRun is the hot loop of Mirror: it writes pixels [x0, x1) of out,
// starting at (qx, qy), none of whose sampling positions needs clamping.
//
// Its source reads go through unsafe pointers: their offsets depend on the
// data, so the compiler cannot drop the bounds checks, which would add
// about a fifth to the loop's instructions and crowd its registers. They
// are in bounds all the same: the sample's integer column and row are each monotone along the
// run, so if the first and the last sample lie in [0, width−2] ×
// [0, height−2] (checked below), all do, and the four bytes read from the
// last such row and column end at (height−1)·stride + 3·width, inside any
// valid Pix.
func (r *reflection) reflectRun(out []byte, s sampler, qx, qy int64, x0, x1 int) {
	out = out[3*x0 : 3*x1]
	n := x1 - x0
	if n <= 0 {
		return
	}
	last := int64(n - 1)
	if !s.unclamped(qx, qy) || !s.unclamped(qx+last*r.qxx, qy+last*r.qyx) {
		panic("mirror: reflectRun called with positions that need clamping")
	}
	// The prefetched bytes' sum is parked in the first output byte, which
	// the loop then overwrites: a result that is used keeps the compiler
	// from dropping the reads.
	out[0] = r.prefetch(s, qx, qy, n)
	pix := unsafe.Pointer(unsafe.SliceData(s.pix))
	o := unsafe.Pointer(unsafe.SliceData(out))
	stride := s.stride
	for {
		top := unsafe.Add(pix, int(qy>>fracBits)*stride+3*int(qx>>fracBits))
		bot := unsafe.Add(top, stride)
		k := lerpWeights[uint8(qx>>shift)]
		bw := uint64(uint8(qy>>shift)) * k
		tw := k<<subBits - bw
		// The steps are read from r on every pixel rather than held in
		// registers: the loop has too few of them, and a load costs less
		// than what the compiler spills instead.
		qx += r.qxx
		qy += r.qyx
		p := (*[3]byte)(o)
		p[0] = mix(top, bot, tw, bw)
		p[1] = mix(unsafe.Add(top, 1), unsafe.Add(bot, 1), tw, bw)
		p[2] = mix(unsafe.Add(top, 2), unsafe.Add(bot, 2), tw, bw)
		n--
		if n == 0 {
			return
		}
		o = unsafe.Add(o, 3)
	}
}

// Prefetching: along a tilted midline, a row's samples cross one source row
// after another, a pattern the hardware prefetchers do not follow, and each
// source cache line serves only a few output rows before the next is
// needed. Touching, before a run, the lines that the same run prefetchRows
// rows further down will read lets those misses overlap instead of
// stalling the loop one by one. One read every few pixels, about as often
// as the samples move to the next source row, catches most lines and costs
// a few percent; runs that stay within one source row, and frames that fit
// in the cache, are left alone.
const (
	prefetchRows = 2
	// The reads are 4 to 8 pixels apart: closer costs more than it saves,
	// further misses too many lines.
	prefetchMinStep, prefetchMaxStep = 4, 8
	// prefetchSlope is the least |row step| per pixel, in fixed point, at
	// which a run is prefetched: one source row per 64 pixels.
	prefetchSlope = 1 << fracBits / 64
	// prefetchSize is the least source size that is prefetched: smaller
	// frames stay in a core's own cache from row to row.
	prefetchSize = 1 << 20
)

// prefetch reads a byte every few pixels along the samples of the run of n
// pixels from (qx, qy), prefetchRows output rows further on, and returns
// their sum. It skips runs that would read outside the frame there.
func (r *reflection) prefetch(s sampler, qx, qy int64, n int) byte {
	slope := max(r.qyx, -r.qyx)
	if slope < prefetchSlope || len(s.pix) < prefetchSize {
		return 0
	}
	// 1.5 times the pixels per source row.
	step := min(max(3<<fracBits/(2*slope), prefetchMinStep), prefetchMaxStep)
	qx += prefetchRows * r.qxy
	qy += prefetchRows * r.qyy
	steps := int64(n-1) / step
	dx, dy := step*r.qxx, step*r.qyx
	if !s.unclamped(qx, qy) || !s.unclamped(qx+steps*dx, qy+steps*dy) {
		return 0
	}
	var sum byte
	for range steps + 1 {
		sum += s.pix[int(qy>>fracBits)*s.stride+3*int(qx>>fracBits)]
		qx += dx
		qy += dy
	}
	return sum
}

// reflectRow writes pixels [x0, x1) of out, whose samples start at column
// position qx and step along the columns inside the frame, while their row
// is held at tap row iy with fraction fy (an edge of the frame, see
// axis.at). The reads are in bounds as in reflectRun.
func (r *reflection) reflectRow(out []byte, s sampler, qx int64, iy, fy int, x0, x1 int) {
	out = out[3*x0 : 3*x1]
	n := x1 - x0
	if n <= 0 {
		return
	}
	pxEnd := int64(s.width-1) << subBits
	px0, px1 := qx>>shift, (qx+int64(n-1)*r.qxx)>>shift
	if min(px0, px1) < 0 || max(px0, px1) >= pxEnd || iy < 0 || iy > s.height-2 || fy < 0 || fy > one {
		panic("mirror: reflectRow called with positions that need clamping")
	}
	row := unsafe.Add(unsafe.Pointer(unsafe.SliceData(s.pix)), iy*s.stride)
	o := unsafe.Pointer(unsafe.SliceData(out))
	stride, fyw := s.stride, uint64(fy)
	for {
		top := unsafe.Add(row, 3*int(qx>>fracBits))
		bot := unsafe.Add(top, stride)
		k := lerpWeights[uint8(qx>>shift)]
		bw := fyw * k
		tw := k<<subBits - bw
		qx += r.qxx
		p := (*[3]byte)(o)
		p[0] = mix(top, bot, tw, bw)
		p[1] = mix(unsafe.Add(top, 1), unsafe.Add(bot, 1), tw, bw)
		p[2] = mix(unsafe.Add(top, 2), unsafe.Add(bot, 2), tw, bw)
		n--
		if n == 0 {
			return
		}
		o = unsafe.Add(o, 3)
	}
}

// reflectColumn is reflectRow with the roles swapped: the samples' column
// is held at tap column ix with fraction fx, and their row starts at qy.
func (r *reflection) reflectColumn(out []byte, s sampler, ix, fx int, qy int64, x0, x1 int) {
	out = out[3*x0 : 3*x1]
	n := x1 - x0
	if n <= 0 {
		return
	}
	pyEnd := int64(s.height-1) << subBits
	py0, py1 := qy>>shift, (qy+int64(n-1)*r.qyx)>>shift
	if min(py0, py1) < 0 || max(py0, py1) >= pyEnd || ix < 0 || ix > s.width-2 || fx < 0 || fx > one {
		panic("mirror: reflectColumn called with positions that need clamping")
	}
	column := unsafe.Add(unsafe.Pointer(unsafe.SliceData(s.pix)), 3*ix)
	o := unsafe.Pointer(unsafe.SliceData(out))
	stride, k := s.stride, lerpWeights[fx]
	for {
		top := unsafe.Add(column, int(qy>>fracBits)*stride)
		bot := unsafe.Add(top, stride)
		bw := uint64(uint8(qy>>shift)) * k
		tw := k<<subBits - bw
		qy += r.qyx
		p := (*[3]byte)(o)
		p[0] = mix(top, bot, tw, bw)
		p[1] = mix(unsafe.Add(top, 1), unsafe.Add(bot, 1), tw, bw)
		p[2] = mix(unsafe.Add(top, 2), unsafe.Add(bot, 2), tw, bw)
		n--
		if n == 0 {
			return
		}
		o = unsafe.Add(o, 3)
	}
}

// reflectThin writes pixels [x0, x1) of out, starting at (qx, qy), for
// frames one pixel wide or high.
func (r *reflection) reflectThin(out []byte, s sampler, qx, qy int64, x0, x1 int) {
	out = out[3*x0 : 3*x1]
	for j := 0; j+3 <= len(out); j += 3 {
		v := s.atThin(qx, qy)
		qx += r.qxx
		qy += r.qyx
		o := out[j : j+3 : j+3]
		for c := range o {
			o[c] = byte((v[c] + 1<<15) >> 16)
		}
	}
}

// blendSpan writes pixels [x0, x1) of row y, which may lie in the band, into
// right and left (either may be nil) by the full per-pixel definition.
func (r *reflection) blendSpan(right, left []byte, src Image, y, x0, x1 int) {
	sd := r.s0 + int64(y)*r.sy + int64(x0)*r.sx
	qx := r.qx0 + int64(y)*r.qxy + int64(x0)*r.qxx + halfSub
	qy := r.qy0 + int64(y)*r.qyy + int64(x0)*r.qyx + halfSub
	s := newSampler(src)
	orig := src.Pix[y*src.Stride:]
	thin := s.width < 2 || s.height < 2
	// As in reflectRun, if the span's ends need no clamping, no sample
	// does; the band usually lies well inside the frame.
	last := int64(x1 - x0 - 1)
	unclamped := !thin && s.unclamped(qx, qy) && s.unclamped(qx+last*r.qxx, qy+last*r.qyx)
	pix := unsafe.Pointer(unsafe.SliceData(s.pix))
	// Sampling, then blending into each picture, chunk by chunk, keeps each
	// loop small enough for the compiler to hold it in registers.
	var v [16][3]uint64
	for x := x0; x < x1; x += len(v) {
		m := min(len(v), x1-x)
		for j := range v[:m] {
			if thin {
				v[j] = s.atThin(qx, qy)
			} else {
				// The taps are inside the frame either way, so the
				// reads are in bounds.
				var off int
				var tw, bw uint64
				if unclamped {
					k := lerpWeights[uint8(qx>>shift)]
					bw = uint64(uint8(qy>>shift)) * k
					tw = k<<subBits - bw
					off = int(qy>>fracBits)*s.stride + 3*int(qx>>fracBits)
				} else {
					off, tw, bw = s.weights(qx, qy)
				}
				top := unsafe.Add(pix, off)
				bot := unsafe.Add(top, s.stride)
				for c := range v[j] {
					v[j][c] = (pairAt(unsafe.Add(top, c))*tw + pairAt(unsafe.Add(bot, c))*bw) >> sumShift & sumMask
				}
			}
			qx += r.qxx
			qy += r.qyx
		}
		o := orig[3*x : 3*(x+m)]
		if right != nil {
			blendInto(right[3*x:3*(x+m)], o, v[:m], sd, r.sx, false)
		}
		if left != nil {
			blendInto(left[3*x:3*(x+m)], o, v[:m], sd, r.sx, true)
		}
		sd += int64(m) * r.sx
	}
}

// blendInto writes into dst the blend of the original pixels orig with the
// samples v, the first at signed distance sd, the next ones sx further on;
// left selects the weights of the picture that keeps the left half.
func blendInto(dst, orig []byte, v [][3]uint64, sd, sx int64, left bool) {
	for j := range v {
		a := blendWeight(sd)
		if left {
			a = 256 - a
		}
		sd += sx
		o := orig[3*j : 3*j+3 : 3*j+3]
		d := dst[3*j : 3*j+3 : 3*j+3]
		d[0] = blend(uint64(o[0]), v[j][0], a)
		d[1] = blend(uint64(o[1]), v[j][1], a)
		d[2] = blend(uint64(o[2]), v[j][2], a)
	}
}

// blendWeight returns the weight, in 1/256, of the original pixel in the
// picture that keeps the right half, at signed distance s (fixed point):
// 1/2 + s/BlendWidth rounded half up, clamped to [0, 1]. The picture that
// keeps the left half uses 256 minus it, so the two are symmetric.
func blendWeight(s int64) uint64 {
	a := 128 + (s+1<<(blendShift-1))>>blendShift
	return uint64(max(0, min(a, 256)))
}

// blend mixes the original value o with the unrounded reflected value v
// (units of 2^-16) with weight a/256 on o, rounding once, half up.
func blend(o, v, a uint64) byte {
	return byte((a*o<<16 + (256-a)*v + 1<<23) >> 24)
}
