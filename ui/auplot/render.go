package auplot

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"

	stdfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Colours of the sides. Left and right come from the Okabe–Ito palette,
// which stays distinct for the common forms of colour blindness; the
// source is a neutral dark grey because it is the whole face, not a side.
var (
	colorLeft   = color.RGBA{R: 0x00, G: 0x72, B: 0xB2, A: 0xFF} // blue
	colorRight  = color.RGBA{R: 0xE6, G: 0x9F, B: 0x00, A: 0xFF} // orange
	colorSource = color.RGBA{R: 0x44, G: 0x44, B: 0x44, A: 0xFF} // dark grey
	colorGrid   = color.RGBA{R: 0xE4, G: 0xE4, B: 0xE4, A: 0xFF}
	colorMuted  = color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xFF}
)

// Sizes in points. Images larger than the reference size get a higher
// resolution rather than larger sizes, so that their proportions stay.
const (
	titleSize  = 10
	labelSize  = 9 // tick labels, axis label and legend
	lineWidth  = 1.5
	legendLine = 16

	// baseDPI is the resolution at the reference size of 900x500 pixels,
	// where 9 points are 12 pixels: small enough to leave room for
	// several panels, large enough to read at a glance.
	baseDPI  = 96
	refW     = 900
	refH     = 500
	maxScale = 2

	// minSpan is the shortest time axis, in seconds, so that the first
	// frames of a video do not stretch across the whole width.
	minSpan = 5

	// maxIntensity is the top of the OpenFace AU intensity scale.
	maxIntensity = 5
)

var sideStyle = [numSides]struct {
	name  string
	color color.Color
}{
	source: {SideSource, colorSource},
	left:   {SideLeft, colorLeft},
	right:  {SideRight, colorRight},
}

// Render draws the curves of the selected AUs, in the given order, into a
// new image of width by height pixels: one panel per AU, stacked, sharing
// a time axis that runs from 0 to the latest time seen (at least a few
// seconds), with intensity from 0 to 5. NaN values leave gaps. Each curve
// is reduced to the extremes of each pixel column first, so the cost
// depends on the image size more than on the length of the video.
//
// When the panels are too low for a title line each, the titles move to a
// column on their left. An empty selection, or no data, gives empty axes.
// Render returns an error if an AU in selected is unknown or the size is
// not positive.
func (c *Curves) Render(selected []string, width, height int) (image.Image, error) {
	img, _, err := c.render(selected, width, height)
	return img, err
}

