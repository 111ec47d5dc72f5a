package mirror

import (
	"fmt"
	"math"
)

// Point is a position in pixels of the upright frame; pixel (x, y)'s centre
// is at (x, y).
type Point struct{ X, Y float64 }

// Line is the facial midline, through the glabella and the chin.
type Line struct{ Glabella, Chin Point }

// Landmark indices (0-based, OpenFace's 68-point scheme) that define the
// midline: the inner ends of the two brows, whose midpoint is the glabella,
// and the tip of the chin.
const (
	numLandmarks  = 68
	innerBrowR    = 21
	innerBrowL    = 22
	chinLandmark  = 8
	landmarkCount = 2 * numLandmarks
)

// FromLandmarks returns the midline of one frame's 68 landmarks given in
// OpenFace's CSV order: 68 x values then 68 y values (len 136). The glabella
// is the midpoint of landmarks 21 and 22 (0-based) and the chin is landmark 8.
func FromLandmarks(lm []float32) (Line, error) {
	if len(lm) != landmarkCount {
		return Line{}, fmt.Errorf("mirror: got %d landmark values, want %d (68 x then 68 y)", len(lm), landmarkCount)
	}
	for i, v := range lm {
		if !finite(float64(v)) {
			return Line{}, fmt.Errorf("mirror: landmark value %d (%s %d) is %v", i, "xy"[i/numLandmarks:i/numLandmarks+1], i%numLandmarks, v)
		}
	}
	at := func(i int) Point {
		return Point{float64(lm[i]), float64(lm[numLandmarks+i])}
	}
	r, l := at(innerBrowR), at(innerBrowL)
	line := Line{
		Glabella: Point{(r.X + l.X) / 2, (r.Y + l.Y) / 2},
		Chin:     at(chinLandmark),
	}
	if line.Glabella == line.Chin {
		return Line{}, fmt.Errorf("mirror: glabella and chin coincide at (%g, %g): no midline direction", line.Chin.X, line.Chin.Y)
	}
	return line, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func (l Line) finite() bool {
	return finite(l.Glabella.X) && finite(l.Glabella.Y) && finite(l.Chin.X) && finite(l.Chin.Y)
}
