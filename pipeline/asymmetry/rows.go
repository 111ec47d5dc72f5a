package asymmetry

import (
	"fmt"
	"slices"

	"facemirror/pipeline/openfacecsv"
)

// FromRows builds a Table from the rows of the left-mirrored and the
// right-mirrored OpenFace files of one video. names are the intensity AUs
// of both files (their Layout.IntensityAUs), in the order of the rows'
// Intensity values. Both sides must have the same number of rows with the
// same frame numbers, since they come from the same frames of the same
// video; the timestamps are taken from the left rows. Values are copied,
// so the rows may be reused.
func FromRows(names []string, left, right []openfacecsv.Row) (Table, error) {
	if len(left) != len(right) {
		return Table{}, fmt.Errorf("asymmetry: %w: left side has %d frames, right side %d", ErrShape, len(left), len(right))
	}
	t := Table{
		Names:      slices.Clone(names),
		Timestamps: make([]float64, len(left)),
		Frames:     make([]int, len(left)),
		Left:       newSide(len(left), len(names)),
		Right:      newSide(len(left), len(names)),
	}
	for i := range left {
		l, r := &left[i], &right[i]
		if l.Frame != r.Frame {
			return Table{}, fmt.Errorf("asymmetry: %w: row %d is frame %d on the left side but frame %d on the right", ErrShape, i+1, l.Frame, r.Frame)
		}
		for _, s := range []struct {
			name string
			row  *openfacecsv.Row
			side Side
		}{{"left", l, t.Left}, {"right", r, t.Right}} {
			if len(s.row.Intensity) != len(names) {
				return Table{}, fmt.Errorf("asymmetry: %w: %s frame %d has %d AU intensities for %d AU names", ErrShape, s.name, s.row.Frame, len(s.row.Intensity), len(names))
			}
			s.side.Success[i] = s.row.Success
			copy(s.side.Intensity[i], s.row.Intensity)
		}
		t.Timestamps[i] = l.Timestamp
		t.Frames[i] = l.Frame
	}
	if err := t.validate(); err != nil {
		return Table{}, fmt.Errorf("asymmetry: %w", err)
	}
	return t, nil
}

// FromFiles builds a Table from the left-mirrored and right-mirrored
// OpenFace files of one video, as openfacecsv.ReadFile returns them. Both
// must have the same intensity AU columns.
func FromFiles(left, right *openfacecsv.File) (Table, error) {
	if left == nil || right == nil {
		return Table{}, fmt.Errorf("asymmetry: %w: missing left or right file", ErrShape)
	}
	for _, f := range []struct {
		name string
		file *openfacecsv.File
	}{{"left", left}, {"right", right}} {
		if !f.file.Layout.AUs || len(f.file.Layout.IntensityAUs) == 0 {
			return Table{}, fmt.Errorf("asymmetry: %w: %s file has no AU intensity columns (was OpenFace run with -aus?)", ErrShape, f.name)
		}
	}
	ln, rn := left.Layout.IntensityAUs, right.Layout.IntensityAUs
	if !slices.Equal(ln, rn) {
		return Table{}, fmt.Errorf("asymmetry: %w: left file has AU intensities %v, right file %v", ErrShape, ln, rn)
	}
	return FromRows(ln, left.Rows, right.Rows)
}

// newSide allocates a side of frames × aus values in one block.
func newSide(frames, aus int) Side {
	s := Side{Success: make([]bool, frames), Intensity: make([][]float64, frames)}
	values := make([]float64, frames*aus)
	for f := range s.Intensity {
		s.Intensity[f] = values[f*aus : (f+1)*aus : (f+1)*aus]
	}
	return s
}
