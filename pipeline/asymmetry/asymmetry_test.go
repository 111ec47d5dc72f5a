package asymmetry

import (
	"bufio"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"facemirror/pipeline/openfacecsv"
)

// example is a hand-checkable video: 4 frames, 3 AUs; the right side
// loses the face in frame 3, whose values must not count.
//
//	AU01: left 1, 2, (9), 3      right 0.5, 1, (0), 1.5  → 2 vs 1, |d| 1, AI +1/3
//	AU02: left .01, .02, (5), 0  right 0, .03, (0), 0    → sum .02 < .05: no AI
//	AU12: left .5, 1, (0), 1.5   right 2, 3, (0), 4      → 1 vs 3, |d| 2, AI −1/2
func example() Table {
	return Table{
		Names:      []string{"AU01", "AU02", "AU12"},
		Timestamps: []float64{0, 0.033, 0.067, 0.1},
		Left: Side{
			Success:   []bool{true, true, true, true},
			Intensity: [][]float64{{1, 0.01, 0.5}, {2, 0.02, 1}, {9, 5, 0}, {3, 0, 1.5}},
		},
		Right: Side{
			Success:   []bool{true, true, false, true},
			Intensity: [][]float64{{0.5, 0, 2}, {1, 0.03, 3}, {0, 0, 0}, {1.5, 0, 4}},
		},
	}
}

func TestSummary(t *testing.T) {
	noBoth := example()
	noBoth.Right.Success = []bool{false, false, false, false}
	tests := []struct {
		name  string
		table Table
		want  []SummaryRow
	}{
		{"example", example(), []SummaryRow{
			{Item: "AU01", Kind: KindAU, Frames: 3, MeanLeft: 2, MeanRight: 1, MeanAbsDiff: 1, AI: 1.0 / 3, HasAI: true},
			{Item: "AU02", Kind: KindAU, Frames: 3, MeanLeft: 0.01, MeanRight: 0.01, MeanAbsDiff: 0.02 / 3},
			{Item: "AU12", Kind: KindAU, Frames: 3, MeanLeft: 1, MeanRight: 3, MeanAbsDiff: 2, AI: -0.5, HasAI: true},
			// upper = mean of AU01 and AU02; AI from the region's means.
			{Item: "upper", Kind: KindRegion, Frames: 3, MeanLeft: 1.005, MeanRight: 0.505, MeanAbsDiff: (1 + 0.02/3) / 2, AI: 0.5 / 1.51, HasAI: true},
			// No AU of the middle region is in the data.
			{Item: "middle", Kind: KindRegion},
			{Item: "lower", Kind: KindRegion, Frames: 3, MeanLeft: 1, MeanRight: 3, MeanAbsDiff: 2, AI: -0.5, HasAI: true},
		}},
		{"no frame with both sides", noBoth, []SummaryRow{
			{Item: "AU01", Kind: KindAU},
			{Item: "AU02", Kind: KindAU},
			{Item: "AU12", Kind: KindAU},
			{Item: "upper", Kind: KindRegion},
			{Item: "middle", Kind: KindRegion},
			{Item: "lower", Kind: KindRegion},
		}},
		{"no frames", Table{Names: []string{"AU45"}}, []SummaryRow{
			{Item: "AU45", Kind: KindAU},
			{Item: "upper", Kind: KindRegion},
			{Item: "middle", Kind: KindRegion},
			{Item: "lower", Kind: KindRegion},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.table.Summary()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d rows, want %d:\n%+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Item != w.Item || g.Kind != w.Kind || g.Frames != w.Frames || g.HasAI != w.HasAI ||
					!near(g.MeanLeft, w.MeanLeft) || !near(g.MeanRight, w.MeanRight) ||
					!near(g.MeanAbsDiff, w.MeanAbsDiff) || !near(g.AI, w.AI) {
					t.Errorf("row %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestAsymmetryIndex(t *testing.T) {
	tests := []struct {
		left, right float64
		want        float64
		ok          bool
	}{
		{0.3, 0.3, 0, true},
		{0.05, 0, 1, true},  // only the left side moves
		{0, 0.06, -1, true}, // only the right side moves
		{3, 1, 0.5, true},
		{0.04, 0, 0, false}, // below MinActivityForAI
		{0, 0, 0, false},
	}
	for _, tc := range tests {
		got, ok := asymmetryIndex(tc.left, tc.right)
		if ok != tc.ok || !near(got, tc.want) {
			t.Errorf("asymmetryIndex(%v, %v) = %v, %v; want %v, %v", tc.left, tc.right, got, ok, tc.want, tc.ok)
		}
	}
}

func TestWriteAsymmetry(t *testing.T) {
	tab := Table{
		Names:      []string{"AU01", "AU12"},
		Timestamps: []float64{0, 0.0333333},
		Left: Side{
			Success:   []bool{true, true},
			Intensity: [][]float64{{0.126, 1}, {0.5, 0.001}},
		},
		Right: Side{
			Success:   []bool{true, false},
			Intensity: [][]float64{{0.124, 2.5}, {0, 0.004}},
		},
	}
	want := "frame,timestamp,success_left,success_right,AU01_left,AU01_right,AU01_diff,AU12_left,AU12_right,AU12_diff\n" +
		// 0.126 − 0.124 = 0.002 prints 0.00 though the columns print 0.13 and 0.12.
		"1,0.000,1,1,0.13,0.12,0.00,1.00,2.50,-1.50\n" +
		// −0.003 rounds to zero and loses its sign.
		"2,0.033,1,0,0.50,0.00,0.50,0.00,0.00,0.00\n"
	path := filepath.Join(t.TempDir(), "v_asymmetry.csv")
	if err := tab.WriteAsymmetry(path); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, path); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestWriteSummary(t *testing.T) {
	rows, err := example().Summary()
	if err != nil {
		t.Fatal(err)
	}
	want := "item,kind,frames,mean_left,mean_right,mean_abs_diff,asymmetry_index\n" +
		"AU01,au,3,2.0000,1.0000,1.0000,0.3333\n" +
		"AU02,au,3,0.0100,0.0100,0.0067,\n" +
		"AU12,au,3,1.0000,3.0000,2.0000,-0.5000\n" +
		"upper,region,3,1.0050,0.5050,0.5033,0.3311\n" +
		"middle,region,0,,,,\n" +
		"lower,region,3,1.0000,3.0000,2.0000,-0.5000\n"
	path := filepath.Join(t.TempDir(), "v_summary.csv")
	if err := WriteSummary(path, rows); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, path); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	bad := []SummaryRow{{Item: "AU01", Kind: KindAU, Frames: 1, MeanLeft: math.NaN()}}
	if err := WriteSummary(path, bad); !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "AU01") {
		t.Errorf("NaN mean: got %v", err)
	}
	if got := readString(t, path); got != want {
		t.Errorf("a refused summary changed the file")
	}
}

func TestShapeErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Table)
		want   string
	}{
		{"no names", func(t *Table) { t.Names = nil }, "no AU names"},
		{"duplicate name", func(t *Table) { t.Names[2] = "AU01" }, `AU name "AU01" appears twice`},
		{"comma in name", func(t *Table) { t.Names[0] = "AU,01" }, `AU name "AU,01"`},
		{"short success", func(t *Table) { t.Right.Success = t.Right.Success[:3] }, "right side has 3 success flags for 4 timestamps"},
		{"short intensities", func(t *Table) { t.Left.Intensity = t.Left.Intensity[:2] }, "left side has 2 intensity rows for 4 timestamps"},
		{"missing AU", func(t *Table) { t.Right.Intensity[1] = t.Right.Intensity[1][:2] }, "right side has 2 intensities in frame 2 for 3 AU names"},
		{"extra timestamp", func(t *Table) { t.Timestamps = append(t.Timestamps, 0.133) }, "left side has 4 success flags for 5 timestamps"},
		{"NaN intensity", func(t *Table) { t.Left.Intensity[3][2] = math.NaN() }, "left AU12 of frame 4 is NaN"},
		{"infinite timestamp", func(t *Table) { t.Timestamps[0] = math.Inf(1) }, "timestamp of frame 1 is +Inf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab := example()
			tc.change(&tab)
			_, err := tab.Summary()
			if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Summary: got %v, want an ErrShape naming %q", err, tc.want)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "v_asymmetry.csv")
			err = tab.WriteAsymmetry(path)
			if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("WriteAsymmetry: got %v, want an ErrShape naming %s and %q", err, path, tc.want)
			}
			assertDir(t, dir)
		})
	}
}

