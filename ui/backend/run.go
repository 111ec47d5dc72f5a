package backend

import (
	"image"
	"time"
)

// Mode is what a run computes and writes for each video.
type Mode string

const (
	// ModeFull writes the left- and right-mirrored and debug videos, the
	// AU CSVs of the source and of both mirrored faces, and the asymmetry
	// tables: what the Python Face Mirror's full pipeline wrote.
	ModeFull Mode = "full"
	// ModeMirror writes the three videos only.
	ModeMirror Mode = "mirror"
	// ModeAUs writes OpenFace 2.2's CSV of the source only.
	ModeAUs Mode = "aus"
)

// Modes are the modes in the order the window offers them.
func Modes() []Mode { return []Mode{ModeFull, ModeMirror, ModeAUs} }

// Label is the mode's name as the window shows it.
func (m Mode) Label() string {
	switch m {
	case ModeFull:
		return "Full Python-equivalent pipeline"
	case ModeMirror:
		return "Mirror only"
	case ModeAUs:
		return "AUs only"
	}
	return string(m)
}

// Mirrors reports whether the mode writes mirrored videos.
func (m Mode) Mirrors() bool { return m == ModeFull || m == ModeMirror }

// RunSettings are the choices a run is made with.
type RunSettings struct {
	Mode Mode
	// OutDir receives every video's outputs; empty means beside each
	// video.
	OutDir string
	// Workers is the number of helper processes; 0 means one per core.
	Workers int
	// SkipComplete skips the videos whose outputs for Mode are complete
	// already (see Backend.Completed).
	SkipComplete bool
}

// RunEvents receive what a run reports while it works. Each may be nil.
// They are called from the run's goroutines, never from the UI goroutine,
// one call at a time; they must return quickly, since frames wait for
// them.
type RunEvents struct {
	Progress func(RunProgress)
	// Stage: the file entered a stage, named for the user ("tracking
	// the face", ...).
	Stage func(file int, stage string)
	// Preview: downscaled pictures of a frame of the file, a few a
	// second.
	Preview func(file int, p Preview)
	// AUs: one frame's AU intensities of one side of the file.
	AUs func(file int, a FrameAUs)
	// File: the file ended (done, failed, cancelled or skipped).
	File func(FileResult)
}

// RunProgress counts a run's work so far.
type RunProgress struct {
	// Files is the number of videos, FilesDone how many have ended.
	Files, FilesDone int
	// Frames counts frame passes (each frame once per pass the mode
	// makes over it) of the videos opened so far, FramesDone those done.
	Frames, FramesDone int
	// Rate is frame passes per second so far (0 before the first).
	Rate float64
	// Left is the estimated time left; valid only when LeftKnown.
	Left      time.Duration
	LeftKnown bool
}

// Preview is a downscaled look at one frame while it is processed: the
// source with its midline drawn and the mirrored faces (nil when the mode
// writes none).
type Preview struct {
	Frame               int
	Source, Left, Right image.Image
}

// Sides of FrameAUs.
const (
	SideSource = "source"
	SideLeft   = "left"
	SideRight  = "right"
)

// FrameAUs are one frame's AU intensities of one side, as predicted while
// the video is analysed (the CSV's values are post-processed over the
// whole video at its end, so they differ slightly).
type FrameAUs struct {
	Side  string
	Frame int
	// Time is the frame's time in seconds.
	Time float64
	// Names are the AU names ("AU01", ...), shared by all events: do not
	// change them.
	Names     []string
	Intensity []float64
}

// Outcome is how a file's run ended.
type Outcome int

const (
	// Done: every output was written.
	Done Outcome = iota
	// NoFace: processed, but no frame shows a face (the CSV says so;
	// no mirrored videos).
	NoFace
	// Failed: no outputs; Err says why.
	Failed
	// Cancelled: stopped by the user; no outputs of this file were left.
	Cancelled
	// Skipped: its outputs were complete already.
	Skipped
	// Damaged: every output was written, but some frames of the file
	// could not be decoded and are missing from them (Warnings say
	// which).
	Damaged
)

// String returns the outcome as a row shows it.
func (o Outcome) String() string {
	switch o {
	case Done:
		return "done"
	case NoFace:
		return "no face found"
	case Failed:
		return "failed"
	case Cancelled:
		return "cancelled"
	case Skipped:
		return "skipped (already processed)"
	case Damaged:
		return "done, frames missing"
	}
	return "unknown outcome"
}

// FileResult is how one file of a run ended.
type FileResult struct {
	// File is the index in the run's files, Path the file.
	File int
	Path string
	Outcome
	// Err says why the file failed; nil otherwise.
	Err error
	// Elapsed is the time the file took.
	Elapsed time.Duration
	// Frames is the number of frames, FaceFrames those with a face.
	Frames, FaceFrames int
	// Outputs are the files written (or found, when skipped), the
	// manifest last; Left and Right among them the left- and
	// right-mirrored videos (empty when the mode writes none).
	Outputs     []string
	Left, Right string
	// Warnings are things the user should know about the outputs.
	Warnings []string
}

// Review is what a finished file's results hold for review: the AU curves
// of each side from its CSVs, its asymmetry summary, and the videos whose
// frames the window shows side by side.
type Review struct {
	// Names are the intensity AUs, in the CSVs' order.
	Names []string
	// Sides are the curves of the sides whose CSV was written: source,
	// then left and right (mode full).
	Sides []ReviewSide
	// Summary are the rows of <stem>_summary.csv (mode full).
	Summary []SummaryRow
	// Source, Left and Right are the videos to show frames of: Source is
	// the debug video (the source with its midline) when one was
	// written, else the source; Left and Right are empty when none was
	// written.
	Source, Left, Right string
	// Frames is the number of frames.
	Frames int
}

// ReviewSide is one side's AU intensities, frame by frame.
type ReviewSide struct {
	Side string
	// Times are the frames' times in seconds; Intensity[i] the frame's
	// values in Review.Names order.
	Times     []float64
	Intensity [][]float64
}

// SummaryRow is one AU's (or facial region's) summary, as the CSV prints
// it.
type SummaryRow struct {
	Item, Kind                                  string
	Frames                                      string
	MeanLeft, MeanRight, MeanAbsDiff, Asymmetry string
}
