// Package backend defines what FaceMirror's window asks of the rest of the
// program, as an interface over plain values. The window therefore links
// neither OpenCV nor ONNX Runtime and does not know whether a video is read
// in-process or by a helper process; the program's main package supplies an
// implementation, and tests supply a fake.
package backend

import (
	"context"
	"image"
	"time"
)

// Backend answers the window's questions about files and about the program.
// All methods may be slow and are called off the UI goroutine, several at
// once for different files; they must return promptly once ctx is done.
type Backend interface {
	// Probe reads the facts of a video or image file. A file that cannot be
	// read yields a specific error naming the file and the reason.
	Probe(ctx context.Context, path string) (Probe, error)

	// Thumbnail decodes the first frame, upright (rotation metadata
	// applied), and looks for a face in it. face is nil when the frame has
	// no face; that is a result, not an error. err is non-nil only when the
	// frame could not be obtained or the face finder failed.
	Thumbnail(ctx context.Context, path string) (frame image.Image, face *FaceBox, err error)

	// About returns the facts shown in Help ▸ About FaceMirror, in display
	// order: application version, Go, OpenCV, ONNX Runtime and its
	// execution providers, model status.
	About(ctx context.Context) ([]Fact, error)

	// Completed reports, for each file, whether its outputs for s.Mode
	// (in s.OutDir) are complete already: a finished run of this version
	// is recorded for this very file and every output is in place. It
	// reads each file once.
	Completed(ctx context.Context, files []string, s RunSettings) ([]bool, error)

	// Process runs s over files, reporting through ev as it goes, and
	// returns every file's result, in order, once all have ended. When
	// ctx is done the run stops within a second: finished files keep
	// their outputs, the others end Cancelled and leave nothing behind.
	// A crashing helper process costs a retry, never the caller.
	Process(ctx context.Context, files []string, s RunSettings, ev RunEvents) []FileResult

	// Export writes one CSV, dst, of the given finished files' results:
	// their AUs (ExportAUs) or their asymmetry summaries (ExportSummary).
	// dst is complete or untouched. Files without what is asked for are
	// left out and named in the report; none with it is an error.
	Export(ctx context.Context, kind ExportKind, dst string, results []FileResult) (ExportReport, error)

	// Review reads a finished file's results from its output files.
	Review(ctx context.Context, r FileResult) (Review, error)

	// Frame decodes frame index (from 0) of a video, upright.
	Frame(ctx context.Context, path string, index int) (image.Image, error)
}

// ExportKind is what Export writes.
type ExportKind int

const (
	// ExportAUs: one row per video, side (source, left, right) and frame,
	// with frame, timestamp, success, the 17 AU intensities and the 18
	// occurrences, as OpenFace printed them.
	ExportAUs ExportKind = iota
	// ExportSummary: one row per video and AU (and facial region) with
	// mean left, mean right, mean absolute difference and asymmetry
	// index.
	ExportSummary
)

// ExportReport says what an export wrote.
type ExportReport struct {
	Rows int
	// Skipped names the files left out and why.
	Skipped []string
}

// Probe holds the facts of a file as shown to the user.
type Probe struct {
	// Frames is the number of frames; 0 when the container does not say.
	Frames int
	// FPS is the mean frame rate; 0 for a still image.
	FPS float64
	// Duration is the play time; 0 for a still image.
	Duration time.Duration
	// Width and Height are the size of the upright frames, after rotation.
	Width, Height int
	// Rotation is the rotation in degrees, from the file's metadata, that
	// was applied to make the frames upright; 0 when none.
	Rotation int
}

// Still reports whether the file is a single still image rather than a
// video.
func (p Probe) Still() bool { return p.FPS == 0 && p.Frames <= 1 }

// FaceBox is a detected face in the pixel coordinates of the frame it was
// found in (origin top left, x to the right, y down).
type FaceBox struct {
	X, Y, Width, Height float64
	// Confidence is the detector's score for the face, in [0, 1].
	Confidence float64
}

// Fact is one named line of the About facts, such as
// {"ONNX Runtime", "1.24.3 (providers: CPU)"}.
type Fact struct {
	Name, Value string
}
