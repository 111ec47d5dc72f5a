package onnxrt

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindLibrary(t *testing.T) {
	tmp := t.TempDir()
	name := LibraryName()
	// A checkout: go.mod of module facemirror, .ort/<lib>, an executable
	// somewhere below.
	checkout := filepath.Join(tmp, "checkout")
	writeFile(t, filepath.Join(checkout, "go.mod"), "// comment\nmodule facemirror\n\ngo 1.26\n")
	writeFile(t, filepath.Join(checkout, ".ort", name), "lib")
	deep := filepath.Join(checkout, "build", "bin")
	// An installed app: the library next to the executable.
	installed := filepath.Join(tmp, "app")
	writeFile(t, filepath.Join(installed, name), "lib")
	// Another Go project with its own .ort: not ours, so not used.
	other := filepath.Join(tmp, "other")
	writeFile(t, filepath.Join(other, "go.mod"), "module example.com/other\n")
	writeFile(t, filepath.Join(other, ".ort", name), "lib")
	explicit := filepath.Join(tmp, "custom", "libort.so")
	writeFile(t, explicit, "lib")

	cases := []struct {
		name                 string
		env, exeDir, workDir string
		want                 string
	}{
		{"env wins", explicit, installed, checkout, explicit},
		{"next to executable", "", installed, checkout, filepath.Join(installed, name)},
		{"checkout from executable", "", deep, "", filepath.Join(checkout, ".ort", name)},
		{"checkout from working dir", "", filepath.Join(tmp, "elsewhere"), filepath.Join(checkout, "pipeline"), filepath.Join(checkout, ".ort", name)},
		{"other module ignored", "", filepath.Join(other, "cmd"), filepath.Join(other, "x"), name},
		{"system loader", "", "", "", name},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FindLibrary(tc.env, tc.exeDir, tc.workDir)
			if err != nil || got != tc.want {
				t.Errorf("FindLibrary = %q, %v; want %q", got, err, tc.want)
			}
		})
	}

	missing := filepath.Join(tmp, "nope", name)
	_, err := FindLibrary(missing, installed, checkout)
	if !errors.Is(err, ErrLibraryUnavailable) {
		t.Fatalf("missing env file: error %v, want ErrLibraryUnavailable", err)
	}
	checkAdvice(t, err.Error(), missing)
}

// checkAdvice asserts a one-line error that names what was missing and
// says how to get the library.
func checkAdvice(t *testing.T, msg, mentions string) {
	t.Helper()
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans several lines: %q", msg)
	}
	for _, want := range []string{mentions, "run `make deps`, or set FACEMIRROR_ORT_LIB to the path of " + LibraryName() + " (ONNX Runtime 1.24.3)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
}

// The process environment can be loaded only once, so the failing loads
// run in a child process (this test binary, started again).
const childEnv = "FACEMIRROR_ONNXRT_TEST_CHILD"

func TestOpenWithoutLibrary(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		_, err := Open(Options{})
		if err == nil {
			os.Stdout.WriteString("no error")
			os.Exit(0)
		}
		if !errors.Is(err, ErrLibraryUnavailable) {
			os.Stdout.WriteString("not ErrLibraryUnavailable: ")
		}
		os.Stdout.WriteString(err.Error())
		os.Exit(3)
	}
	tmp := t.TempDir()
	notALibrary := filepath.Join(tmp, LibraryName())
	writeFile(t, notALibrary, "this is not a shared library\n")
	cases := []struct {
		name, env, mentions string
	}{
		{"env names a missing file", filepath.Join(tmp, "missing.so"), "missing.so does not exist"},
		{"env names a broken file", notALibrary, "cannot load " + notALibrary},
		// Run from a folder outside any checkout, with nothing next to the
		// test binary: only the system loader is left.
		{"nowhere", "", LibraryName() + " is not next to the executable, in the project's .ort folder or on the system library path"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestOpenWithoutLibrary$")
			cmd.Env = append(os.Environ(), childEnv+"=1", LibraryEnv+"="+tc.env)
			cmd.Dir = tmp
			out, err := cmd.Output()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 3 {
				t.Fatalf("child: %v, output %q", err, out)
			}
			checkAdvice(t, string(out), tc.mentions)
		})
	}
}
