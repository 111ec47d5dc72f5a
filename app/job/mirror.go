package job

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"facemirror/app/helper"
	"facemirror/app/worker"
	"facemirror/mirror"
	"facemirror/pipeline/asymmetry"
	"facemirror/pipeline/openface"
	"facemirror/pipeline/openfacecsv"
)

// trackFrame is what the mirror passes keep of one analysed source frame.
func trackFrame(r openface.FrameResult) helper.TrackFrame {
	t := helper.TrackFrame{Face: r.Success, Yaw: float32(float64(r.Pose[4]) * (180 / math.Pi))}
	if r.Success {
		t.Landmarks = append([]float32(nil), r.Landmarks...)
	}
	return t
}

// midlines returns the smoothed midline of every frame of the track.
func midlines(track []helper.TrackFrame) ([]mirror.Line, error) {
	obs := make([]mirror.Observation, len(track))
	for i, t := range track {
		if !t.Face {
			continue
		}
		// A fit whose glabella and chin coincide gives no line; the frame
		// is then treated like one without a fit.
		if l, err := mirror.FromLandmarks(t.Landmarks); err == nil {
			obs[i] = mirror.Observation{Line: l, OK: true}
		}
	}
	return mirror.Smooth(obs)
}

// finishMirror runs the mirror passes of a video whose track is complete
// and ends the job.
func (j *job) finishMirror() {
	err := j.mirrorAll()
	switch {
	case err == nil:
	case j.run.ctx.Err() != nil:
		err = j.interrupted()
	case worker.RemoteCode(err) == helper.CodeBadInput:
		// The video package's errors name the file.
	case !strings.HasPrefix(err.Error(), filepath.Base(j.path)+":"):
		err = fmt.Errorf("%s: %w", filepath.Base(j.path), err)
	}
	j.mu.Lock()
	if err != nil && j.err == nil {
		j.err = err
	}
	j.seq, j.track = nil, nil
	j.mu.Unlock()
	j.end()
}

// mirrorAll writes the source's CSV (mode full), smooths the midline,
// has helpers write the mirrored and debug videos (and analyse the
// mirrored faces), writes the side CSVs and asymmetry tables, and moves
// every output into place, the manifest last. Until then the outputs are
// staged under hidden names, so a failure leaves none of them.
func (j *job) mirrorAll() error {
	r := j.run
	mode := r.opts.Mode
	stage := &staging{}
	j.mu.Lock()
	j.stage = stage
	j.mu.Unlock()
	defer stage.discard()

	j.mu.Lock()
	seq, track, vfr := j.seq, j.track, j.vfr
	j.seq = nil
	j.mu.Unlock()
	if mode == ModeFull {
		j.event(Event{Kind: EventStage, Stage: StageWriting})
		if err := seq.WriteCSV(j.ctx, stage.path(j.csv)); err != nil {
			return err
		}
	}
	seq = nil // the source's AU stage holds up to 54 MB

	lines, err := midlines(track)
	if errors.Is(err, mirror.ErrNoFit) {
		j.warnings = append(j.warnings, "no face in any frame, so no mirrored videos were written")
		files, err := stage.commit()
		if err != nil {
			return err
		}
		return j.writeManifest(outcomeNoFace, files)
	}
	if err != nil {
		return fmt.Errorf("midline: %w", err)
	}
	enc, err := helper.EncodeTrack(track)
	if err != nil {
		return err
	}

	// Staged in the order they are listed: right, left, debug.
	out := func(kind string) *helper.MirrorOutput {
		return &helper.MirrorOutput{Path: stage.path(j.out.picture(kind))}
	}
	rightOut, leftOut, debugOut := out("right_mirrored"), out("left_mirrored"), out("debug")
	base := helper.MirrorRequest{Path: j.path, Lines: lines, Codec: r.opts.Codec, VariableRate: vfr, Preview: r.opts.OnEvent != nil}
	var reqs []helper.MirrorRequest
	var st *mirrorState
	if mode == ModeFull {
		// One request per side, so that two helpers analyse the two
		// mirrored faces at once; each reads the source itself, which
		// costs far less than tracking.
		st = newMirrorState()
		for _, side := range []string{SideRight, SideLeft} {
			s, err := openface.NewSequence(j.features, j.info)
			if err != nil {
				return err
			}
			st.sides[side] = &sideSequence{seq: s}
		}
		right, left := base, base
		right.Right, right.Debug, right.Track, right.Analyse = rightOut, debugOut, enc, []string{SideRight}
		left.Left, left.Analyse = leftOut, []string{SideLeft}
		reqs = []helper.MirrorRequest{right, left}
		j.event(Event{Kind: EventStage, Stage: StageMirrorAnalysing})
	} else {
		req := base
		req.Right, req.Left, req.Debug, req.Track = rightOut, leftOut, debugOut, enc
		reqs = []helper.MirrorRequest{req}
		j.event(Event{Kind: EventStage, Stage: StageMirroring})
	}
	if err := j.runMirrors(reqs, st); err != nil {
		return err
	}

	if mode == ModeFull {
		j.event(Event{Kind: EventStage, Stage: StageWriting})
		if err := j.writeSides(st, stage); err != nil {
			return err
		}
	}
	files, err := stage.commit()
	if err != nil {
		return err
	}
	return j.writeManifest(outcomeComplete, files)
}

