// Package fhog computes Felzenszwalb HOG (FHOG) descriptors of colour images
// with the exact float arithmetic of dlib's extract_fhog_features, the way
// OpenFace 2.2 calls it on its 112×112 aligned face (cell size 8, 12×12
// cells of 31 features), and reads and writes OpenFace's binary .hog files.
//
// Agreement with OpenFace is bit-for-bit, not approximate: dlib evaluates
// most of the image with SIMD code and the last few columns of every row
// with scalar code, and the two differ in tie-breaking and rounding order.
// Both paths are reproduced column by column. The sums over the four
// normalisation blocks follow dlib's SSE2 code (the reference OpenFace build
// had no SSE3). All float32 products that feed a sum are wrapped in explicit
// float32 conversions so the Go compiler cannot fuse them into FMA
// instructions, which would change the rounding.
//
// The input is plain 8-bit BGR pixels, the layout of an OpenCV CV_8UC3 Mat,
// so the package needs no cgo: pass a gocv.Mat as mat.ToBytes() (or its
// DataPtrUint8 view) with mat.Step() as the stride.
package fhog

import (
	"errors"
	"fmt"
	"math"
	"sync"
)

// CellSize is the side of an FHOG cell in pixels, as OpenFace uses it.
const CellSize = 8

// NumFeatures is the number of values per cell: 18 contrast-sensitive
// orientations, 9 contrast-insensitive orientations and 4 texture
// (gradient energy) features.
const NumFeatures = 31

// MaxSide bounds the image width and height accepted, so that a corrupt
// size can never trigger a huge allocation.
const MaxSide = 1 << 14

// minSide is the smallest side giving at least 3 cells (one output cell
// plus the border cells that are dropped).
const minSide = 20

// ErrImageSize reports image dimensions that cannot give an FHOG
// descriptor: too small, too large, or inconsistent with the pixel buffer.
var ErrImageSize = errors.New("fhog: bad image size")

// Descriptor is an FHOG feature map: Rows×Cols cells of NumFeatures values,
// stored row by row, then column by column, then feature, which is the order
// OpenFace copies dlib's map into its descriptor and .hog files.
type Descriptor struct {
	Rows, Cols int
	Data       []float32
}

// At returns feature f of the cell at row r, column c.
func (d Descriptor) At(r, c, f int) float32 {
	return d.Data[(r*d.Cols+c)*NumFeatures+f]
}

// OutputSize returns the number of FHOG cell rows and columns dlib produces
// for an image of the given size, or an error wrapping ErrImageSize when the
// image is too small or too large. 112×112 gives 12×12.
func OutputSize(width, height int) (rows, cols int, err error) {
	if width < minSide || height < minSide || width > MaxSide || height > MaxSide {
		return 0, 0, fmt.Errorf("%w: %dx%d (each side must be %d..%d pixels)", ErrImageSize, width, height, minSide, MaxSide)
	}
	return numCells(height) - 2, numCells(width) - 2, nil
}

// numCells is dlib's cell count for one image side: side/cell_size rounded
// half up, with the division done in float32.
func numCells(side int) int {
	return int(float64(float32(side)/float32(CellSize)) + 0.5)
}

// Extract computes the FHOG descriptor of an 8-bit BGR image (3 bytes per
// pixel, rows stride bytes apart) into a new slice. For repeated calls use
// an Extractor, which reuses its buffers.
func Extract(bgr []byte, width, height, stride int) (Descriptor, error) {
	var e Extractor
	return e.Extract(nil, bgr, width, height, stride)
}

// direction is one of dlib's 9 unit vectors, rounded to 4 decimals as dlib
// writes them, then to float32.
type direction struct{ x, y float32 }

var directions = [9]direction{
	{1.0000, 0.0000},
	{0.9397, 0.3420},
	{0.7660, 0.6428},
	{0.500, 0.8660},
	{0.1736, 0.9848},
	{-0.1736, 0.9848},
	{-0.5000, 0.8660},
	{-0.7660, 0.6428},
	{-0.9397, 0.3420},
}

// gradRange is the number of possible values of a one-channel central
// difference of 8-bit pixels (-255..255).
const gradRange = 511

