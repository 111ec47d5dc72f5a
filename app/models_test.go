package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"facemirror/app/helper"
	"facemirror/internal/sharedtest"
	"facemirror/models"
)

func TestModelsInstallAndVerify(t *testing.T) {
	ctx := testContext(t, 5*time.Minute)
	mirror := sharedtest.Models(t)
	dir := filepath.Join(t.TempDir(), "models")
	n := len(models.Files())
	generated := []string{models.PNetONNX, models.RNetONNX, models.ONetONNX}

	// First install: every registry file copied, the networks converted.
	code, out, stderr := runCLI(t, ctx, "models", "install", "--from", mirror, "--dir", dir)
	var want strings.Builder
	fmt.Fprintf(&want, "installing into %s from %s\n", dir, mirror)
	for _, f := range models.Files() {
		fmt.Fprintf(&want, "  copied     %s\n", f.Name)
	}
	for _, g := range generated {
		fmt.Fprintf(&want, "  converted  %s\n", g)
	}
	fmt.Fprintf(&want, "done: %d copied, 0 downloaded, 3 converted, 0 already in place\n", n)
	sigma := fmt.Sprintf("landmark detector's prepared tables (Sigmas, weight panels) ready in %s\n", filepath.Join(dir, helper.TablesDir))
	want.WriteString(sigma)
	if code != 0 || stderr != "" || out != want.String() {
		t.Fatalf("install: status %d, stderr %q, output:\n%s\nwant:\n%s", code, stderr, out, want.String())
	}

	// Second install, with the default mirror: nothing to do.
	code, out, _ = runCLI(t, ctx, "models", "install", "--dir", dir)
	if !strings.HasPrefix(out, fmt.Sprintf("installing into %s from %s\n", dir, mirror)) ||
		!strings.HasSuffix(out, fmt.Sprintf("done: 0 copied, 0 downloaded, 0 converted, %d already in place\n", n+3)+sigma) || code != 0 {
		t.Errorf("second install (default mirror): status %d, output:\n%s", code, out)
	}

	code, out, stderr = runCLI(t, ctx, "models", "verify", "--dir", dir)
	if want := "model folder " + dir + "\n" + modelLines(t, dir, "OK"); code != 0 || stderr != "" || out != want {
		t.Errorf("verify: status %d, stderr %q, output:\n%s\nwant:\n%s", code, stderr, out, want)
	}

	// Damage one file and remove another: verify names both and fails.
	altered := filepath.Join(dir, "model", "mtcnn_detector", "MTCNN_detector.txt")
	if err := os.WriteFile(altered, []byte("not the detector\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "model", "tris_68.txt")); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = runCLI(t, ctx, "models", "verify", "--dir", dir)
	for _, line := range []string{
		"  altered     " + mustLookup(t, "model/mtcnn_detector/MTCNN_detector.txt") + "  model/mtcnn_detector/MTCNN_detector.txt\n",
		"  missing     " + mustLookup(t, "model/tris_68.txt") + "  model/tris_68.txt\n",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("verify output lacks %q:\n%s", line, out)
		}
	}
	if strings.Count(out, "\n  OK ") != n+3-2 {
		t.Errorf("verify: %d files OK, want %d", strings.Count(out, "\n  OK "), n+1)
	}
	if wantErr := "facemirror models verify: 2 model files unusable; " + models.RepairHint + "\n"; code != 1 || stderr != wantErr {
		t.Errorf("verify of a damaged folder: status %d, stderr %q, want 1 and %q", code, stderr, wantErr)
	}

	// Install repairs exactly those two.
	code, out, _ = runCLI(t, ctx, "models", "install", "--from", mirror, "--dir", dir)
	if code != 0 || !strings.HasSuffix(out, fmt.Sprintf("done: 2 copied, 0 downloaded, 0 converted, %d already in place\n", n+1)+sigma) {
		t.Errorf("repair: status %d, output:\n%s", code, out)
	}
}

func mustLookup(t *testing.T, name string) string {
	t.Helper()
	f, ok := models.Lookup(name)
	if !ok {
		t.Fatalf("%s is not in the registry", name)
	}
	return f.SHA256
}

func TestModelsUsageErrors(t *testing.T) {
	ctx := testContext(t, time.Minute)
	for _, args := range [][]string{
		{"models"},
		{"models", "download"},
		{"models", "verify", "extra"},
		{"models", "install", "--from", filepath.Join(t.TempDir(), "nowhere")},
	} {
		if code, _, stderr := runCLI(t, ctx, args...); code != 2 || stderr == "" {
			t.Errorf("%v: status %d, stderr %q", args, code, stderr)
		}
	}
}
