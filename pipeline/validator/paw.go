package validator

import (
	"fmt"
	"math"

	"facemirror/models/ofmat"
)

// paw is OpenFace's piecewise-affine warp (PAW) of a view: the template's
// triangulation, the precomputed barycentric terms alpha and beta of every
// triangle, and the template pixels (the mask) with their triangles.
type paw struct {
	numPixels  int
	minX, minY float32
	numPoints  int
	tris       [][3]int
	alpha      [][3]float32
	beta       [][3]float32
	w, h       int
	// pixels lists the mask pixels in column-major order (x outer, y
	// inner), the order of the feature vector.
	pixels []pawPixel
}

type pawPixel struct {
	x, y, tri int
}

func readPAW(d *ofmat.Decoder, p *paw) error {
	n, err := d.Int32("PAW pixel count")
	if err != nil {
		return err
	}
	p.numPixels = int(n)
	mx, err := d.Float64("PAW min x")
	if err != nil {
		return err
	}
	my, err := d.Float64("PAW min y")
	if err != nil {
		return err
	}
	p.minX, p.minY = float32(mx), float32(my)
	m, err := d.Mat("PAW destination landmarks")
	if err != nil {
		return err
	}
	if m.Cols != 1 || m.Rows < 6 || m.Rows%2 != 0 {
		return d.Fail("PAW destination landmarks", "%d×%d", m.Rows, m.Cols)
	}
	p.numPoints = m.Rows / 2
	if m, err = d.Mat("PAW triangulation"); err != nil {
		return err
	}
	tri, err := m.Int32s("PAW triangulation")
	if err != nil {
		return err
	}
	if m.Cols != 3 || m.Rows < 1 {
		return d.Fail("PAW triangulation", "%d×%d", m.Rows, m.Cols)
	}
	p.tris = make([][3]int, m.Rows)
	for t := range p.tris {
		for k := 0; k < 3; k++ {
			v := int(tri[3*t+k])
			if v < 0 || v >= p.numPoints {
				return d.Fail("PAW triangulation", "vertex %d of a %d-point shape", v, p.numPoints)
			}
			p.tris[t][k] = v
		}
	}
	if m, err = d.Mat("PAW triangle ids"); err != nil {
		return err
	}
	ids, err := m.Int32s("PAW triangle ids")
	if err != nil {
		return err
	}
	p.w, p.h = m.Cols, m.Rows
	if m, err = d.Mat("PAW pixel mask"); err != nil {
		return err
	}
	if m.Rows != p.h || m.Cols != p.w {
		return d.Fail("PAW pixel mask", "%d×%d, the triangle ids are %d×%d", m.Rows, m.Cols, p.h, p.w)
	}
	mask := m.ToUint8()
	for _, name := range []string{"PAW alpha", "PAW beta"} {
		if m, err = d.Mat(name); err != nil {
			return err
		}
		if m.Rows != len(p.tris) || m.Cols != 3 {
			return d.Fail(name, "%d×%d for %d triangles", m.Rows, m.Cols, len(p.tris))
		}
		v := m.ToFloat32()
		ab := make([][3]float32, len(p.tris))
		for t := range ab {
			ab[t] = [3]float32{v[3*t], v[3*t+1], v[3*t+2]}
		}
		if name == "PAW alpha" {
			p.alpha = ab
		} else {
			p.beta = ab
		}
	}
	for x := 0; x < p.w; x++ {
		for y := 0; y < p.h; y++ {
			if mask[y*p.w+x] == 0 {
				continue
			}
			t := int(ids[y*p.w+x])
			if t < 0 || t >= len(p.tris) {
				return fmt.Errorf("%w: PAW pixel (%d,%d) is in the mask but has triangle %d", ErrFormat, x, y, t)
			}
			p.pixels = append(p.pixels, pawPixel{x, y, t})
		}
	}
	if len(p.pixels) != p.numPixels {
		return fmt.Errorf("%w: the PAW mask has %d pixels, the file says %d", ErrFormat, len(p.pixels), p.numPixels)
	}
	return nil
}

