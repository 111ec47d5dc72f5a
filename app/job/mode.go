package job

import (
	"fmt"
	"path/filepath"
	"strings"

	"facemirror/pipeline/encode"
)

// Mode is what Run computes and writes for each input <stem>.<ext>.
type Mode string

const (
	// ModeAUs writes OpenFace 2.2's CSV of the input: <stem>.csv.
	ModeAUs Mode = "aus"
	// ModeMirror writes <stem>_right_mirrored, <stem>_left_mirrored and
	// <stem>_debug videos (.mp4 with H.264, .mkv with FFV1; .png for a
	// still image).
	ModeMirror Mode = "mirror"
	// ModeFull writes what ModeMirror writes, <stem>.csv of the source,
	// <stem>_right_mirrored.csv and <stem>_left_mirrored.csv of the two
	// mirrored faces, and the tables <stem>_asymmetry.csv and
	// <stem>_summary.csv.
	ModeFull Mode = "full"
)

// Modes are the modes in the order a user is offered them.
func Modes() []Mode { return []Mode{ModeAUs, ModeMirror, ModeFull} }

// ParseMode returns the mode named s.
func ParseMode(s string) (Mode, error) {
	for _, m := range Modes() {
		if string(m) == s {
			return m, nil
		}
	}
	names := make([]string, 0, 3)
	for _, m := range Modes() {
		names = append(names, string(m))
	}
	return "", fmt.Errorf("mode %q: want %s", s, strings.Join(names, ", "))
}

// Passes is how many times the mode goes over each frame, the unit of
// Progress.Frames: the source's analysis; and its mirroring (ModeMirror),
// or the analysis of each mirrored face (ModeFull).
func (m Mode) Passes() int {
	switch m {
	case ModeMirror:
		return 2
	case ModeFull:
		return 3
	}
	return 1
}

// firstStage is what the mode does to an input first (and, in the
// mirroring modes, nearly all the time).
func (m Mode) firstStage() Stage {
	switch m {
	case ModeMirror:
		return StageMirroring
	case ModeFull:
		return StageMirrorAnalysing
	}
	return StageTracking
}

// outputs are the paths of one input's outputs. The names are those of
// the Python Face Mirror, whose users' scripts read them.
type outputs struct {
	// stem is the output folder joined with the input's name without its
	// extension: two inputs with the same stem would overwrite each
	// other's outputs.
	stem  string
	mode  Mode
	codec encode.Codec
	// still is set once the input turns out to be a still image: its
	// mirrored pictures are PNGs.
	still    bool
	manifest string
}

func newOutputs(input, dir string, mode Mode, codec encode.Codec) outputs {
	base := filepath.Base(input)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	if dir == "" {
		dir = filepath.Dir(input)
	}
	o := outputs{stem: filepath.Join(dir, stem), mode: mode, codec: codec}
	o.manifest = o.stem + "_facemirror.json"
	return o
}

// picture is the path of a mirrored or debug picture stream: kind is
// "right_mirrored", "left_mirrored" or "debug".
func (o outputs) picture(kind string) string {
	ext := o.codec.Ext()
	if o.still {
		ext = ".png"
	}
	return o.stem + "_" + kind + ext
}

// sideCSV is the CSV of a mirrored side ("right" or "left").
func (o outputs) sideCSV(side string) string { return o.stem + "_" + side + "_mirrored.csv" }

func (o outputs) asymmetry() string { return o.stem + "_asymmetry.csv" }
func (o outputs) summary() string   { return o.stem + "_summary.csv" }

// CSVPath is the CSV path for an input: its name with .csv for its
// extension, in dir or beside the input.
func CSVPath(input, dir string) string {
	return newOutputs(input, dir, ModeAUs, encode.H264).stem + ".csv"
}
