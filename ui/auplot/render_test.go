package auplot

import (
	"errors"
	"image"
	"image/color"
	"math"
	"strings"
	"testing"
)

var openFaceAUs = []string{
	"AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12",
	"AU14", "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU45",
}

// constant returns curves with n frames on each of sides, every AU at the
// side's value, so that each side draws a horizontal line of its own.
func constant(t testing.TB, n int, sides ...string) *Curves {
	t.Helper()
	level := map[string]float64{SideLeft: 1, SideRight: 3, SideSource: 2}
	c := NewCurves(openFaceAUs)
	v := make([]float64, len(openFaceAUs))
	for _, side := range sides {
		for i := range v {
			v[i] = level[side]
		}
		for f := range n {
			add(t, c, side, f, v...)
		}
	}
	return c
}

// near reports whether c is within a small distance of want, allowing for
// antialiasing at the edges of a line.
func near(c color.Color, want color.RGBA) bool {
	r, g, b, _ := c.RGBA()
	d := func(x uint32, y uint8) bool { return math.Abs(float64(x>>8)-float64(y)) <= 24 }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}

func count(img image.Image, r image.Rectangle, want color.RGBA) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if near(img.At(x, y), want) {
				n++
			}
		}
	}
	return n
}

func TestRenderColours(t *testing.T) {
	tests := []struct {
		name          string
		sides         []string
		selected      []string
		width, height int
	}{
		{"mirrored", []string{SideLeft, SideRight}, []string{"AU06", "AU12", "AU25", "AU45"}, 900, 500},
		{"mirrored, one AU", []string{SideLeft, SideRight}, []string{"AU12"}, 400, 300},
		{"mirrored, all AUs", []string{SideLeft, SideRight}, openFaceAUs, 900, 500},
		{"AUs only", []string{SideSource}, []string{"AU12", "AU45"}, 640, 360},
		{"all sides", []string{SideSource, SideLeft, SideRight}, []string{"AU01", "AU02"}, 1800, 1000},
	}
	sideColour := map[string]color.RGBA{SideSource: colorSource, SideLeft: colorLeft, SideRight: colorRight}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := constant(t, 300, tt.sides...)
			img, panels, err := c.render(tt.selected, tt.width, tt.height)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := img.Bounds(), image.Rect(0, 0, tt.width, tt.height); got != want {
				t.Fatalf("image bounds = %v, want %v", got, want)
			}
			if len(panels) != len(tt.selected) {
				t.Fatalf("got %d panels, want %d", len(panels), len(tt.selected))
			}
			for i, p := range panels {
				if p.Empty() || !p.In(img.Bounds()) {
					t.Fatalf("panel %s at %v, want a non-empty area in %v", tt.selected[i], p, img.Bounds())
				}
				for side, col := range sideColour {
					n := count(img, p, col)
					drawn := strings.Contains(strings.Join(tt.sides, " "), side)
					switch {
					case drawn && n == 0:
						t.Errorf("panel %s %v: no pixel of the %s colour", tt.selected[i], p, side)
					case !drawn && n > 0:
						t.Errorf("panel %s %v: %d pixels of the %s colour, which has no data", tt.selected[i], p, n, side)
					}
				}
			}
		})
	}
}

func TestRenderUnknownAU(t *testing.T) {
	c := constant(t, 10, SideLeft)
	for _, selected := range [][]string{
		{"AU99"},
		{"AU12", "AU99"},
		{"au12"},
	} {
		bad := selected[len(selected)-1]
		img, err := c.Render(selected, 300, 200)
		if err == nil {
			t.Errorf("Render(%q) succeeded, want error", selected)
			continue
		}
		if img != nil {
			t.Errorf("Render(%q) returned an image with its error", selected)
		}
		if !errors.Is(err, ErrUnknownAU) || !strings.Contains(err.Error(), bad) {
			t.Errorf("Render(%q) error = %q, want ErrUnknownAU naming %s", selected, err, bad)
		}
	}
}

func TestRenderEmpty(t *testing.T) {
	tests := []struct {
		name          string
		c             *Curves
		selected      []string
		width, height int
	}{
		{"no data", NewCurves(openFaceAUs), []string{"AU12", "AU45"}, 600, 400},
		{"no selection", constant(t, 30, SideLeft, SideRight), nil, 600, 400},
		{"no names", NewCurves(nil), nil, 600, 400},
		{"all NaN", nanCurves(t), []string{"AU12"}, 600, 400},
		{"tiny", constant(t, 30, SideLeft), openFaceAUs, 20, 10},
		{"one pixel", constant(t, 30, SideLeft), []string{"AU12"}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := tt.c.Render(tt.selected, tt.width, tt.height)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := img.Bounds(), image.Rect(0, 0, tt.width, tt.height); got != want {
				t.Errorf("image bounds = %v, want %v", got, want)
			}
		})
	}
}

func nanCurves(t *testing.T) *Curves {
	c := NewCurves(openFaceAUs)
	v := make([]float64, len(openFaceAUs))
	for i := range v {
		v[i] = math.NaN()
	}
	for f := range 10 {
		add(t, c, SideLeft, f, v...)
		add(t, c, SideRight, f, v...)
	}
	return c
}

func TestRenderInvalidSize(t *testing.T) {
	c := NewCurves(openFaceAUs)
	for _, size := range [][2]int{{0, 100}, {100, 0}, {-1, -1}} {
		if _, err := c.Render([]string{"AU12"}, size[0], size[1]); err == nil {
			t.Errorf("Render at %dx%d succeeded, want error", size[0], size[1])
		}
	}
}

// BenchmarkRender renders what the window shows at the end of a
// ten-minute video at 30 frames per second.
func BenchmarkRender(b *testing.B) {
	const frames = 10 * 60 * 30
	c := NewCurves(openFaceAUs)
	v := make([]float64, len(openFaceAUs))
	for f := range frames {
		t := float64(f) / 30
		for _, side := range []string{SideLeft, SideRight} {
			for i := range v {
				v[i] = 2.5 + 2*math.Sin(t/(3+float64(i))) + 0.3*math.Sin(7*t)
			}
			if side == SideRight {
				v[8] *= 0.6 // a weaker smile
			}
			add(b, c, side, f, v...)
		}
	}
	selected := []string{"AU06", "AU12", "AU25", "AU45"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Render(selected, 900, 500); err != nil {
			b.Fatal(err)
		}
	}
}
