package job

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// sweepStale removes the temporary files every writer of an input's
// outputs makes, and nothing of another input's or the user's.
func TestSweepStale(t *testing.T) {
	dir := t.TempDir()
	removed := []string{
		".v01.csv.123456.tmp",                        // atomicfile
		".v01_facemirror.json.99.tmp",                // atomicfile
		".v01_right_mirrored.partial.mp4",            // staged video
		"..v01_left_mirrored.partial.mp4.tmp-42.mp4", // its encoder's file
		".v01_debug.mkv.tmp-7.mkv",                   // an encoder writing directly
		".v01_left_mirrored.png.tmp-3.png",           // a still
		".v01.partial-55.hog",                        // the HOG recorder
		".v01_aligned.partial-8",                     // the aligned faces' folder
		".v01_asymmetry.partial.csv",                 // a staged table
		"..v01_summary.partial.csv.1.tmp",            // atomicfile writing a staged table
		".v01_right_mirrored.partial.csv",            // a staged side CSV
	}
	kept := []string{
		"v01.csv", "v01_right_mirrored.mp4", // finished outputs
		".v01_b.csv.1.tmp", ".v01_b_debug.partial.mp4", // another input's
		".v01.csv.backup", ".v01_notes.partial.txt", // the user's
		"v01.partial-3.hog", // not hidden
	}
	for _, name := range append(slices.Clone(removed), kept...) {
		var err error
		if filepath.Ext(name) == "" || name == ".v01_aligned.partial-8" {
			err = os.Mkdir(filepath.Join(dir, name), 0o755)
		} else {
			err = os.WriteFile(filepath.Join(dir, name), nil, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	newOutputs("/videos/v01.mp4", dir, ModeFull, "").sweepStale(staleCandidates(dir))
	for _, name := range removed {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s is still there", name)
		}
	}
	for _, name := range kept {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s was removed", name)
		}
	}
}
