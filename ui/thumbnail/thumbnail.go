// Package thumbnail prepares a video's first frame for the list: it shrinks
// the frame to thumbnail size by averaging (so that a 4K frame costs the
// window a few hundred kilobytes, not tens of megabytes) and draws the
// detected face box on it.
package thumbnail

import (
	"image"
	"image/color"
	"math"

	"facemirror/ui/backend"
)

// faceColor is the colour of the face box outline: a green that stays
// visible on skin, hair and dark backgrounds alike.
var faceColor = color.RGBA{R: 0x2e, G: 0xd5, B: 0x73, A: 0xff}

// Render returns frame scaled down (never up) to fit within maxW x maxH,
// keeping its aspect ratio, with face (when non-nil, in frame pixel
// coordinates) outlined. The result's bounds start at (0, 0). A frame with
// an empty rectangle, or non-positive limits, gives a nil image.
func Render(frame image.Image, face *backend.FaceBox, maxW, maxH int) *image.RGBA {
	b := frame.Bounds()
	if b.Empty() || maxW <= 0 || maxH <= 0 {
		return nil
	}
	scale := math.Min(1, math.Min(float64(maxW)/float64(b.Dx()), float64(maxH)/float64(b.Dy())))
	w := max(1, int(math.Round(float64(b.Dx())*scale)))
	h := max(1, int(math.Round(float64(b.Dy())*scale)))
	out := shrink(frame, w, h)
	if face != nil {
		sx := float64(w) / float64(b.Dx())
		sy := float64(h) / float64(b.Dy())
		box := image.Rect(
			int(math.Round(face.X*sx)), int(math.Round(face.Y*sy)),
			int(math.Round((face.X+face.Width)*sx)), int(math.Round((face.Y+face.Height)*sy)),
		)
		outline(out, box, LineWidth(w, h), faceColor)
	}
	return out
}

// LineWidth is the outline thickness used for a w x h thumbnail: thin
// enough not to hide the face, thick enough to see in a small preview.
func LineWidth(w, h int) int { return max(2, min(w, h)/50) }

// shrink resamples src to w x h by averaging the source pixels that fall
// into each destination pixel (a box filter), which avoids the aliasing of
// nearest-neighbour sampling when the factor is large.
func shrink(src image.Image, w, h int) *image.RGBA {
	b := src.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	rgba, fast := src.(*image.RGBA)
	for dy := 0; dy < h; dy++ {
		y0 := b.Min.Y + dy*b.Dy()/h
		y1 := max(y0+1, b.Min.Y+(dy+1)*b.Dy()/h)
		for dx := 0; dx < w; dx++ {
			x0 := b.Min.X + dx*b.Dx()/w
			x1 := max(x0+1, b.Min.X+(dx+1)*b.Dx()/w)
			var r, g, bl, a, n uint64
			for y := y0; y < y1; y++ {
				if fast {
					row := rgba.Pix[rgba.PixOffset(x0, y):rgba.PixOffset(x1, y)]
					for i := 0; i < len(row); i += 4 {
						r += uint64(row[i])
						g += uint64(row[i+1])
						bl += uint64(row[i+2])
						a += uint64(row[i+3])
					}
					n += uint64(x1 - x0)
					continue
				}
				for x := x0; x < x1; x++ {
					c := color.RGBAModel.Convert(src.At(x, y)).(color.RGBA)
					r += uint64(c.R)
					g += uint64(c.G)
					bl += uint64(c.B)
					a += uint64(c.A)
					n++
				}
			}
			i := out.PixOffset(dx, dy)
			out.Pix[i+0] = uint8((r + n/2) / n)
			out.Pix[i+1] = uint8((g + n/2) / n)
			out.Pix[i+2] = uint8((bl + n/2) / n)
			out.Pix[i+3] = uint8((a + n/2) / n)
		}
	}
	return out
}

// outline draws the border of box, t pixels thick and lying inside box,
// clipped to the image.
func outline(img *image.RGBA, box image.Rectangle, t int, c color.RGBA) {
	box = box.Canon()
	if box.Empty() {
		return
	}
	t = min(t, (box.Dx()+1)/2, (box.Dy()+1)/2)
	fill(img, image.Rect(box.Min.X, box.Min.Y, box.Max.X, box.Min.Y+t), c) // top
	fill(img, image.Rect(box.Min.X, box.Max.Y-t, box.Max.X, box.Max.Y), c) // bottom
	fill(img, image.Rect(box.Min.X, box.Min.Y, box.Min.X+t, box.Max.Y), c) // left
	fill(img, image.Rect(box.Max.X-t, box.Min.Y, box.Max.X, box.Max.Y), c) // right
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}
