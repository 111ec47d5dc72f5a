package asymmetry

import (
	"bufio"
	"facemirror/internal/atomicfile"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Printing precision: the timestamp and intensities as OpenFace prints
// them, so the per-frame table reads like the files it comes from; the
// summary with more decimals, because means of 2-decimal values carry
// more information than any one of them.
const (
	precTimestamp = 3
	precIntensity = 2
	precSummary   = 4
)

// WriteAsymmetry writes the per-frame table (<stem>_asymmetry.csv) to path
// atomically. A table whose lengths disagree is refused before anything
// is created.
func (t Table) WriteAsymmetry(path string) error {
	if err := t.validate(); err != nil {
		return fmt.Errorf("asymmetry: %s: %w", path, err)
	}
	return writeAtomic(path, func(w *bufio.Writer) error {
		b := []byte("frame,timestamp,success_left,success_right")
		for _, name := range t.Names {
			b = append(b, ',')
			b = append(b, name...)
			b = append(b, "_left,"...)
			b = append(b, name...)
			b = append(b, "_right,"...)
			b = append(b, name...)
			b = append(b, "_diff"...)
		}
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
		for f, ts := range t.Timestamps {
			frame := f + 1
			if t.Frames != nil {
				frame = t.Frames[f]
			}
			b = strconv.AppendInt(b[:0], int64(frame), 10)
			b = append(b, ',')
			b = strconv.AppendFloat(b, ts, 'f', precTimestamp, 64)
			b = appendFlag(append(b, ','), t.Left.Success[f])
			b = appendFlag(append(b, ','), t.Right.Success[f])
			for a := range t.Names {
				l, r := t.Left.Intensity[f][a], t.Right.Intensity[f][a]
				b = strconv.AppendFloat(append(b, ','), l, 'f', precIntensity, 64)
				b = strconv.AppendFloat(append(b, ','), r, 'f', precIntensity, 64)
				b = appendFixed(append(b, ','), l-r, precIntensity)
			}
			b = append(b, '\n')
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
}

// SummaryColumns returns the header of <stem>_summary.csv, for readers of
// the file.
func SummaryColumns() []string {
	return []string{"item", "kind", "frames", "mean_left", "mean_right", "mean_abs_diff", "asymmetry_index"}
}

// WriteSummary writes summary rows (<stem>_summary.csv) to path
// atomically. Means of rows with Frames 0, and the index of rows without
// HasAI, are written as empty fields.
func WriteSummary(path string, rows []SummaryRow) error {
	for _, r := range rows {
		if !validName(r.Item) || !validName(r.Kind) {
			return fmt.Errorf("asymmetry: %s: %w: summary item %q of kind %q", path, ErrShape, r.Item, r.Kind)
		}
		if r.Frames < 0 {
			return fmt.Errorf("asymmetry: %s: %w: %s has %d frames", path, ErrShape, r.Item, r.Frames)
		}
		if r.Frames > 0 {
			for _, v := range []float64{r.MeanLeft, r.MeanRight, r.MeanAbsDiff, r.AI} {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("asymmetry: %s: %w: %s has value %v", path, ErrShape, r.Item, v)
				}
			}
		}
	}
	return writeAtomic(path, func(w *bufio.Writer) error {
		b := []byte(strings.Join(SummaryColumns(), ",") + "\n")
		if _, err := w.Write(b); err != nil {
			return err
		}
		for _, r := range rows {
			b = append(b[:0], r.Item...)
			b = append(b, ',')
			b = append(b, r.Kind...)
			b = strconv.AppendInt(append(b, ','), int64(r.Frames), 10)
			if r.Frames > 0 {
				b = appendFixed(append(b, ','), r.MeanLeft, precSummary)
				b = appendFixed(append(b, ','), r.MeanRight, precSummary)
				b = appendFixed(append(b, ','), r.MeanAbsDiff, precSummary)
				b = append(b, ',')
				if r.HasAI {
					b = appendFixed(b, r.AI, precSummary)
				}
			} else {
				b = append(b, ",,,,"...) // four empty values
			}
			b = append(b, '\n')
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
}

func appendFlag(b []byte, ok bool) []byte {
	if ok {
		return append(b, '1')
	}
	return append(b, '0')
}

// appendFixed prints v with prec decimals, dropping the sign of a value
// that rounds to zero: "-0.00" would read as a (tiny) asymmetry towards
// the right where there is none.
func appendFixed(b []byte, v float64, prec int) []byte {
	start := len(b)
	b = strconv.AppendFloat(b, v, 'f', prec, 64)
	if b[start] != '-' {
		return b
	}
	for _, c := range b[start+1:] {
		if c != '0' && c != '.' {
			return b
		}
	}
	return append(b[:start], b[start+1:]...)
}

// writeAtomic writes path through write, never leaving it half written
// (see package internal/atomicfile).
func writeAtomic(path string, write func(*bufio.Writer) error) error {
	if err := atomicfile.Write(path, write); err != nil {
		return fmt.Errorf("asymmetry: %s: %w", path, err)
	}
	return nil
}
