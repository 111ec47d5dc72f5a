// Package helpertest lets the tests of the app packages start real helper
// processes: the test binary serves as its own helper ("<test binary>
// worker ..."), with the OpenFace models installed once per test binary
// from the shared folder and the project's ONNX Runtime.
package helpertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"facemirror/app/helper"
	"facemirror/app/internal/faultinject"
	"facemirror/app/worker"
	"facemirror/internal/sharedtest"
	"facemirror/models"
	"facemirror/pipeline/onnxrt"
)

// Main is a test binary's TestMain body: when the binary was started as a
// helper it serves and exits (with the fault of a faultinject.Plan in its
// environment armed); otherwise it runs the tests, removes the model
// folder it installed and the folders given to RemoveAtExit, and exits
// with the tests' status.
func Main(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		os.Exit(serve(os.Args[2:]))
	}
	code := m.Run()
	cleanup.Lock()
	for _, dir := range cleanup.dirs {
		os.RemoveAll(dir)
	}
	cleanup.Unlock()
	os.Exit(code)
}

// serve is the test binary's helper.
func serve(args []string) int {
	plan, armed, err := faultinject.FromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "facemirror worker:", err)
		return 2
	}
	if !armed {
		return helper.Main(context.Background(), args, "test", os.Stdin, os.Stdout, os.Stderr)
	}
	// The protocol's own copy of the standard output, as the helper
	// would take it, with the fault between it and the helper.
	out, err := worker.ReserveStdout()
	if err != nil {
		fmt.Fprintln(os.Stderr, "facemirror worker:", err)
		return 1
	}
	defer out.Close()
	in, w := plan.Wrap(os.Stdin, out)
	return helper.Main(context.Background(), args, "test", in, w, os.Stderr)
}

// cleanup holds the folders Main removes after the tests (test-binary
// scoped, like the installed models).
var cleanup struct {
	sync.Mutex
	dirs []string
}

// RemoveAtExit has Main remove dir after all tests ran: for folders shared
// by several tests, which t.TempDir would remove too early.
func RemoveAtExit(dir string) {
	cleanup.Lock()
	cleanup.dirs = append(cleanup.dirs, dir)
	cleanup.Unlock()
}

var installed struct {
	once sync.Once
	dir  string
	err  error
}

// Models returns a model folder with every model file, the generated ONNX
// networks and the Sigma tables, installed once per test binary as
// facemirror models install does it.
func Models(t testing.TB) string {
	t.Helper()
	mirror := sharedtest.Models(t)
	installed.once.Do(func() {
		tmp, err := os.MkdirTemp("", "facemirror-app-models-")
		if err != nil {
			installed.err = err
			return
		}
		RemoveAtExit(tmp)
		installed.dir = filepath.Join(tmp, "models")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if installed.err = models.Install(ctx, installed.dir, models.InstallOptions{Mirror: mirror}); installed.err == nil {
			installed.err = helper.WriteTables(ctx, installed.dir)
		}
	})
	if installed.err != nil {
		t.Fatalf("install models: %v", installed.err)
	}
	return installed.dir
}

// ORTLibrary returns the project's ONNX Runtime library.
func ORTLibrary(t testing.TB) string {
	t.Helper()
	lib := filepath.Join(sharedtest.Root(), ".ort", onnxrt.LibraryName())
	if _, err := os.Stat(lib); err != nil {
		t.Fatalf("ONNX Runtime library: %v (run make deps)", err)
	}
	return lib
}

// UseRealHelpers points the helpers a test starts at the installed models
// and the project's ONNX Runtime (helpers inherit the environment).
func UseRealHelpers(t testing.TB) {
	t.Helper()
	t.Setenv(models.EnvDir, Models(t))
	t.Setenv(onnxrt.LibraryEnv, ORTLibrary(t))
}

// Context returns a context that ends after d or with the test.
func Context(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