// render is Render, also returning the pixel rectangle of the data area
// of each panel, for tests.
func (c *Curves) render(selected []string, width, height int) (image.Image, []image.Rectangle, error) {
	if width <= 0 || height <= 0 {
		return nil, nil, fmt.Errorf("auplot: render: invalid size %dx%d", width, height)
	}
	cols := make([]int, len(selected))
	for i, au := range selected {
		a, ok := c.index[au]
		if !ok {
			return nil, nil, fmt.Errorf("auplot: render: %w %q", ErrUnknownAU, au)
		}
		cols[i] = a
	}
	titles := []string{"no AU selected"}
	if len(selected) > 0 {
		titles = make([]string, len(selected))
		for i, au := range selected {
			titles[i] = c.title(au)
		}
	}

	scale := min(float64(width)/refW, float64(height)/refH)
	dpi := int(math.Round(baseDPI * max(1, min(scale, maxScale))))
	toLen := func(px int) vg.Length { return vg.Length(px) * vg.Inch / vg.Length(dpi) }
	canvas := vgimg.NewWith(vgimg.UseWH(toLen(width), toLen(height)), vgimg.UseDPI(dpi))
	dc := draw.New(canvas)

	r := newRenderer(c, float64(dpi))
	header := r.drawHeader(dc)
	body := draw.Crop(dc, 0, 0, 0, -header)

	// Titles above the panels cost a line of text each; when that leaves
	// too little height for the data, move them to a column on the left.
	plots, areas := r.layout(body, titles, false)
	lh := r.label.Height("0")
	// A NaN height, from a tile too small for gonum/plot to lay out, is
	// too little too.
	compact := !(dataHeight(plots[0][0], areas[0][0]) >= 3*lh)
	titleCol := body
	if compact {
		w := vg.Length(0)
		for _, t := range titles {
			w = max(w, r.title.Width(t))
		}
		w = min(w+vg.Points(8), (body.Max.X-body.Min.X)*2/5)
		titleCol.Max.X = body.Min.X + w
		body.Min.X += w
		plots, areas = r.layout(body, titles, true)
	}
	// Single-digit labels all have the same size, so labelling every
	// whole intensity when there is room does not change the layout.
	if !compact && dataHeight(plots[0][0], areas[0][0]) >= 6*lh {
		for _, p := range plots {
			p[0].Y.Tick.Marker = intensityTicks(true)
		}
	}

	for i, p := range plots {
		if i < len(cols) {
			for s := range c.tracks {
				if r.present[s] {
					p[0].Add(&series{r: r, track: &c.tracks[s], col: cols[i], style: r.lineStyle(s)})
				}
			}
		}
	}

	rects := make([]image.Rectangle, len(plots))
	for i, p := range plots {
		p[0].Draw(areas[i][0])
		data := p[0].DataCanvas(areas[i][0])
		rects[i] = r.pixelRect(height, data)
		if compact {
			sty := r.title
			sty.XAlign, sty.YAlign = draw.XLeft, draw.YCenter
			pt := vg.Point{X: titleCol.Min.X + vg.Points(4), Y: data.Center().Y}
			dc.FillText(sty, pt, titles[i])
		}
	}
	return canvas.Image(), rects, nil
}

