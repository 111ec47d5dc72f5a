package mirror

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// YawRating rates the head's yaw for the debug banner: mirroring assumes a
// frontal face, and a turned head makes one half look narrower.
type YawRating int

const (
	// YawOptimal: |yaw| <= 3°.
	YawOptimal YawRating = iota
	// YawAcceptable: 3° < |yaw| <= 5°.
	YawAcceptable
	// YawExcessive: |yaw| > 5° (or not a number).
	YawExcessive
)

// RateYaw rates a head yaw given in degrees; its sign does not matter.
func RateYaw(deg float64) YawRating {
	switch a := math.Abs(deg); {
	case a <= 3:
		return YawOptimal
	case a <= 5:
		return YawAcceptable
	}
	return YawExcessive
}

// String returns the banner's wording of the rating.
func (r YawRating) String() string {
	switch r {
	case YawOptimal:
		return "optimal"
	case YawAcceptable:
		return "acceptable"
	case YawExcessive:
		return "excessive head rotation"
	}
	return fmt.Sprintf("YawRating(%d)", int(r))
}

// Debug is what the debug frame shows.
type Debug struct {
	// Face is false when the frame had no fitted face: the banner says so
	// and no landmarks are drawn.
	Face bool
	// Line is the (smoothed) midline used for this frame. It is drawn
	// across the whole frame, also on frames without a face, whose midline
	// is interpolated.
	Line Line
	// Landmarks are the 68 landmarks, drawn as dots when Face.
	Landmarks []Point
	// YawDeg is the head's yaw in degrees, shown when Face.
	YawDeg float64
}

// Colours of the debug frame, as (B, G, R).
var (
	lineColour     = [3]byte{255, 255, 0} // cyan
	landmarkColour = [3]byte{0, 255, 255} // yellow
)

// banner is a banner's background and text colour.
type banner struct{ bg, fg color.RGBA }

func bannerFor(d Debug) banner {
	white, black := color.RGBA{255, 255, 255, 255}, color.RGBA{0, 0, 0, 255}
	if !d.Face {
		return banner{color.RGBA{80, 80, 80, 255}, white}
	}
	switch RateYaw(d.YawDeg) {
	case YawOptimal:
		return banner{color.RGBA{30, 140, 50, 255}, white}
	case YawAcceptable:
		return banner{color.RGBA{255, 176, 0, 255}, black}
	}
	return banner{color.RGBA{200, 30, 30, 255}, white}
}

func bannerText(d Debug) string {
	if !d.Face {
		return "no face in this frame"
	}
	return fmt.Sprintf("Yaw %.1f°  %s", d.YawDeg, RateYaw(d.YawDeg))
}

// bannerFont is Go Bold, parsed once; a parsed font is immutable and safe
// for concurrent use (each DebugPainter makes its own faces).
var bannerFont = sync.OnceValues(func() (*opentype.Font, error) {
	return opentype.Parse(gobold.TTF)
})

// DrawDebug draws d onto img in place, as a new DebugPainter's Draw does.
// A video's frames are better drawn by one DebugPainter.
func DrawDebug(img Image, d Debug) {
	var p DebugPainter
	p.Draw(img, d)
}

// DebugPainter draws debug frames. It keeps the banner's RGBA buffer and
// the font faces from one frame to the next: made afresh, they were most of
// a 1080p frame's drawing time and 0.7 MB of garbage per frame. Its zero
// value is ready to use; it is not safe for concurrent use.
type DebugPainter struct {
	rgba  *image.RGBA
	faces map[float64]font.Face
}

// Draw draws d onto img in place: a banner across the top with the yaw
// and its rating (e.g. "Yaw 2.1°  optimal"), coloured by rating (green,
// amber, red; grey without a face), the midline across the whole frame and
// the landmarks. Sizes scale with the frame height, so that a 360- and a
// 1080-pixel-high frame read alike. The midline is drawn over the banner,
// so that it visibly spans the whole frame. Invalid images are left alone.
func (p *DebugPainter) Draw(img Image, d Debug) {
	if img.valid() != nil {
		return
	}
	h := float64(img.Height)
	p.drawBanner(img, d, max(6, math.Round(h/20)))
	drawLine(img, d.Line, max(1, int(math.Round(h/360))), lineColour)
	if d.Face {
		radius := max(1.5, h/240)
		for _, pt := range d.Landmarks {
			drawDot(img, pt, radius, landmarkColour)
		}
	}
}

