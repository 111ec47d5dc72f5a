// Command genicon draws FaceMirror's application icon and writes it as a
// PNG: a face on a teal-to-blue tile, its left half solid and its right half
// a translucent reflection, split by a dashed amber midline — what the
// program does to a video. Run it through `go generate ./assets`.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

func main() {
	out := flag.String("o", "icon.png", "output PNG file")
	size := flag.Int("size", 512, "width and height in pixels")
	flag.Parse()
	if err := write(*out, *size); err != nil {
		fmt.Fprintln(os.Stderr, "genicon:", err)
		os.Exit(1)
	}
}

func write(path string, size int) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := png.Encode(f, render(size)); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

// rgba is a colour with straight (not premultiplied) alpha in [0, 1].
type rgba struct{ r, g, b, a float64 }

// layer is one shape of the drawing in a coordinate system where the tile
// spans [-256, 256] on both axes whatever the output size, y pointing down.
type layer struct {
	inside func(x, y float64) bool
	paint  func(x, y float64) rgba
}

func solid(c rgba) func(x, y float64) rgba { return func(float64, float64) rgba { return c } }

var (
	white = rgba{1, 1, 1, 1}
	navy  = rgba{0.11, 0.16, 0.27, 1}
	amber = rgba{0.98, 0.75, 0.14, 1}
)

func layers() []layer {
	const (
		faceRX, faceRY = 150.0, 190.0
		faceCY         = 10.0
	)
	inFace := func(x, y float64) bool {
		dx, dy := x/faceRX, (y-faceCY)/faceRY
		return dx*dx+dy*dy <= 1
	}
	eye := func(x, y float64) bool {
		ex := math.Abs(x) - 62
		ey := y + 30
		return ex*ex+ey*ey <= 21*21
	}
	smile := func(x, y float64) bool {
		dx, dy := x, y-25
		r := math.Hypot(dx, dy)
		angle := math.Atan2(dy, dx) // 0 to the right, positive downwards
		return math.Abs(r-88) <= 10 && angle > math.Pi/6 && angle < 5*math.Pi/6
	}
	midline := func(x, y float64) bool {
		if math.Abs(x) > 6 || y < -215 || y > 235 {
			return false
		}
		return int(math.Floor((y+215)/30))%2 == 0
	}
	return []layer{
		{ // tile: rounded square with a diagonal teal-to-blue gradient
			inside: func(x, y float64) bool { return roundedSquare(x, y, 240, 96) },
			paint: func(x, y float64) rgba {
				t := (x + y + 512) / 1024
				return mix(rgba{0.05, 0.62, 0.58, 1}, rgba{0.12, 0.23, 0.54, 1}, t)
			},
		},
		{inside: func(x, y float64) bool { return x <= 0 && inFace(x, y) }, paint: solid(white)},
		{inside: func(x, y float64) bool { return x > 0 && inFace(x, y) }, paint: solid(rgba{1, 1, 1, 0.45})},
		{inside: eye, paint: solid(navy)},
		{inside: smile, paint: solid(navy)},
		{inside: midline, paint: solid(amber)},
	}
}

func roundedSquare(x, y, half, radius float64) bool {
	ax, ay := math.Abs(x), math.Abs(y)
	if ax > half || ay > half {
		return false
	}
	cx, cy := ax-(half-radius), ay-(half-radius)
	if cx <= 0 || cy <= 0 {
		return true
	}
	return cx*cx+cy*cy <= radius*radius
}

func mix(a, b rgba, t float64) rgba {
	t = math.Max(0, math.Min(1, t))
	return rgba{a.r + (b.r-a.r)*t, a.g + (b.g-a.g)*t, a.b + (b.b-a.b)*t, a.a + (b.a-a.a)*t}
}

// render draws the icon at size x size pixels, antialiased by sampling
// each pixel on a 4 x 4 grid.
func render(size int) *image.NRGBA {
	const ss = 4
	ls := layers()
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	scale := 512 / float64(size)
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			var acc rgba // premultiplied sum over samples
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					x := (float64(px)+(float64(sx)+0.5)/ss)*scale - 256
					y := (float64(py)+(float64(sy)+0.5)/ss)*scale - 256
					c := sample(ls, x, y)
					acc.r += c.r * c.a
					acc.g += c.g * c.a
					acc.b += c.b * c.a
					acc.a += c.a
				}
			}
			n := float64(ss * ss)
			a := acc.a / n
			var c color.NRGBA
			if a > 0 {
				c = color.NRGBA{
					R: to8(acc.r / n / a), G: to8(acc.g / n / a), B: to8(acc.b / n / a), A: to8(a),
				}
			}
			img.SetNRGBA(px, py, c)
		}
	}
	return img
}

// sample composites the layers at one point, painter's order ("over").
func sample(ls []layer, x, y float64) rgba {
	var out rgba
	for _, l := range ls {
		if !l.inside(x, y) {
			continue
		}
		c := l.paint(x, y)
		a := c.a + out.a*(1-c.a)
		if a == 0 {
			continue
		}
		out = rgba{
			r: (c.r*c.a + out.r*out.a*(1-c.a)) / a,
			g: (c.g*c.a + out.g*out.a*(1-c.a)) / a,
			b: (c.b*c.a + out.b*out.a*(1-c.a)) / a,
			a: a,
		}
	}
	return out
}

func to8(v float64) uint8 { return uint8(math.Round(math.Max(0, math.Min(1, v)) * 255)) }