// orientationTable maps an integer gradient (gx, gy) to its signed bin
// 0..17, at index (gx+255)*gradRange + gy+255. The bin depends only on the
// integer gradient, so the 18 float dot products per pixel are done once.
var orientationTable = sync.OnceValue(func() []uint8 {
	t := make([]uint8, gradRange*gradRange)
	for gx := -255; gx <= 255; gx++ {
		for gy := -255; gy <= 255; gy++ {
			t[(gx+255)*gradRange+gy+255] = snapOrientation(float32(gx), float32(gy))
		}
	}
	return t
})

// snapOrientation picks the signed orientation bin whose direction has the
// largest dot product with the gradient; the first one wins ties and a zero
// gradient gets bin 0, as in dlib.
func snapOrientation(gx, gy float32) uint8 {
	var best float32
	var bin uint8
	for o, d := range directions {
		dot := float32(gx*d.x) + float32(gy*d.y)
		if dot > best {
			best, bin = dot, uint8(o)
		} else if -dot > best {
			best, bin = -dot, uint8(o+9)
		}
	}
	return bin
}

// axisWeights holds, for one pixel coordinate along an axis, the two cells
// (in the padded histogram) it votes into and the interpolation weights.
type axisWeights struct {
	lo     int     // padded cell index of the first cell; the second is lo+1
	w0, w1 float32 // weights of the second and of the first cell
}

// Extractor computes FHOG descriptors reusing its scratch buffers between
// calls. The zero value is ready to use. An Extractor must not be used by
// several goroutines at once.
type Extractor struct {
	width, height  int
	rows, cols     int // output cells
	cellsR, cellsC int
	visR, visC     int
	simdEnd        int // first column dlib handles with scalar code
	xw, yw         []axisWeights
	hist           []float32 // (cellsR+2)×(cellsC+2)×18
	norm           []float32 // cellsR×cellsC
}

// Extract computes the FHOG descriptor of an 8-bit BGR image (3 bytes per
// pixel, blue first, rows stride bytes apart) of the given size. The values
// are written into dst when it has the capacity (rows*cols*NumFeatures
// floats), otherwise into a new slice; the returned Descriptor's Data is
// that slice. Errors wrap ErrImageSize.
func (e *Extractor) Extract(dst []float32, bgr []byte, width, height, stride int) (Descriptor, error) {
	rows, cols, err := OutputSize(width, height)
	if err != nil {
		return Descriptor{}, err
	}
	if stride < 3*width {
		return Descriptor{}, fmt.Errorf("%w: stride %d is less than 3×width %d", ErrImageSize, stride, width)
	}
	if stride > len(bgr) {
		return Descriptor{}, fmt.Errorf("%w: stride %d exceeds the %d-byte buffer", ErrImageSize, stride, len(bgr))
	}
	if need := stride*(height-1) + 3*width; len(bgr) < need {
		return Descriptor{}, fmt.Errorf("%w: %dx%d BGR image with stride %d needs %d bytes, got %d", ErrImageSize, width, height, stride, need, len(bgr))
	}
	if e.width != width || e.height != height {
		e.prepare(width, height, rows, cols)
	}
	n := rows * cols * NumFeatures
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	e.histogram(bgr, stride)
	e.energies()
	e.features(dst)
	return Descriptor{Rows: rows, Cols: cols, Data: dst}, nil
}

// prepare sizes the buffers and precomputes the interpolation tables for
// one image size.
func (e *Extractor) prepare(width, height, rows, cols int) {
	e.width, e.height = width, height
	e.rows, e.cols = rows, cols
	e.cellsR, e.cellsC = numCells(height), numCells(width)
	e.visR = min(e.cellsR*CellSize, height) - 1
	e.visC = min(e.cellsC*CellSize, width) - 1

	// dlib handles columns 1.. in blocks of 8 while a whole block fits
	// before visC-7; the remaining columns go through its scalar code.
	e.simdEnd = 1
	for e.simdEnd < e.visC-7 {
		e.simdEnd += 8
	}
	e.xw = make([]axisWeights, e.visC)
	for x := 1; x < e.visC; x++ {
		if x < e.simdEnd {
			e.xw[x] = simdWeights(x)
		} else {
			e.xw[x] = scalarWeights(x)
		}
	}
	e.yw = make([]axisWeights, e.visR)
	for y := 1; y < e.visR; y++ {
		e.yw[y] = rowWeights(y)
	}
	e.hist = make([]float32, (e.cellsR+2)*(e.cellsC+2)*18)
	e.norm = make([]float32, e.cellsR*e.cellsC)
}

