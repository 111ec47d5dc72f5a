package openface

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"facemirror/internal/reference"
	"facemirror/internal/sharedtest"
	"facemirror/pipeline/openfacecsv"
)

// refVideo is a test video with reference outputs.
type refVideo struct {
	short, name, media string
}

var (
	v01 = refVideo{"v01", "v01_talking_frontal_glasses_480x360", "videos/v01_talking_frontal_glasses_480x360.mp4"}
	v02 = refVideo{"v02", "v02_emotions_sad_to_laughing_640x360_pexels", "videos/v02_emotions_sad_to_laughing_640x360_pexels.mp4"}
	v04 = refVideo{"v04", "v04_eyeclosure_cheekpuff_smile_glasses_512x480", "videos/v04_eyeclosure_cheekpuff_smile_glasses_512x480.mp4"}
	e03 = refVideo{"e03", "e03_noface_animation_caminandes_960x540", "edge/e03_noface_animation_caminandes_960x540.mp4"}
)

var (
	modelsOnce sync.Once
	models     *Models
	modelsErr  error
)

// testModels loads the shared OpenFace models once per test binary.
func testModels(t testing.TB) *Models {
	t.Helper()
	dir := sharedtest.Models(t)
	modelsOnce.Do(func() { models, modelsErr = LoadModels(dir) })
	if modelsErr != nil {
		t.Fatal(modelsErr)
	}
	return models
}

// refCSVPath is the reference OpenFace CSV of v.
func refCSVPath(t testing.TB, v refVideo) string {
	t.Helper()
	return sharedtest.Reference(t, v.name+"/"+v.name+".csv")
}

var (
	pointCols = reference.LandmarkColumns("", 68)
	clnfCols  = reference.ParamColumns("clnf_p_", 34)
	faCols    = reference.ParamColumns("fa_p_", 34)
)

// fullPrecLandmarks reads OpenFace's own landmark detector output at full
// precision from reference/fullprec/<video>_frames.csv.
func fullPrecLandmarks(t testing.TB, v refVideo) ([]Landmarks, *reference.Table) {
	t.Helper()
	tb := reference.Frames(t, v.name)
	out := make([]Landmarks, len(tb.Rows))
	for r := range tb.Rows {
		lm := Landmarks{
			Points:           make([]float32, len(pointCols)),
			Local:            make([]float32, 34),
			Success:          tb.Flag(t, r, "success"),
			DetectionSuccess: tb.Flag(t, r, "clnf_detection_success"),
			Confidence:       tb.F32(t, r, "detection_certainty"),
		}
		for i, c := range pointCols {
			lm.Points[i] = tb.F32(t, r, c)
		}
		for i, c := range clnfCols {
			if i < 6 {
				lm.Global[i] = tb.F32(t, r, c)
			} else {
				lm.Local[i-6] = tb.F32(t, r, c)
			}
		}
		out[r] = lm
	}
	return out, tb
}

