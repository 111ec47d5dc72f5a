package asymmetry

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// MinActivityForAI is the smallest mean_left + mean_right for which an
// asymmetry index is given. Below it the AU (or region) is essentially
// absent on both sides and the ratio would amplify noise.
const MinActivityForAI = 0.05

// Kinds of summary rows.
const (
	KindAU     = "au"
	KindRegion = "region"
)

// ErrShape reports a Table, or a pair of OpenFace files, whose parts do
// not line up: different numbers of frames or AUs, different frame
// numbers, unusable AU names or values that are not finite. Errors wrap
// it after the package name and, when writing, the file's path:
// "asymmetry: x_summary.csv: inconsistent input: …".
var ErrShape = errors.New("inconsistent input")

// Side is one side's per-frame values.
type Side struct {
	Success   []bool      // per frame: OpenFace found a face
	Intensity [][]float64 // per frame, per AU (in Table.Names order)
}

// Table holds both sides of one video. Every per-frame slice has one
// element per timestamp.
type Table struct {
	Names      []string  // intensity AU names as in OpenFace's header without "_r", e.g. "AU01"
	Timestamps []float64 // per frame, seconds (OpenFace's timestamp column)
	// Frames are the rows' frame numbers (OpenFace's frame column, from
	// 1), which skip the frames of a damaged video that could not be
	// decoded; nil means 1, 2, 3, ...
	Frames      []int
	Left, Right Side
}

// Region is a facial region and its AUs.
type Region struct {
	Name string
	AUs  []string
}

// Regions returns the upper, middle and lower regions of the face, as
// palsy gradings examine it. The slices are fresh on each call, so
// callers may change them.
func Regions() []Region {
	return []Region{
		{Name: "upper", AUs: []string{"AU01", "AU02", "AU04"}},
		{Name: "middle", AUs: []string{"AU05", "AU06", "AU07", "AU09", "AU45"}},
		{Name: "lower", AUs: []string{"AU10", "AU12", "AU14", "AU15", "AU17", "AU20", "AU23", "AU25", "AU26"}},
	}
}

// SummaryRow is one line of the summary: an AU or a region. The means
// are meaningful only when Frames > 0, and AI only when HasAI.
type SummaryRow struct {
	Item        string // AU name or region name
	Kind        string // KindAU or KindRegion
	Frames      int    // frames with a face on both sides that the means cover
	MeanLeft    float64
	MeanRight   float64
	MeanAbsDiff float64
	AI          float64 // (MeanLeft − MeanRight) / (MeanLeft + MeanRight)
	HasAI       bool
}

// Summary computes one row per AU, in Names order, then one per region of
// Regions, over the frames where both sides found a face. It returns an
// error wrapping ErrShape when the table's lengths disagree.
func (t Table) Summary() ([]SummaryRow, error) {
	if err := t.validate(); err != nil {
		return nil, fmt.Errorf("asymmetry: %w", err)
	}
	n := 0
	sumL := make([]float64, len(t.Names))
	sumR := make([]float64, len(t.Names))
	sumD := make([]float64, len(t.Names))
	for f := range t.Timestamps {
		if !t.Left.Success[f] || !t.Right.Success[f] {
			continue
		}
		n++
		for a := range t.Names {
			l, r := t.Left.Intensity[f][a], t.Right.Intensity[f][a]
			sumL[a] += l
			sumR[a] += r
			sumD[a] += math.Abs(l - r)
		}
	}

	rows := make([]SummaryRow, 0, len(t.Names)+3)
	index := make(map[string]int, len(t.Names))
	for a, name := range t.Names {
		index[name] = a
		row := SummaryRow{Item: name, Kind: KindAU}
		if n > 0 {
			row.Frames = n
			row.MeanLeft = sumL[a] / float64(n)
			row.MeanRight = sumR[a] / float64(n)
			row.MeanAbsDiff = sumD[a] / float64(n)
			row.AI, row.HasAI = asymmetryIndex(row.MeanLeft, row.MeanRight)
		}
		rows = append(rows, row)
	}
	for _, reg := range Regions() {
		row := SummaryRow{Item: reg.Name, Kind: KindRegion}
		var l, r, d float64
		k := 0
		for _, au := range reg.AUs {
			a, ok := index[au]
			if !ok || n == 0 {
				continue
			}
			ar := rows[a]
			l, r, d = l+ar.MeanLeft, r+ar.MeanRight, d+ar.MeanAbsDiff
			k++
		}
		if k > 0 {
			row.Frames = n
			row.MeanLeft = l / float64(k)
			row.MeanRight = r / float64(k)
			row.MeanAbsDiff = d / float64(k)
			row.AI, row.HasAI = asymmetryIndex(row.MeanLeft, row.MeanRight)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// asymmetryIndex returns the signed index of two mean intensities, and
// false when they are too small for the ratio to mean anything.
func asymmetryIndex(left, right float64) (float64, bool) {
	sum := left + right
	if sum < MinActivityForAI {
		return 0, false
	}
	return (left - right) / sum, true
}

// validate reports the first way in which t's parts do not line up, for
// the caller to prefix with what it was doing.
func (t Table) validate() error {
	if len(t.Names) == 0 {
		return fmt.Errorf("%w: no AU names", ErrShape)
	}
	seen := make(map[string]bool, len(t.Names))
	for _, name := range t.Names {
		if !validName(name) {
			return fmt.Errorf("%w: AU name %q", ErrShape, name)
		}
		if seen[name] {
			return fmt.Errorf("%w: AU name %q appears twice", ErrShape, name)
		}
		seen[name] = true
	}
	frames := len(t.Timestamps)
	if t.Frames != nil && len(t.Frames) != frames {
		return fmt.Errorf("%w: %d frame numbers for %d timestamps", ErrShape, len(t.Frames), frames)
	}
	for f, ts := range t.Timestamps {
		if math.IsNaN(ts) || math.IsInf(ts, 0) {
			return fmt.Errorf("%w: timestamp of frame %d is %v", ErrShape, f+1, ts)
		}
	}
	for _, s := range []struct {
		name string
		side Side
	}{{"left", t.Left}, {"right", t.Right}} {
		if len(s.side.Success) != frames {
			return fmt.Errorf("%w: %s side has %d success flags for %d timestamps", ErrShape, s.name, len(s.side.Success), frames)
		}
		if len(s.side.Intensity) != frames {
			return fmt.Errorf("%w: %s side has %d intensity rows for %d timestamps", ErrShape, s.name, len(s.side.Intensity), frames)
		}
		for f, values := range s.side.Intensity {
			if len(values) != len(t.Names) {
				return fmt.Errorf("%w: %s side has %d intensities in frame %d for %d AU names", ErrShape, s.name, len(values), f+1, len(t.Names))
			}
			for a, v := range values {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("%w: %s %s of frame %d is %v", ErrShape, s.name, t.Names[a], f+1, v)
				}
			}
		}
	}
	return nil
}

// validName accepts names that cannot break a CSV line.
func validName(n string) bool {
	return n != "" && !strings.ContainsAny(n, ",\" \t\r\n")
}
