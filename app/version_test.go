package app

import (
	"fmt"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"facemirror/app/helper"
	"facemirror/models"
	"facemirror/pipeline/onnxrt"
)

// modelLines returns the lines version and models verify print for the
// model files when every file has the given status.
func modelLines(t *testing.T, dir, status string) string {
	t.Helper()
	checks, _ := models.Open(dir).Verify(testContext(t, time.Minute))
	if len(checks) != len(models.Files())+3 {
		t.Fatalf("Verify reports %d files, want the %d registry files and 3 generated ones", len(checks), len(models.Files()))
	}
	var b strings.Builder
	for i, c := range checks {
		if i < len(models.Files()) && (c.Name != models.Files()[i].Name || c.SHA256 != models.Files()[i].SHA256) {
			t.Fatalf("check %d is %s %s, registry %+v", i, c.Name, c.SHA256, models.Files()[i])
		}
		hash := c.SHA256
		if hash == "" {
			hash = "(no registered hash)"
		}
		fmt.Fprintf(&b, "  %-11s %s  %s\n", status, hash, c.Name)
	}
	return b.String()
}

func TestVersion(t *testing.T) {
	useRealHelpers(t)
	dir := installedModels(t)
	code, out, stderr := runCLI(t, testContext(t, 2*time.Minute), "version", "--ep", "cpu")
	if code != 0 || stderr != "" {
		t.Errorf("exit status %d, stderr %q", code, stderr)
	}
	head := fmt.Sprintf(`FaceMirror    dev
Go            %s %s/%s
OpenCV        4.6.0 (gocv 0.31.0)
`, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	ort := regexp.MustCompile(`^ONNX Runtime  ` + regexp.QuoteMeta(onnxrt.ORTVersion+"; providers that load: cpu; in use: cpu ("+ortLibrary(t)+", in helper process ") + `\d+\)` + "\n")
	tail := "Models        " + dir + " (" + models.OpenFaceRelease + ")\n" + modelLines(t, dir, "OK")

	rest, ok := strings.CutPrefix(out, head)
	if !ok {
		t.Fatalf("output does not start with\n%s\ngot:\n%s", head, out)
	}
	loc := ort.FindStringIndex(rest)
	if loc == nil {
		t.Fatalf("no ONNX Runtime line matching %s in\n%s", ort, rest)
	}
	if rest[loc[1]:] != tail {
		t.Errorf("model lines:\n%s\nwant:\n%s", rest[loc[1]:], tail)
	}
}

// A broken installation is described line by line, and the rest is still
// printed.
func TestVersionReportsWhatIsBroken(t *testing.T) {
	empty := t.TempDir()
	missingLib := filepath.Join(empty, "libonnxruntime.so.1")
	t.Setenv(models.EnvDir, empty)
	t.Setenv(onnxrt.LibraryEnv, missingLib)
	code, out, stderr := runCLI(t, testContext(t, time.Minute), "version")
	if code != 0 || stderr != "" {
		t.Errorf("exit status %d, stderr %q", code, stderr)
	}
	n := len(models.Files()) + 3
	for _, want := range []string{
		"\nONNX Runtime  unavailable: ",
		missingLib,
		"\nModels        " + empty + " (" + models.OpenFaceRelease + ")\n" + modelLines(t, empty, "missing"),
		fmt.Sprintf("              %d files unusable; %s\n", n, models.RepairHint),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasPrefix(out, "FaceMirror    dev\n") {
		t.Errorf("output:\n%s", out)
	}
}

func TestRuntimeLineWhenTheHelperCannotStart(t *testing.T) {
	got := runtimeLine(testContext(t, time.Minute), helper.Config{Exe: "/nonexistent/facemirror"})
	want := "unavailable: start helper /nonexistent/facemirror: fork/exec /nonexistent/facemirror: no such file or directory"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