func TestFromRows(t *testing.T) {
	names := []string{"AU01", "AU12"}
	row := func(frame int, ts float64, ok bool, v ...float64) openfacecsv.Row {
		return openfacecsv.Row{Frame: frame, Timestamp: ts, Success: ok, Intensity: v}
	}
	left := []openfacecsv.Row{row(1, 0, true, 1, 2), row(2, 0.04, false, 0, 0)}
	right := []openfacecsv.Row{row(1, 0, true, 3, 4), row(2, 0.04, true, 5, 6)}

	got, err := FromRows(names, left, right)
	if err != nil {
		t.Fatal(err)
	}
	want := Table{
		Names:      names,
		Timestamps: []float64{0, 0.04},
		Left:       Side{Success: []bool{true, false}, Intensity: [][]float64{{1, 2}, {0, 0}}},
		Right:      Side{Success: []bool{true, true}, Intensity: [][]float64{{3, 4}, {5, 6}}},
	}
	if !equalTables(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	left[0].Intensity[0] = 99
	if got.Left.Intensity[0][0] != 1 {
		t.Error("the table shares the rows' values")
	}

	tests := []struct {
		name        string
		left, right []openfacecsv.Row
		want        string
	}{
		{"row counts", left, right[:1], "left side has 2 frames, right side 1"},
		{"frame numbers", left, []openfacecsv.Row{right[0], row(3, 0.04, true, 5, 6)}, "row 2 is frame 2 on the left side but frame 3 on the right"},
		{"AU count", left, []openfacecsv.Row{right[0], row(2, 0.04, true, 5)}, "right frame 2 has 1 AU intensities for 2 AU names"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromRows(names, tc.left, tc.right)
			if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an ErrShape naming %q", err, tc.want)
			}
		})
	}
}