// simdWeights reproduces dlib's vectorised column position: all float32,
// shifted by +1 cell and truncated instead of floored.
func simdWeights(x int) axisWeights {
	xp := float32(float32(x)+0.5)/float32(CellSize) + 0.5
	ixp := int(xp)
	w0 := xp - float32(ixp)
	return axisWeights{lo: ixp, w0: w0, w1: 1 - w0}
}

// scalarWeights reproduces dlib's scalar column position, computed in
// float64 and narrowed.
func scalarWeights(x int) axisWeights {
	xp := float32((float64(x)+0.5)/float64(CellSize) - 0.5)
	ixp := int(math.Floor(float64(xp)))
	w0 := xp - float32(ixp)
	return axisWeights{lo: ixp + 1, w0: w0, w1: float32(1.0 - float64(w0))}
}

// rowWeights reproduces dlib's row position, computed in float64 from a
// float32 row index and narrowed.
func rowWeights(y int) axisWeights {
	yp := float32((float64(float32(y))+0.5)/float64(float32(CellSize)) - 0.5)
	iyp := int(math.Floor(float64(yp)))
	w0 := yp - float32(iyp)
	return axisWeights{lo: iyp + 1, w0: w0, w1: float32(1.0 - float64(w0))}
}

// histogram votes every interior pixel's strongest colour gradient into the
// orientation histograms of its four nearest cells, in raster order (the
// order of dlib's float accumulation).
func (e *Extractor) histogram(pix []byte, stride int) {
	clear(e.hist)
	table := orientationTable()
	rowLen := (e.cellsC + 2) * 18
	for y := 1; y < e.visR; y++ {
		up := pix[(y-1)*stride : (y-1)*stride+3*e.width]
		mid := pix[y*stride : y*stride+3*e.width]
		down := pix[(y+1)*stride : (y+1)*stride+3*e.width]
		yw := e.yw[y]
		top := e.hist[yw.lo*rowLen : (yw.lo+1)*rowLen]
		bottom := e.hist[(yw.lo+1)*rowLen : (yw.lo+2)*rowLen]
		for x := 1; x < e.visC; x++ {
			p := 3 * x
			// Bytes are blue, green, red; m holds the left neighbour,
			// the pixel and the right neighbour.
			u, m, d := up[p:p+3], mid[p-3:p+6], down[p:p+3]
			bx, by := int(m[6])-int(m[0]), int(d[0])-int(u[0])
			gx, gy := int(m[7])-int(m[1]), int(d[1])-int(u[1])
			rx, ry := int(m[8])-int(m[2]), int(d[2])-int(u[2])
			bl := bx*bx + by*by
			gl := gx*gx + gy*gy
			rl := rx*rx + ry*ry

			vector := x < e.simdEnd
			var dx, dy, l int
			if vector {
				// dlib's vector code: red beats green only when
				// strictly larger, and blue wins a tie with the winner.
				dx, dy, l = gx, gy, gl
				if rl > gl {
					dx, dy, l = rx, ry, rl
				}
				if !(l > bl) {
					dx, dy, l = bx, by, bl
				}
			} else {
				// dlib's scalar code: red first, a later channel must
				// be strictly larger to win.
				dx, dy, l = rx, ry, rl
				if gl > l {
					dx, dy, l = gx, gy, gl
				}
				if bl > l {
					dx, dy, l = bx, by, bl
				}
			}
			if l == 0 {
				continue // a zero vote leaves every bin unchanged
			}
			o := int(table[(dx+255)*gradRange+dy+255])
			v := magnitude(l)
			xw := e.xw[x]
			c := xw.lo*18 + o
			t := top[c : c+19]
			b := bottom[c : c+19]
			if vector {
				// x weight times magnitude first, then the y weight.
				v1 := float32(xw.w1 * v)
				v0 := float32(xw.w0 * v)
				t[0] += float32(yw.w1 * v1)
				b[0] += float32(yw.w0 * v1)
				t[18] += float32(yw.w1 * v0)
				b[18] += float32(yw.w0 * v0)
			} else {
				// The two weights first, then the magnitude.
				t[0] += float32(float32(yw.w1*xw.w1) * v)
				b[0] += float32(float32(yw.w0*xw.w1) * v)
				t[18] += float32(float32(yw.w1*xw.w0) * v)
				b[18] += float32(float32(yw.w0*xw.w0) * v)
			}
		}
	}
}