// layout returns one plot per title, without data, and where to draw
// them in body so that their data areas have the same size.
func (r *renderer) layout(body draw.Canvas, titles []string, compact bool) ([][]*plot.Plot, [][]draw.Canvas) {
	n := len(titles)
	xmax := max(r.c.maxT, minSpan)
	xticks := timeTicks{labels: max(2, int((body.Max.X-body.Min.X)/vg.Points(60)))}
	plots := make([][]*plot.Plot, n)
	for i := range n {
		p := r.newPanel(xmax, xticks, i == n-1, compact)
		if !compact {
			p.Title.Text = titles[i]
		}
		plots[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{
		Rows:      n,
		Cols:      1,
		PadTop:    vg.Points(2),
		PadBottom: vg.Points(2),
		PadLeft:   vg.Points(4),
		PadRight:  vg.Points(10), // room for the last time label
		PadY:      vg.Points(3),
	}
	if compact {
		tiles.PadY = vg.Points(2)
	}
	return plots, plot.Align(plots, tiles, body)
}

func dataHeight(p *plot.Plot, area draw.Canvas) vg.Length {
	d := p.DataCanvas(area)
	return d.Max.Y - d.Min.Y
}

// title is the panel title of au: its name and, when both sides have
// data, its asymmetry index, the number a reader compares across panels.
func (c *Curves) title(au string) string {
	if c.tracks[left].n == 0 || c.tracks[right].n == 0 {
		return au
	}
	ai, ok := c.Asymmetry(au)
	if !ok {
		return au + "  asym –"
	}
	return fmt.Sprintf("%s  asym %+.2f", au, ai)
}

// renderer holds what one call of Render shares between its panels.
type renderer struct {
	c       *Curves
	dpi     float64
	present [numSides]bool
	title   text.Style
	label   text.Style
	points  []point    // scratch for decimated curves
	line    []vg.Point // scratch for one curve in drawing coordinates
}

func newRenderer(c *Curves, dpi float64) *renderer {
	r := &renderer{c: c, dpi: dpi}
	for s := range c.tracks {
		r.present[s] = c.tracks[s].n > 0
	}
	sans := font.Font{Typeface: "Liberation", Variant: "Sans"}
	bold := sans
	bold.Weight = stdfont.WeightBold
	r.label = text.Style{
		Color:   color.Black,
		Font:    font.From(sans, labelSize),
		Handler: plot.DefaultTextHandler,
	}
	r.title = r.label
	r.title.Font = font.From(bold, titleSize)
	r.title.XAlign = draw.XCenter
	r.title.YAlign = draw.YTop
	return r
}

func (r *renderer) lineStyle(side int) draw.LineStyle {
	return draw.LineStyle{Color: sideStyle[side].color, Width: vg.Points(lineWidth)}
}

// drawHeader draws the figure's header line, which says what the curves
// are and which colour is which side, and returns its height. One legend
// for the figure rather than one per panel keeps the panels free for data.
func (r *renderer) drawHeader(dc draw.Canvas) vg.Length {
	ext := r.label.FontExtents()
	height := ext.Height + vg.Points(4)

	top := dc.Max.Y - vg.Points(2)
	mid := top - ext.Height/2
	sty := r.label
	sty.YAlign = draw.YTop
	gap := r.label.Width(" ")

	// Lay the legend out from the right edge.
	x := dc.Max.X - vg.Points(10)
	for s := numSides - 1; s >= 0; s-- {
		if !r.present[s] {
			continue
		}
		name := sideStyle[s].name
		x -= r.label.Width(name)
		dc.FillText(sty, vg.Point{X: x, Y: top}, name)
		x -= gap
		dc.StrokeLine2(r.lineStyle(s), x-vg.Points(legendLine), mid, x, mid)
		x -= vg.Points(legendLine) + 3*gap
	}

	const caption = "AU intensity (0–5)"
	x0 := dc.Min.X + vg.Points(4)
	if x0+r.label.Width(caption) < x {
		sty.Color = colorMuted
		dc.FillText(sty, vg.Point{X: x0, Y: top}, caption)
	}
	return height
}

// newPanel returns the plot of one AU. Only the bottom panel labels the
// time axis, since all panels share it. A compact panel drops the
// intensity labels and the upper panels' time ticks: the header gives the
// scale and the grid the steps.
func (r *renderer) newPanel(xmax float64, xticks plot.Ticker, bottom, compact bool) *plot.Plot {
	p := plot.New()
	p.BackgroundColor = nil // the canvas is already white
	p.Title.TextStyle = r.title
	p.Title.Padding = vg.Points(1)

	p.X.Min, p.X.Max = 0, xmax
	p.Y.Min, p.Y.Max = 0, maxIntensity
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Padding = vg.Points(2)
		ax.Tick.Label.Font = r.label.Font
		ax.Tick.Length = vg.Points(3)
	}
	p.X.Tick.Marker = xticks
	p.Y.Tick.Marker = intensityTicks(false)
	switch {
	case bottom:
		p.X.Label.Text = "time (s)"
		p.X.Label.TextStyle.Font = r.label.Font
		p.X.Label.Padding = vg.Points(1)
	case compact:
		p.X.Tick.Marker = plot.ConstantTicks(nil)
	default:
		p.X.Tick.Marker = unlabelled{xticks}
	}
	if compact {
		p.Y.Tick.Marker = unlabelled{p.Y.Tick.Marker}
		p.X.Padding, p.Y.Padding = vg.Points(1), vg.Points(1)
	}
	p.Add(grid{xticks: xticks, dpi: r.dpi})
	return p
}

// intensityTicks returns a tick at each whole intensity, labelling all of
// them or only the ends of the scale.
func intensityTicks(all bool) plot.Ticker {
	ticks := make(plot.ConstantTicks, maxIntensity+1)
	for i := range ticks {
		ticks[i].Value = float64(i)
		if all || i == 0 || i == maxIntensity {
			ticks[i].Label = strconv.Itoa(i)
		}
	}
	return ticks
}

// timeTicks labels the time axis in whole seconds, at steps a reader
// counts in (1, 2, 5, 10, 15, 30 s, then minutes), with at most labels
// labels.
type timeTicks struct{ labels int }

func (tt timeTicks) Ticks(min, max float64) []plot.Tick {
	span := max - min
	if !(span > 0) || tt.labels < 1 {
		return nil
	}
	step := 0.0
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600} {
		if span/s <= float64(tt.labels) {
			step = s
			break
		}
	}
	if step == 0 {
		step = 3600 * math.Ceil(span/3600/float64(tt.labels))
	}
	var ticks []plot.Tick
	for v := math.Ceil(min/step) * step; v <= max; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ticks
}