// TestFromFiles goes through openfacecsv's own writer and reader, as the
// app does with the two mirrored CSVs.
func TestFromFiles(t *testing.T) {
	dir := t.TempDir()
	l := openfacecsv.OpenFaceLayout()
	var files [2]*openfacecsv.File
	for s := range files {
		rows := make([]openfacecsv.Row, 3)
		for i := range rows {
			rows[i] = openfacecsv.NewRow(l)
			rows[i].Frame, rows[i].Timestamp, rows[i].Success = i+1, float64(i)/30, true
			for a := range rows[i].Intensity {
				rows[i].Intensity[a] = float64(s+1) * float64(a) / 10
			}
		}
		path := filepath.Join(dir, []string{"v_left_mirrored.csv", "v_right_mirrored.csv"}[s])
		if err := openfacecsv.WriteFile(path, l, rows); err != nil {
			t.Fatal(err)
		}
		f, err := openfacecsv.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files[s] = f
	}
	tab, err := FromFiles(files[0], files[1])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tab.Names, l.IntensityAUs) || len(tab.Timestamps) != 3 || tab.Right.Intensity[2][16] != 3.2 {
		t.Errorf("unexpected table %+v", tab)
	}
	rows, err := tab.Summary()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(l.IntensityAUs)+3 {
		t.Errorf("got %d summary rows", len(rows))
	}

	other := *files[1]
	other.Layout.IntensityAUs = slices.Clone(other.Layout.IntensityAUs)
	other.Layout.IntensityAUs[0] = "AU99"
	if _, err := FromFiles(files[0], &other); !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "AU99") {
		t.Errorf("different AU columns: got %v", err)
	}
	other.Layout.AUs = false
	if _, err := FromFiles(files[0], &other); !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "right file has no AU intensity columns") {
		t.Errorf("no AU columns: got %v", err)
	}
}

func TestWriteIntoMissingFolder(t *testing.T) {
	rows, err := example().Summary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "missing", "v.csv")
	for name, write := range map[string]func() error{
		"asymmetry": func() error { return example().WriteAsymmetry(path) },
		"summary":   func() error { return WriteSummary(path, rows) },
	} {
		err := write()
		if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "asymmetry: "+path+": ") {
			t.Errorf("%s: got %v, want a not-exist error naming %s", name, err, path)
		}
	}
	assertDir(t, dir)
}

func TestWriteReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "v_asymmetry.csv")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// A failure half-way leaves the old file and no temporary file.
	boom := errors.New("boom")
	err := writeAtomic(path, func(w *bufio.Writer) error {
		w.WriteString("partial")
		w.Flush()
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), path) {
		t.Errorf("got %v, want boom naming %s", err, path)
	}
	if got := readString(t, path); got != "old\n" {
		t.Errorf("failed write changed the file to %q", got)
	}
	assertDir(t, dir, "v_asymmetry.csv")

	if err := example().WriteAsymmetry(path); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, path); !strings.HasPrefix(got, "frame,timestamp,") || strings.Count(got, "\n") != 5 {
		t.Errorf("file not replaced: %q", got)
	}
	assertDir(t, dir, "v_asymmetry.csv")
}

func TestRegions(t *testing.T) {
	regions := Regions()
	if names := []string{regions[0].Name, regions[1].Name, regions[2].Name}; len(regions) != 3 || !slices.Equal(names, []string{"upper", "middle", "lower"}) {
		t.Fatalf("regions %v", regions)
	}
	count := map[string]int{}
	for _, r := range regions {
		for _, au := range r.AUs {
			count[au]++
		}
	}
	openface := openfacecsv.OpenFaceLayout().IntensityAUs
	if len(openface) != 17 {
		t.Fatalf("openfacecsv lists %d intensity AUs, want 17", len(openface))
	}
	for _, au := range openface {
		if count[au] != 1 {
			t.Errorf("%s is in %d regions, want 1", au, count[au])
		}
		delete(count, au)
	}
	for au := range count {
		t.Errorf("region AU %s is not an OpenFace intensity AU", au)
	}

	regions[0].AUs[0] = "changed"
	if Regions()[0].AUs[0] != "AU01" {
		t.Error("Regions shares its slices between calls")
	}
}

func equalTables(a, b Table) bool {
	eqSide := func(x, y Side) bool {
		return slices.Equal(x.Success, y.Success) && slices.EqualFunc(x.Intensity, y.Intensity, slices.Equal)
	}
	return slices.Equal(a.Names, b.Names) && slices.Equal(a.Timestamps, b.Timestamps) &&
		eqSide(a.Left, b.Left) && eqSide(a.Right, b.Right)
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertDir checks that dir holds exactly the named entries: no
// temporary file was left behind.
func assertDir(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s holds %q, want %q", dir, got, want)
	}
}
