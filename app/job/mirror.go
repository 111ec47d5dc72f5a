package job

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"facemirror/app/helper"
	"facemirror/app/worker"
	"facemirror/pipeline/asymmetry"
	"facemirror/pipeline/openface"
	"facemirror/pipeline/openfacecsv"
)

// runMirrorVideo runs a video of modes mirror and full through one mirror
// request: the helper tracks the source (its frames come in here as an
// analyse request's would), mirrors each frame as soon as its midline is
// final, writes the pictures and, in mode full, analyses both mirrored
// faces. Once it has ended, finishMirror writes the CSVs and moves the
// outputs into place.
func (j *job) runMirrorVideo(q *queued) {
	r := j.run
	mode := r.opts.Mode
	stage := &staging{}
	j.mu.Lock()
	skip := j.err != nil || j.written
	j.stage = stage
	j.mu.Unlock()
	if skip {
		return
	}
	// Staged in the order they are listed: the source's CSV (mode full),
	// right, left, debug.
	if mode == ModeFull {
		stage.path(j.csv)
	}
	out := func(kind string) *helper.MirrorOutput {
		return &helper.MirrorOutput{Path: stage.path(j.out.picture(kind))}
	}
	req := helper.MirrorRequest{
		Path: j.path, Codec: r.opts.Codec, Preview: r.opts.OnEvent != nil,
		Right: out("right_mirrored"), Left: out("left_mirrored"), Debug: out("debug"),
	}
	var st *mirrorState
	if mode == ModeFull {
		st = newMirrorState()
		for _, side := range []string{SideRight, SideLeft} {
			s, err := openface.NewSequence(j.features, j.info)
			if err != nil {
				j.fail(fmt.Errorf("%s: %w", filepath.Base(j.path), err))
				return
			}
			st.sides[side] = &sideSequence{seq: s}
		}
		req.Analyse = []string{SideRight, SideLeft}
		req.SourceAUs = true
	}
	mirrored := 0 // frames counted for progress; a retry starts again at 0
	last := -1    // the last source frame tracked
	sent := -1    // the last source frame the request's helper sent
	res, err := helper.Mirror(j.ctx, r.pool, req, helper.MirrorEvents{
		Source: func(i int, fr openface.FrameResult) error {
			// Frame 0 again: the pool runs the request again after its
			// helper crashed.
			if i == 0 && last >= 0 {
				stage.retried()
			}
			if expect := sent + 1; i > expect && i > last {
				// The frames between could not be decoded.
				if err := j.settle(j.lose(max(expect, last+1), i)); err != nil {
					return err
				}
			}
			last, sent = max(last, i), i
			return j.add(q.c, i, fr)
		},
		Progress: func(i int) error {
			// Mode full counts the mirrored faces' analysis instead.
			if mode == ModeMirror && i >= mirrored {
				j.framesDone(i + 1 - mirrored)
				mirrored = i + 1
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
	j.addGaps(res.Gaps)
	switch {
	case err != nil && r.ctx.Err() != nil:
		err = j.interrupted()
	case err != nil && worker.IsHelperFailure(err):
		err = j.helperFailed(err, q.c, sent)
	case err != nil && worker.RemoteCode(err) == helper.CodeBadInput:
		// The video package's errors name the file.
	case err != nil && !strings.HasPrefix(err.Error(), filepath.Base(j.path)+":"):
		err = fmt.Errorf("%s: %w", filepath.Base(j.path), err)
	case err == nil && !res.NoFace && res.Mirrored != res.Frames:
		err = fmt.Errorf("%s: a helper mirrored %d of %d frames", filepath.Base(j.path), res.Mirrored, res.Frames)
	case err == nil:
		j.mu.Lock()
		j.vfr = res.VariableRate
		j.mu.Unlock()
		if res.Retried {
			j.warnRetry(0)
		}
		err = j.setTotal(res.Frames)
	}
	if err != nil {
		j.fail(err)
		return
	}
	r.finishing.Add(1)
	go func() {
		defer r.finishing.Done()
		j.finishMirror(st, res.NoFace)
	}()
}

// finishMirror writes what a finished mirror request leaves to this
// process and ends the job.
func (j *job) finishMirror(st *mirrorState, noFace bool) {
	j.mu.Lock()
	j.warnings = append(j.warnings, gapWarnings(j.gaps)...)
	j.mu.Unlock()
	err := j.mirrorOutputs(st, noFace)
	switch {
	case err == nil:
	case j.run.ctx.Err() != nil:
		err = j.interrupted()
	case !strings.HasPrefix(err.Error(), filepath.Base(j.path)+":"):
		err = fmt.Errorf("%s: %w", filepath.Base(j.path), err)
	}
	j.mu.Lock()
	if err != nil && j.err == nil {
		j.err = err
	}
	j.seq = nil
	j.mu.Unlock()
	if err != nil {
		j.stage.discard()
	}
	j.end()
}

// mirrorOutputs writes the source's CSV (mode full), the CSVs of the
// mirrored faces and the asymmetry tables, and moves every output into
// place, the manifest last. Until then the outputs are staged under hidden
// names, so a failure leaves none of them.
func (j *job) mirrorOutputs(st *mirrorState, noFace bool) error {
	mode := j.run.opts.Mode
	stage := j.stage
	j.mu.Lock()
	seq, complete := j.seq, j.written
	j.seq = nil
	j.mu.Unlock()
	if !complete {
		return fmt.Errorf("the helper ended before every frame was analysed")
	}
	if err := j.checkInput(); err != nil {
		return err
	}
	if mode == ModeFull || noFace {
		j.event(Event{Kind: EventStage, Stage: StageWriting})
	}
	if mode == ModeFull {
		if err := seq.WriteCSV(j.ctx, stage.staged(j.csv)); err != nil {
			return err
		}
	}
	seq = nil // the source's AU stage holds up to 54 MB
	if noFace {
		j.warnings = append(j.warnings, "no face in any frame, so no mirrored videos were written")
		stage.unstage(j.out.picture("right_mirrored"), j.out.picture("left_mirrored"), j.out.picture("debug"))
		files, err := stage.commit()
		if err != nil {
			return err
		}
		return j.writeManifest(outcomeNoFace, files)
	}
	if mode == ModeFull {
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
	// This frame and any lost ones before it are this side's pass over
	// them, for the progress report.
	passes := i + 1 - s.next
	if i > s.next {
		// The frames between could not be decoded: no row for them.
		j.mu.Lock()
		lost := true
		for k := s.next; k < i; k++ {
			lost = lost && j.lost[k]
		}
		j.mu.Unlock()
		if !lost {
			return fmt.Errorf("%s-mirrored frame %d came before frame %d", side, i, s.next)
		}
		s.seq.Skip(i - s.next)
		s.next = i
	}
	if err := s.seq.Add(fr); err != nil {
		return fmt.Errorf("%s-mirrored frame %d: %w", side, i, err)
	}
	if fr.Success {
		s.faces++
	}
	s.next++
	j.framesDone(passes)
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
	crashed       bool // see retried
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

// staged returns the hidden name of an output already staged.
func (s *staging) staged(final string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.temps[slices.Index(s.finals, final)]
}

// unstage forgets outputs that were staged but will not be written.
func (s *staging) unstage(finals ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range finals {
		if k := slices.Index(s.finals, f); k >= 0 {
			s.finals = slices.Delete(s.finals, k, k+1)
			s.temps = slices.Delete(s.temps, k, k+1)
		}
	}
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
// the temporary files their writers make beside them. A helper whose
// request was cancelled may still be writing, so Run discards again once
// every helper has exited.
func (s *staging) discard() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return
	}
	for _, tmp := range s.temps {
		os.Remove(tmp)
	}
	s.sweepLocked()
}

// retried records that a helper crashed while writing the outputs and its
// request ran again: its encoders' temporary files stay behind even when
// the retry succeeds, so sweep removes them.
func (s *staging) retried() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.crashed = true
}

// sweep removes the writers' temporary files left by a crashed helper.
func (s *staging) sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.crashed {
		s.sweepLocked()
	}
}

// sweepLocked removes the temporary files writers make beside the staged
// outputs (named ".<staged name>.tmp-...").
func (s *staging) sweepLocked() {
	for _, tmp := range s.temps {
		dir, prefix := filepath.Dir(tmp), "."+filepath.Base(tmp)+".tmp-"
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), prefix) {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
}