// magnitude is the gradient length from its squared length l < 2^24 (exact
// in float32). This form compiles to a single-precision square root,
// correctly rounded like dlib's.
func magnitude(l int) float32 {
	return float32(math.Sqrt(float64(float32(l))))
}

// energies computes each cell's squared gradient energy over the 9
// contrast-insensitive orientations.
func (e *Extractor) energies() {
	rowLen := (e.cellsC + 2) * 18
	for r := 0; r < e.cellsR; r++ {
		for c := 0; c < e.cellsC; c++ {
			h := e.hist[(r+1)*rowLen+(c+1)*18:][:18]
			var s float32
			for o := 0; o < 9; o++ {
				u := h[o] + h[o+9]
				s += float32(u * u)
			}
			e.norm[r*e.cellsC+c] = s
		}
	}
}

// Constants of dlib's normalisation, as float32 like dlib's SIMD code.
const (
	eps          float32 = 0.0001
	truncFactor  float32 = 0.2
	scaleFactor  float32 = 0.1
	textureScale float32 = 2 * 0.2357
)

// features normalises each inner cell's histogram by the energies of the
// four 2×2 blocks containing it, truncating, and writes the 31 features.
func (e *Extractor) features(dst []float32) {
	rowLen := (e.cellsC + 2) * 18
	nc := e.cellsC
	N := e.norm
	for y := 0; y < e.rows; y++ {
		for x := 0; x < e.cols; x++ {
			// The four blocks are those whose corner cells include
			// (y+1, x+1); each lane sums its block in dlib's order.
			a := N[y*nc+x : y*nc+x+3]
			b := N[(y+1)*nc+x : (y+1)*nc+x+3]
			c := N[(y+2)*nc+x : (y+2)*nc+x+3]
			var nn, n [4]float32
			nn[0] = blockNorm(b[1], b[2], c[1], c[2])
			nn[1] = blockNorm(a[1], a[2], b[1], b[2])
			nn[2] = blockNorm(b[0], b[1], c[0], c[1])
			nn[3] = blockNorm(a[0], a[1], b[0], b[1])
			for k := range nn {
				n[k] = scaleFactor / nn[k]
			}

			h := e.hist[(y+2)*rowLen+(x+2)*18:][:18]
			out := dst[(y*e.cols+x)*NumFeatures:][:NumFeatures]
			var t [4]float32
			for o := 0; o < 18; o += 3 {
				h0 := normalised(h[o], &nn, &n)
				h1 := normalised(h[o+1], &nn, &n)
				h2 := normalised(h[o+2], &nn, &n)
				out[o] = lanesSum(&h0)
				out[o+1] = lanesSum(&h1)
				out[o+2] = lanesSum(&h2)
				for k := range t {
					t[k] += h0[k] + h1[k] + h2[k]
				}
			}
			for o := 0; o < 9; o++ {
				u := normalised(h[o]+h[o+9], &nn, &n)
				out[18+o] = lanesSum(&u)
			}
			for k := range t {
				out[27+k] = t[k] * textureScale
			}
		}
	}
}

// blockNorm is the truncation threshold of one 2×2 block: 0.2·sqrt(energy+eps).
func blockNorm(z1, z2, z3, z4 float32) float32 {
	s := z1 + z2 + z3 + z4 + eps
	return truncFactor * float32(math.Sqrt(float64(s)))
}

// normalised truncates one histogram value at each block's threshold and
// scales it by that block's factor.
func normalised(v float32, nn, n *[4]float32) [4]float32 {
	var r [4]float32
	for k := range r {
		r[k] = float32(min(v, nn[k]) * n[k])
	}
	return r
}

// lanesSum adds the four block values in the order of dlib's SSE2
// horizontal sum (lanes 0+2 and 1+3, then those two). Builds with SSE3 or
// SSE4.1 add 0+1 and 2+3 instead, which changes the last bit of about 8% of
// the values; the SSE2 order is the one the reference OpenFace build used,
// as the bit-identical .hog test shows.
func lanesSum(v *[4]float32) float32 {
	return (v[0] + v[2]) + (v[1] + v[3])
}
