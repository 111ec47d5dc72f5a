package pdm

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"facemirror/internal/sharedtest"
)

// refVideos are the videos with full-precision reference dumps.
var refVideos = []struct {
	short, name string
	w, h        int
}{
	{"v01", "v01_talking_frontal_glasses_480x360", 480, 360},
	{"v02", "v02_emotions_sad_to_laughing_640x360_pexels", 640, 360},
	{"v04", "v04_eyeclosure_cheekpuff_smile_glasses_512x480", 512, 480},
}

// csvTable is a CSV file with named columns.
type csvTable struct {
	col  map[string]int
	rows [][]string
}

func readCSV(t testing.TB, path string) *csvTable {
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
	tb := &csvTable{col: map[string]int{}, rows: recs[1:]}
	for i, name := range recs[0] {
		tb.col[name] = i
	}
	return tb
}

// has reports whether the row has a non-empty value in the column.
func (tb *csvTable) has(row int, name string) bool {
	i, ok := tb.col[name]
	return ok && tb.rows[row][i] != ""
}

// f32 parses a float32 value written with %.9g (exact round trip).
func (tb *csvTable) f32(t testing.TB, row int, name string) float32 {
	t.Helper()
	i, ok := tb.col[name]
	if !ok {
		t.Fatalf("no column %q", name)
	}
	v, err := strconv.ParseFloat(tb.rows[row][i], 32)
	if err != nil {
		t.Fatalf("row %d column %s: %v", row, name, err)
	}
	return float32(v)
}

func (tb *csvTable) f32s(t testing.TB, row int, names []string) []float32 {
	t.Helper()
	out := make([]float32, len(names))
	for i, n := range names {
		out[i] = tb.f32(t, row, n)
	}
	return out
}

// landmarkCols returns x_0..x_{n-1}, y_0..y_{n-1} (with a prefix).
func landmarkCols(prefix string, n int) []string {
	var c []string
	for _, a := range []string{"x_", "y_"} {
		for i := 0; i < n; i++ {
			c = append(c, prefix+a+strconv.Itoa(i))
		}
	}
	return c
}

// paramCols returns the 6 global and m local parameter columns.
func paramCols(prefix string, m int) []string {
	c := []string{prefix + "scale", prefix + "rx", prefix + "ry", prefix + "rz", prefix + "tx", prefix + "ty"}
	for i := 0; i < m; i++ {
		c = append(c, prefix+strconv.Itoa(i))
	}
	return c
}

func globalFrom(v []float32) Global {
	return Global{Scale: v[0], Rx: v[1], Ry: v[2], Rz: v[3], Tx: v[4], Ty: v[5]}
}

func framesCSV(t testing.TB, name string) *csvTable {
	return readCSV(t, sharedtest.Reference(t, "fullprec/"+name+"_frames.csv"))
}

func loadMainPDM(t testing.TB) *Model {
	t.Helper()
	md, err := Load(filepath.Join(sharedtest.Models(t), "AU_predictors", "In-the-wild_aligned_PDM_68.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return md
}
