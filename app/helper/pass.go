package helper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"facemirror/app/worker"
	"facemirror/mirror"
	"facemirror/pipeline/encode"
	"facemirror/pipeline/video"

	"gocv.io/x/gocv"
)

// picWriter is where one mirrored stream goes: an encode.Writer for a
// video, a stillWriter for an image.
type picWriter interface {
	Write(pix []byte, t time.Duration) error
	Commit() error
	Abort()
}

// mirrorSide is one mirrored stream of a request: its picture, where it
// is written and, when analysed, its analyser.
type mirrorSide struct {
	name     string
	keep     mirror.Side
	mat      gocv.Mat
	img      mirror.Image
	path     *MirrorOutput
	out      picWriter
	analyser *sideAnalyser
}

func (s *mirrorSide) wanted() bool { return s.path != nil || s.analyser != nil }

// mirrorPass reflects the frames of a video whose midlines arrive as the
// tracking finds them (trackBatch), writes the pictures and hands the
// mirrored faces to their analysers. It reads the video itself, trailing
// the tracking.
type mirrorPass struct {
	ctx  context.Context
	call *worker.Call
	req  *MirrorRequest
	info video.Info

	// track and lines grow as batches arrive: the debug video's
	// landmarks and yaw per frame tracked, and the final midlines.
	track []TrackFrame
	lines []mirror.Line
	// variableRate is what the writers were (or will be) opened with.
	variableRate bool
	// audio is the source's audio, planned once for all the writers.
	audio *encode.Audio

	r        *video.Reader // opened for the first frame mirrored
	mat      gocv.Mat
	sides    []*mirrorSide
	debugOut *MirrorOutput
	debug    picWriter
	painter  mirror.DebugPainter
	writers  []picWriter // open ones, nil before the first frame
	// next is the next frame to mirror; analysed counts the frames
	// handed to the side analysers, which a restart does not repeat.
	next, analysed int
	// held is a frame read (into mat) after frames that could not be
	// decoded, whose midline is not final yet.
	held    *video.Frame
	preview previewer
}

func newMirrorPass(ctx context.Context, call *worker.Call, req *MirrorRequest, info video.Info, an *analysisModels) (*mirrorPass, error) {
	p := &mirrorPass{ctx: ctx, call: call, req: req, info: info, mat: gocv.NewMat(), debugOut: req.Debug}
	w, h := info.Width, info.Height
	for _, s := range []*mirrorSide{{name: SideRight, keep: mirror.Right, path: req.Right}, {name: SideLeft, keep: mirror.Left, path: req.Left}} {
		for _, a := range req.Analyse {
			if a == s.name {
				s.analyser = newSideAnalyser(ctx, call, s.name, an, w, h)
			}
		}
		p.sides = append(p.sides, s)
		if s.wanted() {
			s.mat = gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
			img, err := matImage(&s.mat)
			if err != nil {
				p.close()
				return nil, fmt.Errorf("mirror %s: %s-mirrored picture: %w", req.Path, s.name, err)
			}
			s.img = img
		}
	}
	return p, nil
}

// close aborts whatever was not committed, stops the side analysers and
// frees the pictures.
func (p *mirrorPass) close() {
	p.abortWriters()
	for _, s := range p.sides {
		if s.analyser != nil {
			s.analyser.stop()
		}
		if s.wanted() {
			s.mat.Close()
		}
	}
	if p.r != nil {
		p.r.Close()
	}
	p.mat.Close()
}

func (p *mirrorPass) abortWriters() {
	for _, w := range p.writers {
		w.Abort()
	}
	p.writers, p.debug = nil, nil
	for _, s := range p.sides {
		s.out = nil
	}
}