// coefficients is PAW::CalcCoeff: per triangle (i, j, k) with source
// points c1 = x_i, c2 = x_j − c1, c3 = x_k − c1 (c4..c6 likewise for y),
// [c1 + c2α0 + c3β0, c2α1 + c3β1, c2α2 + c3β2, c4 + c5α0 + c6β0, …] in
// float. xs and ys are the source landmarks.
func (p *paw) coefficients(xs, ys []float32, dst [][6]float32) [][6]float32 {
	if cap(dst) < len(p.tris) {
		dst = make([][6]float32, len(p.tris))
	}
	dst = dst[:len(p.tris)]
	for t, tr := range p.tris {
		a, b := p.alpha[t], p.beta[t]
		c1 := xs[tr[0]]
		c2 := xs[tr[1]] - c1
		c3 := xs[tr[2]] - c1
		c4 := ys[tr[0]]
		c5 := ys[tr[1]] - c4
		c6 := ys[tr[2]] - c4
		dst[t] = [6]float32{
			float32(c1+float32(c2*a[0])) + float32(c3*b[0]),
			float32(c2*a[1]) + float32(c3*b[1]),
			float32(c2*a[2]) + float32(c3*b[2]),
			float32(c4+float32(c5*a[0])) + float32(c6*b[0]),
			float32(c5*a[1]) + float32(c6*b[1]),
			float32(c5*a[2]) + float32(c6*b[2]),
		}
	}
	return dst
}

// sourcePoint is PAW::WarpRegion for one mask pixel: where in the source
// image template pixel (x, y) comes from.
func (p *paw) sourcePoint(px pawPixel, coeff [][6]float32) (float32, float32) {
	xi := float32(px.x) + p.minX
	yi := float32(px.y) + p.minY
	a := &coeff[px.tri]
	xo := a[0] + float32(a[1]*xi)
	yo := a[3] + float32(a[4]*xi)
	return xo + float32(a[2]*yi), yo + float32(a[5]*yi)
}

// Fixed-point remap constants (1/32-pixel bilinear weights).
const (
	interBits = 5
	interTab  = 1 << interBits
	interMask = interTab - 1
)

// cvRoundF is cvRound(float): round half to even, INT_MIN out of range.
func cvRoundF(v float32) int {
	r := math.RoundToEven(float64(v))
	if !(r >= math.MinInt32 && r <= math.MaxInt32) {
		return math.MinInt32
	}
	return int(r)
}

func satShort(v int) int {
	if v > math.MaxInt16 {
		return math.MaxInt16
	}
	if v < math.MinInt16 {
		return math.MinInt16
	}
	return v
}

// roi is the float crop of the grey image the warp samples: w×h pixels
// starting at (x0, y0); taps outside it read 0 (remap's constant border).
type roi struct {
	pix    []uint8
	stride int
	x0, y0 int
	w, h   int
}

func (r *roi) at(x, y int) float32 {
	if x < 0 || y < 0 || x >= r.w || y >= r.h {
		return 0
	}
	return float32(r.pix[(r.y0+y)*r.stride+r.x0+x])
}

// sample is cv::remap(INTER_LINEAR, BORDER_CONSTANT 0) at the float map
// coordinates (mx, my): coordinates rounded to 1/32 pixel, float weights
// (exact products of 1/32 fractions), taps summed in OpenCV's order.
func (r *roi) sample(mx, my float32) float32 {
	sxf := cvRoundF(mx * interTab)
	syf := cvRoundF(my * interTab)
	sx, sy := satShort(sxf>>interBits), satShort(syf>>interBits)
	if sx >= r.w || sx+1 < 0 || sy >= r.h || sy+1 < 0 {
		return 0
	}
	tx := float32(sxf&interMask) * (1.0 / interTab)
	ty := float32(syf&interMask) * (1.0 / interTab)
	w0, w1, w2, w3 := (1-ty)*(1-tx), (1-ty)*tx, ty*(1-tx), ty*tx
	p00, p01 := r.at(sx, sy), r.at(sx+1, sy)
	p10, p11 := r.at(sx, sy+1), r.at(sx+1, sy+1)
	return float32(float32(float32(p00*w0)+float32(p01*w1))+float32(p10*w2)) + float32(p11*w3)
}