// drawBanner fills the top of img with the banner and writes its text in
// Go Bold of the given pixel size, smaller if the text would not fit the
// width. The text is drawn by font.Drawer into an RGBA copy of the banner,
// which is then copied onto the BGR frame.
func (p *DebugPainter) drawBanner(img Image, d Debug, size float64) {
	height := min(img.Height, int(math.Round(1.6*size)))
	b := bannerFor(d)
	r := image.Rect(0, 0, img.Width, height)
	if p.rgba == nil || p.rgba.Rect != r {
		p.rgba = image.NewRGBA(r)
	}
	rgba := p.rgba
	draw.Draw(rgba, rgba.Bounds(), image.NewUniform(b.bg), image.Point{}, draw.Src)
	p.drawText(rgba, bannerText(d), size, b.fg)
	for y := range height {
		src := rgba.Pix[y*rgba.Stride : y*rgba.Stride+4*img.Width]
		dst := img.Pix[y*img.Stride : y*img.Stride+3*img.Width]
		for x := range img.Width {
			dst[3*x], dst[3*x+1], dst[3*x+2] = src[4*x+2], src[4*x+1], src[4*x]
		}
	}
}

// maxPainterFaces bounds a DebugPainter's cache of faces.
const maxPainterFaces = 8

// face returns Go Bold at the given pixel size, nil if it cannot be made.
func (p *DebugPainter) face(size float64) font.Face {
	if f, ok := p.faces[size]; ok {
		return f
	}
	f, err := bannerFont()
	if err != nil {
		return nil
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil
	}
	// A video has one frame size, so a few sizes at most: the banner's,
	// and the smaller ones its longest texts need on narrow frames.
	if p.faces == nil || len(p.faces) >= maxPainterFaces {
		p.faces = make(map[float64]font.Face)
	}
	p.faces[size] = face
	return face
}

// drawText writes text left-aligned and vertically centred on dst.
func (p *DebugPainter) drawText(dst *image.RGBA, text string, size float64, fg color.RGBA) {
	fc := p.face(size)
	if fc == nil {
		return
	}
	pad := size / 2
	width := float64(font.MeasureString(fc, text)) / 64
	if room := float64(dst.Rect.Dx()) - 2*pad; width > room && size > 6 {
		size = max(6, math.Floor(size*room/width))
		pad = size / 2
		if fc = p.face(size); fc == nil {
			return
		}
	}
	capHeight := fc.Metrics().CapHeight
	dr := font.Drawer{
		Dst:  dst,
		Src:  image.NewUniform(fg),
		Face: fc,
		Dot:  fixed.Point26_6{X: fixed.I(int(math.Round(pad))), Y: (fixed.I(dst.Rect.Dy()) + capHeight) / 2},
	}
	dr.DrawString(text)
}

// drawLine draws the infinite line through l's two points across img, thick
// pixels wide: one span per row for steep lines and one per column for
// flat ones, so that it reaches the frame's edges without gaps.
func drawLine(img Image, l Line, thick int, c [3]byte) {
	dx, dy := l.Chin.X-l.Glabella.X, l.Chin.Y-l.Glabella.Y
	if !finite(dx) || !finite(dy) || (dx == 0 && dy == 0) {
		return
	}
	steep := math.Abs(dy) >= math.Abs(dx)
	along, across := img.Height, img.Width // rows, and pixels in a row
	if !steep {
		along, across = img.Width, img.Height
	}
	for i := range along {
		var centre float64
		if steep {
			centre = l.Glabella.X + (float64(i)-l.Glabella.Y)*dx/dy
		} else {
			centre = l.Glabella.Y + (float64(i)-l.Glabella.X)*dy/dx
		}
		lo := math.Round(centre) - float64((thick-1)/2)
		if !finite(lo) || lo >= float64(across) || lo+float64(thick) <= 0 {
			continue
		}
		for j := max(0, int(lo)); j < min(across, int(lo)+thick); j++ {
			if steep {
				setPixel(img, j, i, c)
			} else {
				setPixel(img, i, j, c)
			}
		}
	}
}

// drawDot fills the pixels within radius of p.
func drawDot(img Image, p Point, radius float64, c [3]byte) {
	if !finite(p.X) || !finite(p.Y) {
		return
	}
	x0, x1 := max(0, math.Ceil(p.X-radius)), min(float64(img.Width-1), math.Floor(p.X+radius))
	y0, y1 := max(0, math.Ceil(p.Y-radius)), min(float64(img.Height-1), math.Floor(p.Y+radius))
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			// Rounded products: the same dots on every platform.
			if float64((x-p.X)*(x-p.X))+float64((y-p.Y)*(y-p.Y)) <= radius*radius {
				setPixel(img, int(x), int(y), c)
			}
		}
	}
}

func setPixel(img Image, x, y int, c [3]byte) {
	i := y*img.Stride + 3*x
	img.Pix[i], img.Pix[i+1], img.Pix[i+2] = c[0], c[1], c[2]
}
