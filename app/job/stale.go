package job

import (
	"os"
	"path/filepath"
	"strings"

	"facemirror/pipeline/encode"
)

// sweepStale removes what an earlier run on the same input left half
// written when it was killed outright (kill -9, a power cut, the OOM
// killer): the hidden temporary files and folders beside its outputs,
// which a run that ends in any other way removes itself. Only hidden
// names made from this input's outputs and marked temporary (.tmp or
// .partial) are touched, whatever the mode and codec that wrote them. A
// second command writing the same input's outputs into the same folder at
// the same time would lose its temporary files; that was never safe.
// candidates are the folder's temporary-looking names (staleCandidates).
func (o outputs) sweepStale(candidates []string) {
	dir, stem := filepath.Dir(o.stem), filepath.Base(o.stem)
	finals := []string{stem + ".csv", stem + ".hog", filepath.Base(o.manifest),
		filepath.Base(o.asymmetry()), filepath.Base(o.summary())}
	for _, side := range []string{SideRight, SideLeft} {
		finals = append(finals, filepath.Base(o.sideCSV(side)))
	}
	for _, kind := range []string{"right_mirrored", "left_mirrored", "debug"} {
		for _, ext := range []string{encode.H264.Ext(), encode.FFV1.Ext(), ".png"} {
			finals = append(finals, stem+"_"+kind+ext)
		}
	}
	prefixes := []string{
		"." + stem + ".partial-",         // the HOG file being recorded
		"." + stem + "_aligned.partial-", // the aligned faces' folder
	}
	for _, f := range finals {
		bare := strings.TrimSuffix(f, filepath.Ext(f))
		prefixes = append(prefixes,
			"."+f+".",            // atomicfile's, an encoder's or a still's temporary file
			"."+bare+".partial",  // an output staged until its video is complete
			".."+bare+".partial", // an encoder's temporary file for a staged output
		)
	}
	for _, name := range candidates {
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) {
				os.RemoveAll(filepath.Join(dir, name))
				break
			}
		}
	}
}

// staleCandidates lists the hidden entries of dir marked temporary (.tmp
// or .partial), which sweepStale looks through. A run lists each output
// folder once, not once per input: a study's folder holds thousands of
// outputs.
func staleCandidates(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") && (strings.Contains(name, ".tmp") || strings.Contains(name, ".partial")) {
			names = append(names, name)
		}
	}
	return names
}
