package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"facemirror/internal/sharedtest"
	"facemirror/models"
	"facemirror/pipeline/onnxrt"
)

// TestMain lets the test binary be its own helper: helpers are started as
// "<this binary> worker ...", exactly as main dispatches it, so the tests
// exercise the real worker without building anything.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		os.Exit(RunCLI(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	code := m.Run()
	if installed.dir != "" {
		os.RemoveAll(filepath.Dir(installed.dir))
	}
	for _, r := range []processRun{shared.run, oneHelper.run} {
		if r.dir != "" {
			os.RemoveAll(r.dir)
		}
	}
	os.Exit(code)
}

// installed is the model folder shared by the tests of this package,
// installed once from the shared OpenFace models with models.Install.
var installed struct {
	once sync.Once
	dir  string
	err  error
}

// installedModels returns a model folder with every model file and the
// generated ONNX networks.
func installedModels(t testing.TB) string {
	t.Helper()
	mirror := sharedtest.Models(t)
	installed.once.Do(func() {
		tmp, err := os.MkdirTemp("", "facemirror-app-models-")
		if err != nil {
			installed.err = err
			return
		}
		installed.dir = filepath.Join(tmp, "models")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		// As facemirror models install does it, Sigma tables included.
		if installed.err = models.Install(ctx, installed.dir, models.InstallOptions{Mirror: mirror}); installed.err == nil {
			installed.err = writeSigmaCache(ctx, installed.dir)
		}
	})
	if installed.err != nil {
		t.Fatalf("install models: %v", installed.err)
	}
	return installed.dir
}

// ortLibrary returns the project's ONNX Runtime library.
func ortLibrary(t testing.TB) string {
	t.Helper()
	lib := filepath.Join(sharedtest.Root(), ".ort", onnxrt.LibraryName())
	if _, err := os.Stat(lib); err != nil {
		t.Fatalf("ONNX Runtime library: %v (run make deps)", err)
	}
	return lib
}

// useRealHelpers points the helpers this test starts at the installed
// models and the project's ONNX Runtime (helpers inherit the environment).
func useRealHelpers(t testing.TB) {
	t.Helper()
	t.Setenv(models.EnvDir, installedModels(t))
	t.Setenv(onnxrt.LibraryEnv, ortLibrary(t))
}

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
	box        Rect
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
			ref.box = Rect{X: num(row, "corr_x"), Y: num(row, "corr_y"), W: num(row, "corr_w"), H: num(row, "corr_h")}
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