// csvLandmarks reads the landmark input from the reference CSV of v, as a
// user re-scoring an OpenFace CSV would (Models.LandmarksFromCSV, which
// recovers precision).
func csvLandmarks(t testing.TB, v refVideo) ([]Landmarks, *openfacecsv.File) {
	t.Helper()
	f, err := openfacecsv.ReadFile(refCSVPath(t, v))
	if err != nil {
		t.Fatal(err)
	}
	lms, err := testModels(t).LandmarksFromCSV(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return lms, f
}

// printedLandmarks reads the landmark input from the reference CSV of v
// as printed (LandmarksAsPrinted).
func printedLandmarks(t testing.TB, v refVideo) ([]Landmarks, *openfacecsv.File) {
	t.Helper()
	f, err := openfacecsv.ReadFile(refCSVPath(t, v))
	if err != nil {
		t.Fatal(err)
	}
	lms, err := LandmarksAsPrinted(f)
	if err != nil {
		t.Fatal(err)
	}
	return lms, f
}

// refText returns the reference CSV's header and lines, split into
// fields.
func refText(t testing.TB, v refVideo) (header []string, lines [][]string) {
	t.Helper()
	data, err := os.ReadFile(refCSVPath(t, v))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(data, []byte("\n")) {
		t.Fatalf("%s: no final newline", v.name)
	}
	all := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	header = strings.Split(all[0], ",")
	for n, l := range all[1:] {
		f := strings.Split(l, ",")
		if len(f) != len(header) {
			t.Fatalf("%s line %d: %d fields, header has %d", v.name, n+2, len(f), len(header))
		}
		lines = append(lines, f)
	}
	return header, lines
}

// gazeColumn reports whether a column belongs to the gaze block (gaze
// vectors and angles, 2D and 3D eye landmarks).
func gazeColumn(name string) bool {
	return strings.HasPrefix(name, "gaze_") || strings.HasPrefix(name, "eye_lmk_")
}

// splitGaze separates the gaze block from the other columns of a CSV's
// header and lines.
func splitGaze(header []string, lines [][]string) (gazeHead []string, gaze [][]string, restHead []string, rest [][]string) {
	pick := func(fields []string, want bool) []string {
		var out []string
		for i, f := range fields {
			if gazeColumn(header[i]) == want {
				out = append(out, f)
			}
		}
		return out
	}
	for _, l := range lines {
		gaze = append(gaze, pick(l, true))
		rest = append(rest, pick(l, false))
	}
	return pick(header, true), gaze, pick(header, false), rest
}

// encodeRows writes rows as CSV text with the models' layout and splits it
// back into header and fields.
func encodeRows(t testing.TB, m *Models, rows []openfacecsv.Row) (header []string, lines [][]string, text []byte) {
	t.Helper()
	var buf bytes.Buffer
	enc, err := openfacecsv.NewEncoder(&buf, m.Layout())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	text = buf.Bytes()
	all := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	header = strings.Split(all[0], ",")
	for _, l := range all[1:] {
		lines = append(lines, strings.Split(l, ","))
	}
	return header, lines, text
}

// cellDiff is one CSV cell that differs from the reference.
type cellDiff struct {
	frame     int
	col       string
	got, want string
}

func (d cellDiff) String() string {
	return fmt.Sprintf("frame %d %s: got %s, OpenFace %s", d.frame, d.col, d.got, d.want)
}

// compareText compares our CSV fields with the reference's cell by cell.
func compareText(t *testing.T, gotHead []string, got [][]string, wantHead []string, want [][]string) []cellDiff {
	t.Helper()
	if strings.Join(gotHead, ",") != strings.Join(wantHead, ",") {
		t.Fatalf("header differs:\n got  %s\n want %s", strings.Join(gotHead, ","), strings.Join(wantHead, ","))
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, OpenFace has %d", len(got), len(want))
	}
	var diffs []cellDiff
	for r := range want {
		for c := range want[r] {
			if got[r][c] != want[r][c] {
				diffs = append(diffs, cellDiff{r + 1, wantHead[c], got[r][c], want[r][c]})
			}
		}
	}
	return diffs
}

// gazeCols are the gaze columns of reference/fullprec/<video>_frames.csv,
// in the order of FrameResult.Gaze and GazeAngle.
var gazeCols = []string{"gaze_0_x", "gaze_0_y", "gaze_0_z", "gaze_1_x", "gaze_1_y", "gaze_1_z", "gaze_angle_x", "gaze_angle_y"}

// checkGaze requires a frame's gaze to be OpenFace's (EstimateGaze and
// GetGazeAngle as dumped in fullprec/<video>_frames.csv) bit for bit.
func checkGaze(t *testing.T, frame int, r FrameResult, tb *reference.Table) {
	t.Helper()
	var got [8]float32
	copy(got[:], r.Gaze[:])
	copy(got[6:], r.GazeAngle[:])
	for j, c := range gazeCols {
		if want := tb.F32(t, frame, c); got[j] != want {
			t.Fatalf("frame %d %s = %.9g, OpenFace %.9g", frame, c, got[j], want)
		}
	}
}
