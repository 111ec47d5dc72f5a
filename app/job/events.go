package job

import (
	"bytes"
	"image"
	"image/jpeg"
	"time"

	"facemirror/app/helper"
)

// EventKind says what an Event carries.
type EventKind int

const (
	// EventStage: an input entered Stage.
	EventStage EventKind = iota
	// EventPreview: Preview holds downscaled pictures of a frame.
	EventPreview
	// EventAUs: AUs holds one frame's AU intensities of one side.
	EventAUs
)

// Stage is what is being done to an input.
type Stage string

const (
	// StageTracking: the face's landmarks are tracked through the
	// source, frame by frame, and analysed.
	StageTracking Stage = "tracking the face"
	// StageMirroring (mode mirror): the face is tracked and, a few
	// frames behind, the mirrored and debug videos are written.
	StageMirroring Stage = "tracking and mirroring"
	// StageMirrorAnalysing (mode full): as StageMirroring, and both
	// mirrored faces are tracked and analysed too.
	StageMirrorAnalysing Stage = "tracking, mirroring and analysing both sides"
	// StageWriting: the CSVs and tables are written.
	StageWriting Stage = "writing the results"
)

// Sides of EventAUs.
const (
	SideSource = "source"
	SideRight  = helper.SideRight
	SideLeft   = helper.SideLeft
)

// Event is something a window shows while a Run works.
type Event struct {
	Kind EventKind
	// File is the input's index in Run's files, Path the input.
	File int
	Path string
	// Stage is the stage entered (EventStage).
	Stage Stage
	// Preview is set for EventPreview.
	Preview *Preview
	// AUs is set for EventAUs.
	AUs *FrameAUs
}

// Preview is a downscaled look at one frame (at most helper.PreviewRate a
// second per input): the source with its midline drawn, and the mirrored
// pictures of the sides being written (nil when a side is not).
type Preview struct {
	Frame               int
	Source, Right, Left image.Image
}

// FrameAUs are one frame's AU intensities of one side, as OpenFace
// predicts them online while the video is analysed (the CSV's values are
// post-processed over the whole video at the end).
type FrameAUs struct {
	// Side is SideSource, SideRight or SideLeft.
	Side string
	// Frame is the 0-based frame index, Time its timestamp in seconds
	// (the CSV's timestamp column).
	Frame int
	Time  float64
	// Names are the AU names ("AU01", ...), Intensity their values (0-5);
	// Names is shared by all events and must not be changed.
	Names     []string
	Intensity []float64
}

// event sends e for this job's input to Options.OnEvent.
func (j *job) event(e Event) {
	r := j.run
	if e.Kind == EventStage {
		j.mu.Lock()
		j.stages = append(j.stages, stageStart{e.Stage, time.Now()})
		j.mu.Unlock()
	}
	if r.opts.OnEvent == nil {
		return
	}
	e.File, e.Path = j.index, j.path
	r.evMu.Lock()
	defer r.evMu.Unlock()
	r.opts.OnEvent(e)
}

// auEvent sends one frame's AU intensities of one side.
func (j *job) auEvent(side string, frame int, intensity []float64) {
	j.event(Event{Kind: EventAUs, AUs: &FrameAUs{
		Side:      side,
		Frame:     frame,
		Time:      j.info.OpenFaceTimestamp(frame),
		Names:     j.auNames,
		Intensity: intensity,
	}})
}

// previewEvent decodes a helper's preview and sends it. A picture that
// does not decode is left out: a preview is not worth failing a video.
func (j *job) previewEvent(p helper.MirrorPreview) {
	dec := func(b []byte) image.Image {
		if len(b) == 0 {
			return nil
		}
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			return nil
		}
		return img
	}
	j.event(Event{Kind: EventPreview, Preview: &Preview{
		Frame: p.Index, Source: dec(p.Source), Right: dec(p.Right), Left: dec(p.Left),
	}})
}

// stageStart is when an input entered a stage, for the manifest's timings.
type stageStart struct {
	stage Stage
	at    time.Time
}
