package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"facemirror/app/helper"
	"facemirror/app/internal/helpertest"
	"facemirror/internal/sharedtest"
)

// TestMain lets the test binary be its own helper (helpertest.Main) and,
// with envRunCLI set, the command line itself (RunCLI on its arguments),
// for tests that must kill a whole command.
func TestMain(m *testing.M) {
	if os.Getenv(envRunCLI) == "1" && len(os.Args) > 1 && os.Args[1] != "worker" {
		os.Exit(RunCLI(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	helpertest.Main(m)
}

// envRunCLI makes the test binary run the command line (see TestMain).
const envRunCLI = "FACEMIRROR_TEST_RUN_CLI"

func installedModels(t testing.TB) string { t.Helper(); return helpertest.Models(t) }
func ortLibrary(t testing.TB) string      { t.Helper(); return helpertest.ORTLibrary(t) }
func useRealHelpers(t testing.TB)         { t.Helper(); helpertest.UseRealHelpers(t) }

func testContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// runCLI runs a command and returns its exit status and outputs.
func runCLI(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := RunCLI(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// probeJSON runs probe --json and decodes its reports.
func probeJSON(t *testing.T, ctx context.Context, args ...string) (int, []ProbeReport, string) {
	t.Helper()
	code, out, errOut := runCLI(t, ctx, append([]string{"probe", "--json"}, args...)...)
	var reps []ProbeReport
	if err := json.Unmarshal([]byte(out), &reps); err != nil {
		t.Fatalf("probe --json output is not a report list: %v\n%s\nstderr:\n%s", err, out, errOut)
	}
	return code, reps, errOut
}

// mtcnnReference is one row of reference/mtcnn/mtcnn_boxes.csv.
type mtcnnReference struct {
	faces      int
	box        helper.Rect
	confidence float32
}

// readMTCNNReference returns the rows of mtcnn_boxes.csv for one video,
// by frame.
func readMTCNNReference(t *testing.T, video string) map[int]mtcnnReference {
	t.Helper()
	f, err := os.Open(sharedtest.Reference(t, "mtcnn/mtcnn_boxes.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	num := func(row []string, name string) float32 {
		v, err := strconv.ParseFloat(row[col[name]], 64)
		if err != nil {
			t.Fatalf("mtcnn_boxes.csv %s=%q: %v", name, row[col[name]], err)
		}
		return float32(v)
	}
	out := map[int]mtcnnReference{}
	for _, row := range rows[1:] {
		if row[col["video"]] != video {
			continue
		}
		frame, _ := strconv.Atoi(row[col["frame"]])
		n, _ := strconv.Atoi(row[col["n_faces"]])
		ref := mtcnnReference{faces: n}
		if n > 0 && row[col["face_idx"]] == "0" {
			ref.box = helper.Rect{X: num(row, "corr_x"), Y: num(row, "corr_y"), W: num(row, "corr_w"), H: num(row, "corr_h")}
			ref.confidence = num(row, "confidence")
		}
		if _, seen := out[frame]; !seen {
			out[frame] = ref
		}
	}
	if len(out) == 0 {
		t.Fatalf("mtcnn_boxes.csv has no rows for %s", video)
	}
	return out
}
