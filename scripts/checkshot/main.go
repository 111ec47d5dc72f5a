// Command checkshot checks what scripts/window-test.sh captured of the real
// window: the live preview shows pictures, the AU plot has left and right
// curves, finished rows are green, and the exported AU CSV has a row per
// video, side and frame with the expected columns. It prints what it
// measured and exits 1 when a check fails.
package main

import (
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

func main() {
	running := flag.String("running", "", "screenshot taken while the first video is processed")
	done := flag.String("done", "", "screenshot taken after the run, its summary closed")
	table := flag.String("csv", "", "the exported AU CSV")
	frames := flag.String("frames", "", "comma-separated frame counts of the videos, in order")
	flag.Parse()
	var failed []string
	check := func(ok bool, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if ok {
			fmt.Println("checkshot: ok:", msg)
		} else {
			fmt.Println("checkshot: FAILED:", msg)
			failed = append(failed, msg)
		}
	}

	run, err := load(*running)
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkshot:", err)
		os.Exit(1)
	}
	end, err := load(*done)
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkshot:", err)
		os.Exit(1)
	}

	// The three preview pictures sit side by side at the top of the right
	// part of the window; a blank one is flat.
	for i, name := range []string{"source", "left mirrored", "right mirrored"} {
		x0 := 0.46 + float64(i)*0.18
		sd := lumaSD(run, frac(run, x0+0.02, 0.34, x0+0.16, 0.48))
		check(sd > 20, "preview %s while running: luminance SD %.1f (a face, not blank: > 20)", name, sd)
	}
	// The plot, below the previews: the left (blue) and right (orange)
	// curves.
	plot := frac(end, 0.46, 0.52, 1, 0.92)
	blue := count(end, plot, rgb{0x00, 0x72, 0xB2}, 40)
	orange := count(end, plot, rgb{0xE6, 0x9F, 0x00}, 40)
	// The right curve is drawn over the left one, so fewer blue pixels
	// show where the sides agree.
	check(blue > 150, "left curves in the plot: %d blue pixels (> 150)", blue)
	check(orange > 150, "right curves in the plot: %d orange pixels (> 150)", orange)
	// Rows: each finished row adds a green "done in …" line (about 200
	// green pixels at this size) to the green "face found" one.
	rows := frac(end, 0, 0.28, 0.45, 1)
	gRun, gEnd := green(run, rows), green(end, rows)
	check(gEnd-gRun > 250, "green text in the rows: %d pixels while running, %d at the end (two rows more green: > +250)", gRun, gEnd)

	var want []int
	for _, f := range strings.Split(*frames, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "checkshot: -frames:", err)
			os.Exit(2)
		}
		want = append(want, n)
	}
	if err := checkCSV(*table, want); err != nil {
		check(false, "exported CSV %s: %v", *table, err)
	} else {
		check(true, "exported CSV %s: the expected columns, and a row per video, side and frame", *table)
	}
	if len(failed) > 0 {
		os.Exit(1)
	}
}

func load(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return img, nil
}

// frac is the rectangle between the given fractions of img's size.
func frac(img image.Image, x0, y0, x1, y1 float64) image.Rectangle {
	b := img.Bounds()
	w, h := float64(b.Dx()), float64(b.Dy())
	return image.Rect(b.Min.X+int(x0*w), b.Min.Y+int(y0*h), b.Min.X+int(x1*w), b.Min.Y+int(y1*h))
}

type rgb struct{ r, g, b int }

func at(img image.Image, x, y int) rgb {
	r, g, b, _ := img.At(x, y).RGBA()
	return rgb{int(r >> 8), int(g >> 8), int(b >> 8)}
}

func lumaSD(img image.Image, r image.Rectangle) float64 {
	var n, sum, sq float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := at(img, x, y)
			l := 0.299*float64(c.r) + 0.587*float64(c.g) + 0.114*float64(c.b)
			n++
			sum += l
			sq += l * l
		}
	}
	if n == 0 {
		return 0
	}
	m := sum / n
	return math.Sqrt(max(0, sq/n-m*m))
}

// count is the number of pixels in r within tol (per channel) of c.
func count(img image.Image, r image.Rectangle, c rgb, tol int) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := at(img, x, y)
			if abs(p.r-c.r) <= tol && abs(p.g-c.g) <= tol && abs(p.b-c.b) <= tol {
				n++
			}
		}
	}
	return n
}

// green counts clearly green pixels: text in the theme's success colour.
func green(img image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := at(img, x, y)
			if p.g > 150 && p.g > p.r+60 && p.g > p.b+60 {
				n++
			}
		}
	}
	return n
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// checkCSV checks the export's header and that it has, per video in
// order, the sides source, left and right with frames 1..n each.
func checkCSV(path string, frames []int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return errors.New("empty")
	}
	aus := []string{"AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12", "AU14", "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU45"}
	header := []string{"video", "side", "frame", "timestamp", "success"}
	for _, a := range aus {
		header = append(header, a+"_r")
	}
	for _, a := range append(aus[:16:16], "AU28", "AU45") {
		header = append(header, a+"_c")
	}
	if !slices.Equal(recs[0], header) {
		return fmt.Errorf("header %q, want %q", recs[0], header)
	}
	row := 1
	var video string
	for vi, n := range frames {
		for _, side := range []string{"source", "left", "right"} {
			for fr := 1; fr <= n; fr++ {
				if row >= len(recs) {
					return fmt.Errorf("%d rows, want more (video %d, %s, frame %d)", len(recs)-1, vi+1, side, fr)
				}
				r := recs[row]
				if fr == 1 && side == "source" {
					video = r[0]
				}
				if r[0] != video || r[1] != side || r[2] != strconv.Itoa(fr) {
					return fmt.Errorf("row %d is %q, want video %d (%s), %s, frame %d", row, r[:3], vi+1, video, side, fr)
				}
				row++
			}
		}
	}
	if row != len(recs) {
		return fmt.Errorf("%d rows, want %d", len(recs)-1, row-1)
	}
	return nil
}