// pixelRect converts a canvas rectangle, whose y axis points up, to image
// pixels.
func (r *renderer) pixelRect(height int, c draw.Canvas) image.Rectangle {
	px := func(l vg.Length) int { return int(math.Round(l.Dots(r.dpi))) }
	return image.Rect(px(c.Min.X), height-px(c.Max.Y), px(c.Max.X), height-px(c.Min.Y))
}

// unlabelled keeps the ticks of the shared time axis on the upper panels,
// so that their grid lines line up, without repeating the labels.
type unlabelled struct{ plot.Ticker }

func (u unlabelled) Ticks(min, max float64) []plot.Tick {
	ticks := u.Ticker.Ticks(min, max)
	for i := range ticks {
		ticks[i].Label = ""
	}
	return ticks
}

// grid draws light lines at the labelled times and at each whole
// intensity, or only at the top of the scale when the lines would be too
// close to tell apart. plotter.Grid would skip the unlabelled intensities.
type grid struct {
	xticks plot.Ticker
	dpi    float64
}

func (g grid) Plot(c draw.Canvas, p *plot.Plot) {
	sty := draw.LineStyle{Color: colorGrid, Width: vg.Points(0.5)}
	trX, trY := p.Transforms(&c)
	step := 1
	if (trY(1) - trY(0)).Dots(g.dpi) < 6 {
		step = maxIntensity
	}
	for i := step; i <= maxIntensity; i += step {
		y := trY(float64(i))
		c.StrokeLine2(sty, c.Min.X, y, c.Max.X, y)
	}
	for _, tk := range g.xticks.Ticks(p.X.Min, p.X.Max) {
		if tk.Value <= p.X.Min || tk.Value > p.X.Max {
			continue
		}
		x := trX(tk.Value)
		c.StrokeLine2(sty, x, c.Min.Y, x, c.Max.Y)
	}
}

// series draws one AU curve of one side. It decimates when drawn, because
// only then is the width of the data area, in pixels, known.
type series struct {
	r     *renderer
	track *track
	col   int
	style draw.LineStyle
}

func (s *series) Plot(c draw.Canvas, p *plot.Plot) {
	r := s.r
	cols := int(math.Ceil((c.Max.X - c.Min.X).Dots(r.dpi)))
	r.points = decimate(r.points[:0], s.track.t, s.track.v[s.col], p.X.Min, p.X.Max, cols)

	trX, trY := p.Transforms(&c)
	var lines [][]vg.Point
	line := r.line[:0]
	end := func() {
		switch len(line) {
		case 0:
			return
		case 1:
			// A lone value between gaps would vanish as a line of one
			// point; draw it one pixel wide.
			pt := line[0]
			pt.X += vg.Inch / vg.Length(r.dpi)
			line = append(line, pt)
		}
		// ClipLinesXY copies, so line can be reused.
		lines = append(lines, c.ClipLinesXY(line)...)
		line = line[:0]
	}
	for _, pt := range r.points {
		if math.IsNaN(pt.y) {
			end()
			continue
		}
		line = append(line, vg.Point{X: trX(pt.x), Y: trY(pt.y)})
	}
	end()
	r.line = line
	c.StrokeLines(s.style, chunk(lines, strokeChunk)...)
}

// strokeChunk is the number of points stroked at a time. The rasterizer
// behind vgimg keeps the cells of a row in a list that it searches for
// every new cell, so a path's cost grows with the square of its width;
// short paths made BenchmarkRender three times faster.
const strokeChunk = 64

// chunk splits lines into lines of at most n points, consecutive pieces
// sharing a point so that they still join.
func chunk(lines [][]vg.Point, n int) [][]vg.Point {
	var out [][]vg.Point
	for _, l := range lines {
		for len(l) > n {
			out = append(out, l[:n])
			l = l[n-1:]
		}
		out = append(out, l)
	}
	return out
}