// run mirrors every frame as soon as its midline is final and, once the
// tracking has sent its end, finishes the analysers and commits the
// pictures. Without that end (the tracking failed) nothing is committed.
func (p *mirrorPass) run(batches <-chan trackBatch) error {
	ended := false
	for b := range batches {
		if !b.end {
			p.track = append(p.track, b.frame)
		}
		p.lines = append(p.lines, b.lines...)
		if b.variableRate && !p.variableRate {
			if err := p.restartVariableRate(); err != nil {
				return err
			}
		}
		for p.next < len(p.lines) {
			if err := p.mirrorFrame(); err != nil {
				return err
			}
		}
		ended = ended || b.end
	}
	if !ended {
		if err := p.ctx.Err(); err != nil {
			return err
		}
		return errors.New("the tracking stopped before the end of the video")
	}
	if p.next > 0 && p.next != len(p.track) {
		return fmt.Errorf("mirror %s: %d midlines for %d frames tracked", p.req.Path, p.next, len(p.track))
	}
	if p.r != nil {
		// The second reading must end where the first did.
		if _, err := p.r.ReadInto(&p.mat); !errors.Is(err, io.EOF) {
			return fmt.Errorf("mirror %s: the video has more frames than the %d tracked; the file changed or decodes differently each time", p.req.Path, len(p.track))
		}
	}
	for _, s := range p.sides {
		if s.analyser != nil {
			if err := s.analyser.finish(); err != nil {
				return fmt.Errorf("%s-mirrored face of %s: %w", s.name, p.req.Path, err)
			}
		}
	}
	for _, w := range p.writers {
		if err := w.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// restartVariableRate reopens the writers to keep each frame's own time
// once the tracking has found the source's frames unevenly spaced. A
// writer's clock is fixed when it starts, so frames already written go
// again; the mirrored faces already analysed are not analysed again.
func (p *mirrorPass) restartVariableRate() error {
	p.variableRate = true
	if p.writers == nil {
		return nil
	}
	p.abortWriters()
	if p.r != nil {
		p.r.Close()
		p.r = nil
	}
	p.next, p.held = 0, nil
	return nil
}

// open starts the pictures' writers and the pass's reading of the video.
func (p *mirrorPass) open() error {
	if p.r == nil {
		r, err := openVideo(p.ctx, p.req.Path)
		if err != nil {
			return err
		}
		p.r = r
	}
	if p.writers != nil {
		return nil
	}
	w, h := p.info.Width, p.info.Height
	if p.audio == nil && p.info.Kind != video.Image {
		a, err := encode.PlanAudio(p.ctx, "", p.req.Path, p.req.Codec)
		if err != nil {
			return err
		}
		p.audio = a
	}
	create := func(out *MirrorOutput) (picWriter, error) {
		if p.info.Kind == video.Image {
			return newStillWriter(out.Path, w, h), nil
		}
		enc, err := encode.Create(p.ctx, out.Path, encode.Options{
			Codec: p.req.Codec, Width: w, Height: h, Rate: p.info.FPS,
			VariableRate: p.variableRate, Audio: p.audio,
		})
		if err != nil {
			return nil, err
		}
		return newQueuedWriter(enc), nil
	}
	p.writers = []picWriter{}
	for _, s := range p.sides {
		if s.path == nil {
			continue
		}
		out, err := create(s.path)
		if err != nil {
			return err
		}
		s.out = out
		p.writers = append(p.writers, out)
	}
	if p.debugOut != nil {
		d, err := create(p.debugOut)
		if err != nil {
			return err
		}
		p.debug = d
		p.writers = append(p.writers, d)
	}
	return nil
}

// mirrorFrame reflects frame p.next across its midline, writes the
// pictures, hands the mirrored faces to their analysers and reports.
func (p *mirrorPass) mirrorFrame() error {
	if err := p.open(); err != nil {
		return err
	}
	i := p.next
	var f video.Frame
	if p.held != nil {
		f, p.held = *p.held, nil
	} else {
		var err error
		f, err = p.r.ReadInto(&p.mat)
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("mirror %s: the video ended after %d frames, where %d were tracked; the file changed or decodes differently each time", p.req.Path, i, len(p.track))
		}
		if err != nil {
			if p.ctx.Err() != nil {
				return p.ctx.Err()
			}
			return worker.Coded(CodeBadInput, err)
		}
		if f.Index < i || (f.Index > i && !p.track[i].Lost) {
			return fmt.Errorf("mirror %s: read frame %d where frame %d was due", p.req.Path, f.Index, i)
		}
		if f.Index > i {
			// Frames i to f.Index-1 could not be decoded: they have a
			// midline (the tracking went through them as through frames
			// without a face) but no picture.
			p.next, i = f.Index, f.Index
			if i >= len(p.lines) {
				p.held = &f
				return nil
			}
		}
	}
	src, err := matImage(&p.mat)
	if err != nil {
		return fmt.Errorf("mirror frame %d of %s: %w", i, p.req.Path, err)
	}
	line := p.lines[i]
	right, left := p.sides[0], p.sides[1]
	switch {
	case right.wanted() && left.wanted():
		err = mirror.MirrorBoth(right.img, left.img, src, line)
	case right.wanted():
		err = mirror.Mirror(right.img, src, line, mirror.Right)
	case left.wanted():
		err = mirror.Mirror(left.img, src, line, mirror.Left)
	}
	if err != nil {
		return fmt.Errorf("mirror frame %d of %s: %w", i, p.req.Path, err)
	}
	for _, s := range p.sides {
		if s.out != nil {
			if err := s.out.Write(s.img.Pix, f.Time); err != nil {
				return err
			}
		}
	}
	if i >= p.analysed {
		for _, s := range p.sides {
			if s.analyser != nil {
				if err := s.analyser.add(i, s.img); err != nil {
					return fmt.Errorf("%s-mirrored face of %s: %w", s.name, p.req.Path, err)
				}
			}
		}
		p.analysed = i + 1
	}
	if p.req.Preview && p.preview.due() {
		pv, err := p.preview.make(i, &p.mat, line, right, left)
		if err != nil {
			return fmt.Errorf("preview of frame %d of %s: %w", i, p.req.Path, err)
		}
		if err := p.call.Emit(EventPreview, pv); err != nil {
			return err
		}
	}
	if p.debug != nil {
		// Drawn on the source frame itself, which nothing reads after
		// this: a copy would cost 6 MB and a millisecond per 1080p frame.
		p.painter.Draw(src, debugFrame(p.track[i], line))
		if err := p.debug.Write(src.Pix, f.Time); err != nil {
			return err
		}
	}
	if err := p.call.Emit(EventProgress, MirrorProgress{Index: i}); err != nil {
		return err
	}
	p.next++
	return nil
}
