package helper

import (
	"image"
	"image/color"
	"math"
	"time"

	"facemirror/mirror"

	"gocv.io/x/gocv"
)

// previewer makes at most PreviewRate previews a second.
type previewer struct {
	last time.Time
}

func (p *previewer) due() bool { return time.Since(p.last) >= time.Second/PreviewRate }

// make encodes the downscaled source (with its midline) and mirrored
// pictures of frame i.
func (p *previewer) make(i int, src *gocv.Mat, line mirror.Line, right, left *mirrorSide) (MirrorPreview, error) {
	p.last = time.Now()
	out := MirrorPreview{Index: i}
	scale := min(1, float64(PreviewWidth)/float64(src.Cols()))
	enc := func(m gocv.Mat, withLine bool) ([]byte, error) {
		size := image.Pt(max(1, int(math.Round(float64(m.Cols())*scale))), max(1, int(math.Round(float64(m.Rows())*scale))))
		small := gocv.NewMat()
		defer small.Close()
		gocv.Resize(m, &small, size, 0, 0, gocv.InterpolationArea)
		if withLine {
			a, b := lineAcross(line, m.Cols(), m.Rows())
			pt := func(q mirror.Point) image.Point {
				return image.Pt(int(math.Round(q.X*scale)), int(math.Round(q.Y*scale)))
			}
			gocv.Line(&small, pt(a), pt(b), color.RGBA{R: 255, G: 64, B: 255, A: 255}, 1)
		}
		buf, err := gocv.IMEncode(gocv.JPEGFileExt, small)
		if err != nil {
			return nil, err
		}
		defer buf.Close()
		return append([]byte(nil), buf.GetBytes()...), nil
	}
	var err error
	if out.Source, err = enc(*src, true); err != nil {
		return out, err
	}
	if right.wanted() {
		if out.Right, err = enc(right.mat, false); err != nil {
			return out, err
		}
	}
	if left.wanted() {
		if out.Left, err = enc(left.mat, false); err != nil {
			return out, err
		}
	}
	return out, nil
}

// lineAcross returns two points of the midline at the top and bottom edge
// of a w×h picture (or its left and right edge for a near-horizontal
// line), so that the line drawn between them crosses the whole picture.
func lineAcross(l mirror.Line, w, h int) (a, b mirror.Point) {
	dx, dy := l.Chin.X-l.Glabella.X, l.Chin.Y-l.Glabella.Y
	if math.Abs(dy) >= math.Abs(dx) && dy != 0 {
		at := func(y float64) mirror.Point { return mirror.Point{X: l.Glabella.X + (y-l.Glabella.Y)*dx/dy, Y: y} }
		return at(0), at(float64(h - 1))
	}
	if dx == 0 {
		return l.Glabella, l.Chin
	}
	at := func(x float64) mirror.Point { return mirror.Point{X: x, Y: l.Glabella.Y + (x-l.Glabella.X)*dy/dx} }
	return at(0), at(float64(w - 1))
}
