// Package reference provides readers of the shared OpenFace reference files
// for tests: CSV tables with a header row, such as the full-precision dumps
// reference/fullprec/<video>_frames.csv, read by column name.
package reference

import (
	"encoding/csv"
	"os"
	"strconv"
	"testing"

	"facemirror/internal/sharedtest"
)

// Table is a CSV file with a header row. Failures to read or parse it fail
// the test, since a test cannot go on without its reference.
type Table struct {
	// Path is the file the table was read from, for messages.
	Path string
	// Col maps a header name to its column index.
	Col map[string]int
	// Rows are the records after the header.
	Rows [][]string
}

// ReadTable reads the CSV file at path.
func ReadTable(t testing.TB, path string) *Table {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if len(recs) == 0 {
		t.Fatalf("read %s: no header", path)
	}
	tb := &Table{Path: path, Col: map[string]int{}, Rows: recs[1:]}
	for i, name := range recs[0] {
		tb.Col[name] = i
	}
	return tb
}

// Fullprec reads reference/fullprec/<video>_<suffix>.csv, the full-precision
// dumps of OpenFace's intermediate values (suffix "frames", "final_medians",
// ...); video is the reference name without extension.
func Fullprec(t testing.TB, video, suffix string) *Table {
	t.Helper()
	return ReadTable(t, sharedtest.Reference(t, "fullprec/"+video+"_"+suffix+".csv"))
}

// Frames reads reference/fullprec/<video>_frames.csv, OpenFace's per-frame
// landmark, parameter and pose values at full precision.
func Frames(t testing.TB, video string) *Table {
	t.Helper()
	return Fullprec(t, video, "frames")
}

// Index returns the column of name, failing the test if there is none.
func (tb *Table) Index(t testing.TB, name string) int {
	t.Helper()
	i, ok := tb.Col[name]
	if !ok {
		t.Fatalf("%s: no column %q", tb.Path, name)
	}
	return i
}

// Has reports whether the row has a non-empty value in the column.
func (tb *Table) Has(row int, name string) bool {
	i, ok := tb.Col[name]
	return ok && tb.Rows[row][i] != ""
}

// Str returns the raw value of a cell.
func (tb *Table) Str(t testing.TB, row int, name string) string {
	t.Helper()
	return tb.Rows[row][tb.Index(t, name)]
}

// Flag reports whether a 0/1 cell is 1.
func (tb *Table) Flag(t testing.TB, row int, name string) bool {
	t.Helper()
	return tb.Str(t, row, name) == "1"
}

// F32 parses a float32 cell; the full-precision files write them with %.9g,
// which ParseFloat(s, 32) gives back exactly.
func (tb *Table) F32(t testing.TB, row int, name string) float32 {
	t.Helper()
	v, err := strconv.ParseFloat(tb.Str(t, row, name), 32)
	if err != nil {
		t.Fatalf("%s row %d column %s: %v", tb.Path, row, name, err)
	}
	return float32(v)
}

// F32s parses the float32 cells of the named columns of a row.
func (tb *Table) F32s(t testing.TB, row int, names []string) []float32 {
	t.Helper()
	out := make([]float32, len(names))
	for i, n := range names {
		out[i] = tb.F32(t, row, n)
	}
	return out
}

// F64 parses a float64 cell (written with %.17g, an exact round trip).
func (tb *Table) F64(t testing.TB, row int, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(tb.Str(t, row, name), 64)
	if err != nil {
		t.Fatalf("%s row %d column %s: %v", tb.Path, row, name, err)
	}
	return v
}

// LandmarkColumns returns the landmark columns x_0..x_{n-1} then
// y_0..y_{n-1}, each name after prefix ("" for the reported landmarks).
func LandmarkColumns(prefix string, n int) []string {
	c := make([]string, 0, 2*n)
	for _, axis := range []string{"x_", "y_"} {
		for i := 0; i < n; i++ {
			c = append(c, prefix+axis+strconv.Itoa(i))
		}
	}
	return c
}

// ParamColumns returns the columns of a PDM fit: the 6 global parameters
// (scale, rx, ry, rz, tx, ty) then the m local ones, each after prefix
// (such as "clnf_p_" or "fa_p_").
func ParamColumns(prefix string, m int) []string {
	c := []string{prefix + "scale", prefix + "rx", prefix + "ry", prefix + "rz", prefix + "tx", prefix + "ty"}
	for i := 0; i < m; i++ {
		c = append(c, prefix+strconv.Itoa(i))
	}
	return c
}