// runMirrors hands the requests to the dispatchers (before any queued
// chunk) and waits for all of them. The first failure cancels the others.
func (j *job) runMirrors(reqs []helper.MirrorRequest, st *mirrorState) error {
	r := j.run
	ctx, cancel := context.WithCancel(j.ctx)
	defer cancel()
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for k, req := range reqs {
		wg.Add(1)
		task := func() {
			defer wg.Done()
			if errs[k] = j.runMirror(ctx, req, st); errs[k] != nil {
				cancel()
			}
		}
		select {
		case r.urgent <- task:
		case <-ctx.Done():
			errs[k] = ctx.Err()
			wg.Done()
		}
	}
	wg.Wait()
	// The first real failure, not the cancellations it caused.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return errors.Join(errs...)
}

// runMirror runs one mirror request on a helper and puts the mirrored
// faces' results in order.
func (j *job) runMirror(ctx context.Context, req helper.MirrorRequest, st *mirrorState) error {
	r := j.run
	done := 0 // frames counted for progress; a retry starts again at 0
	res, err := helper.Mirror(ctx, r.pool, req, helper.MirrorEvents{
		Progress: func(i int) error {
			if i >= done {
				r.framesDone(i + 1 - done)
				done = i + 1
			}
			return nil
		},
		Frame: func(side string, i int, fr openface.FrameResult) error {
			if st == nil {
				return fmt.Errorf("a %s-mirrored frame nobody asked for", side)
			}
			return j.addMirrored(st, side, i, fr)
		},
		Preview: func(p helper.MirrorPreview) error {
			j.previewEvent(p)
			return nil
		},
	})
	if err != nil {
		return err
	}
	if res.Frames != len(req.Lines) {
		return fmt.Errorf("a helper mirrored %d of %d frames", res.Frames, len(req.Lines))
	}
	return nil
}

// mirrorState puts the analysed frames of the mirrored faces in order.
type mirrorState struct {
	mu    sync.Mutex
	sides map[string]*sideSequence
}

type sideSequence struct {
	seq   *openface.Sequence
	next  int
	faces int
}

func newMirrorState() *mirrorState { return &mirrorState{sides: map[string]*sideSequence{}} }

// addMirrored adds a mirrored face's frame to its Sequence. Frames come in
// order; after a retry on a fresh helper they come again from the first,
// and the copies are dropped.
func (j *job) addMirrored(st *mirrorState, side string, i int, fr openface.FrameResult) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.sides[side]
	if s == nil {
		return fmt.Errorf("a frame of an unknown side %q", side)
	}
	if i < s.next {
		return nil
	}
	if i > s.next {
		return fmt.Errorf("%s-mirrored frame %d came before frame %d", side, i, s.next)
	}
	if err := s.seq.Add(fr); err != nil {
		return fmt.Errorf("%s-mirrored frame %d: %w", side, i, err)
	}
	if fr.Success {
		s.faces++
	}
	s.next++
	if j.run.opts.OnEvent != nil {
		j.auEvent(side, i, s.seq.Online())
	}
	return nil
}

// writeSides writes the CSV of each mirrored face and the asymmetry
// tables, staged.
func (j *job) writeSides(st *mirrorState, stage *staging) error {
	rows := map[string][]openfacecsv.Row{}
	layout := j.features.Layout()
	for _, side := range []string{SideRight, SideLeft} {
		s := st.sides[side]
		if s.next != j.frames {
			return fmt.Errorf("%d of %d %s-mirrored frames were analysed", s.next, j.frames, side)
		}
		rs, err := s.seq.Finish(j.ctx)
		if err != nil {
			return fmt.Errorf("%s-mirrored AUs: %w", side, err)
		}
		if err := openfacecsv.WriteFile(stage.path(j.out.sideCSV(side)), layout, rs); err != nil {
			return err
		}
		rows[side] = rs
		if s.faces == 0 {
			j.warnings = append(j.warnings, fmt.Sprintf("no face was found in any frame of the %s-mirrored video", side))
		}
	}
	t, err := asymmetry.FromRows(layout.IntensityAUs, rows[SideLeft], rows[SideRight])
	if err != nil {
		return err
	}
	if err := t.WriteAsymmetry(stage.path(j.out.asymmetry())); err != nil {
		return err
	}
	sum, err := t.Summary()
	if err != nil {
		return err
	}
	return asymmetry.WriteSummary(stage.path(j.out.summary()), sum)
}

// staging holds an input's finished outputs under hidden names beside
// their final ones until all are done.
type staging struct {
	mu            sync.Mutex
	finals, temps []string
	committed     bool
}

// path returns the hidden name under which the output final is written.
// The extension stays last, for the programs that choose a format by it.
func (s *staging) path(final string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ext := filepath.Ext(final)
	tmp := filepath.Join(filepath.Dir(final), "."+strings.TrimSuffix(filepath.Base(final), ext)+".partial"+ext)
	s.finals = append(s.finals, final)
	s.temps = append(s.temps, tmp)
	return tmp
}

// commit moves every staged output to its final name, in the order
// they were staged, and returns the final names.
func (s *staging) commit() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, tmp := range s.temps {
		if err := os.Rename(tmp, s.finals[i]); err != nil {
			return nil, fmt.Errorf("move %s into place: %w", filepath.Base(s.finals[i]), err)
		}
	}
	s.committed = true
	return s.finals, nil
}

// discard removes the staged outputs unless they were committed, with
// the temporary files their writers make beside them (named
// ".<staged name>.tmp-..."). A helper whose request was cancelled may
// still be writing, so Run discards again once every helper has exited.
func (s *staging) discard() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return
	}
	for _, tmp := range s.temps {
		os.Remove(tmp)
		dir, prefix := filepath.Dir(tmp), "."+filepath.Base(tmp)+".tmp-"
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), prefix) {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
}
