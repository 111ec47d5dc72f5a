// Package sharedtest locates the shared test material (../shared beside the
// project root: OpenFace models, media and reference outputs) for tests.
//
// The material is not in the repository. When it is missing a test is
// skipped with a loud message on a developer machine, but fails when
// FACEMIRROR_REQUIRE_SHARED=1 (set by .ci/run and `make test`), so CI can
// never pass by skipping.
package sharedtest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// RequireEnv is the environment variable that turns missing shared material
// into a test failure.
const RequireEnv = "FACEMIRROR_REQUIRE_SHARED"

// Root returns the absolute path of the project root (the folder holding
// go.mod), found from this source file's location.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Dir returns the shared folder: $FACEMIRROR_SHARED if set, else ../shared
// beside the project root. It does not check that it exists.
func Dir() string {
	if d := os.Getenv("FACEMIRROR_SHARED"); d != "" {
		return d
	}
	return filepath.Join(filepath.Dir(Root()), "shared")
}

// Path returns the shared file or folder rel (slash-separated, relative to
// the shared folder) and stops the test when it does not exist: a failure
// when shared material is required, otherwise a skip.
func Path(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Dir(), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("shared test material missing: %v (%s=1 makes this a failure; put the shared folder beside the project root)", err, RequireEnv)
		}
		t.Skipf("SKIPPED: shared test material missing: %v (set %s=1 to make this a failure)", err, RequireEnv)
	}
	return p
}

// Media returns a file of shared/media, e.g. Media(t, "videos/v01_talking_frontal_glasses_480x360.mp4").
func Media(t testing.TB, rel string) string { t.Helper(); return Path(t, "media/"+rel) }

// Reference returns a file of shared/reference.
func Reference(t testing.TB, rel string) string { t.Helper(); return Path(t, "reference/"+rel) }

// Models returns the shared OpenFace model folder (shared/openface-models).
func Models(t testing.TB) string { t.Helper(); return Path(t, "openface-models") }
