package app

import (
	"facemirror/internal/sharedtest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hiddenFiles counts the hidden entries of dir whose names (leading dots
// trimmed) start with prefix.
func hiddenFiles(t *testing.T, dir, prefix string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && strings.HasPrefix(strings.TrimLeft(e.Name(), "."), prefix) {
			n++
		}
	}
	return n
}

// modTimes are the modification times of the files of dir whose names
// start with prefix.
func modTimes(t *testing.T, dir, prefix string) map[string]time.Time {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	times := map[string]time.Time{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			fi, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			times[e.Name()] = fi.ModTime()
		}
	}
	return times
}

func mapsEqual(a, b map[string]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !b[k].Equal(v) {
			return false
		}
	}
	return true
}

// readOutputs reads every output of dir but the manifests, whose times
// differ from run to run.
func readOutputs(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), "_facemirror.json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

// cutOffCopy writes the first 30 % of v02's bytes to a file of the test
// and returns its path: 139 of the 472 frames its index lists decode (v02
// keeps its index before its data, so the copy still opens).
func cutOffCopy(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(sharedtest.Media(t, "videos/v02_emotions_sad_to_laughing_640x360_pexels.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "v02_cut_off.mp4")
	if err := os.WriteFile(cut, data[:len(data)*3/10], 0o644); err != nil {
		t.Fatal(err)
	}
	return cut
}
