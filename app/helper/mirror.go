package helper

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"facemirror/app/worker"
	"facemirror/mirror"
	"facemirror/pipeline/clnf"
	"facemirror/pipeline/encode"
	"facemirror/pipeline/openface"
	"facemirror/pipeline/video"

	"gocv.io/x/gocv"
)

// Side names of MirrorRequest.Analyse and MirroredFrame.Side.
const (
	SideRight = "right"
	SideLeft  = "left"
)

// picWriter is where one mirrored stream goes: an encode.Writer for a
// video, a stillWriter for an image.
type picWriter interface {
	Write(pix []byte, t time.Duration) error
	Commit() error
	Abort()
}

// mirrorSide is one mirrored stream of a request: its picture, where it
// is written and, when analysed, its own tracker and analyser.
type mirrorSide struct {
	name     string
	keep     mirror.Side
	mat      gocv.Mat
	img      mirror.Image
	out      picWriter
	tracker  *clnf.Tracker
	analyser *openface.Analyser
}

func (s *mirrorSide) wanted() bool { return s.out != nil || s.tracker != nil }

// mirror serves KindMirror: it reads the video once, reflects every frame
// across its midline, writes the mirrored and debug videos and tracks and
// analyses the mirrored streams asked for, each as a video of its own.
func (e *engine) mirror(ctx context.Context, call *worker.Call) (any, error) {
	var req MirrorRequest
	if err := call.Decode(&req); err != nil {
		return nil, err
	}
	track, err := checkMirrorRequest(&req)
	if err != nil {
		return nil, worker.Coded(worker.CodeBadRequest, err)
	}
	var an *analysisModels
	if len(req.Analyse) > 0 {
		if an, err = e.analysis(ctx); err != nil {
			return nil, err
		}
		if err := call.Alive(); err != nil {
			return nil, err
		}
	}
	r, err := openVideo(ctx, req.Path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	info := r.Info()
	w, h := info.Width, info.Height

	open := func(out *MirrorOutput) (picWriter, error) {
		if out == nil {
			return nil, nil
		}
		if info.Kind == video.Image {
			return newStillWriter(out.Path, w, h), nil
		}
		enc, err := encode.Create(ctx, out.Path, encode.Options{
			Codec: req.Codec, Width: w, Height: h, Rate: info.FPS,
			VariableRate: req.VariableRate, AudioFrom: req.Path,
		})
		if err != nil {
			return nil, err
		}
		return newQueuedWriter(enc), nil
	}
	var writers []picWriter
	defer func() {
		// After a successful Commit, Abort does nothing.
		for _, wr := range writers {
			wr.Abort()
		}
	}()
	sides := []*mirrorSide{{name: SideRight, keep: mirror.Right}, {name: SideLeft, keep: mirror.Left}}
	for _, s := range sides {
		out := req.Right
		if s.keep == mirror.Left {
			out = req.Left
		}
		if s.out, err = open(out); err != nil {
			return nil, err
		}
		if s.out != nil {
			writers = append(writers, s.out)
		}
		for _, a := range req.Analyse {
			if a == s.name {
				s.tracker = clnf.NewTracker(an.landmarks, clnf.MTCNN{Detector: an.faces})
				s.analyser = an.features.NewAnalyser()
			}
		}
		if !s.wanted() {
			continue
		}
		s.mat = gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
		defer s.mat.Close()
		pix, err := s.mat.DataPtrUint8()
		if err != nil {
			return nil, fmt.Errorf("mirror %s: %w", req.Path, err)
		}
		s.img = mirror.Image{Pix: pix, Width: w, Height: h, Stride: 3 * w}
	}
	debugOut, err := open(req.Debug)
	if err != nil {
		return nil, err
	}
	var debugImg mirror.Image
	if debugOut != nil {
		writers = append(writers, debugOut)
		debugImg = mirror.NewImage(w, h)
	}
	right, left := sides[0], sides[1]

	mat := gocv.NewMat()
	defer mat.Close()
	var preview previewer
	n := 0
	for {
		f, err := r.ReadInto(&mat)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, worker.Coded(CodeBadInput, err)
		}
		i := f.Index
		if i != n {
			return nil, fmt.Errorf("mirror %s: read frame %d where frame %d was due", req.Path, i, n)
		}
		if i >= len(req.Lines) {
			return nil, fmt.Errorf("mirror %s: the video has more frames than the %d of its track; the file changed or decodes differently each time", req.Path, len(req.Lines))
		}
		src, err := matImage(&mat)
		if err != nil {
			return nil, fmt.Errorf("mirror frame %d of %s: %w", i, req.Path, err)
		}
		line := req.Lines[i]
		switch {
		case right.wanted() && left.wanted():
			err = mirror.MirrorBoth(right.img, left.img, src, line)
		case right.wanted():
			err = mirror.Mirror(right.img, src, line, mirror.Right)
		case left.wanted():
			err = mirror.Mirror(left.img, src, line, mirror.Left)
		}
		if err != nil {
			return nil, fmt.Errorf("mirror frame %d of %s: %w", i, req.Path, err)
		}
		for _, s := range sides {
			if s.out != nil {
				if err := s.out.Write(s.img.Pix, f.Time); err != nil {
					return nil, err
				}
			}
		}
		if debugOut != nil {
			copyImage(debugImg, src)
			mirror.DrawDebug(debugImg, debugFrame(track[i], line))
			if err := debugOut.Write(debugImg.Pix, f.Time); err != nil {
				return nil, err
			}
		}
		for _, s := range sides {
			if s.tracker == nil {
				continue
			}
			if err := analyseMirrored(ctx, call, s, i); err != nil {
				return nil, fmt.Errorf("%s-mirrored frame %d of %s: %w", s.name, i, req.Path, err)
			}
		}
		if err := call.Emit(EventProgress, MirrorProgress{Index: i}); err != nil {
			return nil, err
		}
		if req.Preview && preview.due() {
			p, err := preview.make(i, &mat, line, right, left)
			if err != nil {
				return nil, fmt.Errorf("preview of frame %d of %s: %w", i, req.Path, err)
			}
			if err := call.Emit(EventPreview, p); err != nil {
				return nil, err
			}
		}
		n++
	}
	if n != len(req.Lines) {
		return nil, fmt.Errorf("mirror %s: the video has %d frames, its track %d; the file changed or decodes differently each time", req.Path, n, len(req.Lines))
	}
	for _, wr := range writers {
		if err := wr.Commit(); err != nil {
			return nil, err
		}
	}
	return MirrorResult{Frames: n}, nil
}

// checkMirrorRequest refuses requests that cannot be carried out and
// decodes the track.
func checkMirrorRequest(req *MirrorRequest) ([]TrackFrame, error) {
	if len(req.Lines) == 0 {
		return nil, fmt.Errorf("mirror %s: no midlines", req.Path)
	}
	if _, err := encode.ParseCodec(string(req.Codec)); err != nil {
		return nil, fmt.Errorf("mirror %s: %w", req.Path, err)
	}
	for _, a := range req.Analyse {
		if a != SideRight && a != SideLeft {
			return nil, fmt.Errorf("mirror %s: analyse %q: want %q or %q", req.Path, a, SideRight, SideLeft)
		}
	}
	if req.Debug == nil {
		return nil, nil
	}
	track, err := DecodeTrack(req.Track)
	if err != nil {
		return nil, fmt.Errorf("mirror %s: %w", req.Path, err)
	}
	if len(track) != len(req.Lines) {
		return nil, fmt.Errorf("mirror %s: a track of %d frames for %d midlines", req.Path, len(track), len(req.Lines))
	}
	return track, nil
}

// analyseMirrored tracks and analyses side s's picture of frame i and
// streams the result.
func analyseMirrored(ctx context.Context, call *worker.Call, s *mirrorSide, i int) error {
	lm, err := s.tracker.Track(ctx, s.mat)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("track the face: %w", err)
	}
	enc, err := analyseTracked(s.analyser, s.mat, lm)
	if err != nil {
		return err
	}
	return call.Emit(EventFrame, MirroredFrame{Side: s.name, Index: i, Result: enc})
}

// matImage is a view of a continuous 8-bit BGR Mat's pixels.
func matImage(m *gocv.Mat) (mirror.Image, error) {
	if m.Type() != gocv.MatTypeCV8UC3 || !m.IsContinuous() {
		return mirror.Image{}, fmt.Errorf("frame is not continuous 8-bit BGR (type %v)", m.Type())
	}
	pix, err := m.DataPtrUint8()
	if err != nil {
		return mirror.Image{}, err
	}
	return mirror.Image{Pix: pix, Width: m.Cols(), Height: m.Rows(), Stride: 3 * m.Cols()}, nil
}

// copyImage copies src's pixels into dst of the same size.
func copyImage(dst, src mirror.Image) {
	for y := range src.Height {
		copy(dst.Pix[y*dst.Stride:y*dst.Stride+3*dst.Width], src.Pix[y*src.Stride:y*src.Stride+3*src.Width])
	}
}

// debugFrame is what the debug video shows of one frame.
func debugFrame(t TrackFrame, line mirror.Line) mirror.Debug {
	d := mirror.Debug{Face: t.Face, Line: line, YawDeg: float64(t.Yaw)}
	if t.Face {
		n := len(t.Landmarks) / 2
		d.Landmarks = make([]mirror.Point, n)
		for k := range n {
			d.Landmarks[k] = mirror.Point{X: float64(t.Landmarks[k]), Y: float64(t.Landmarks[n+k])}
		}
	}
	return d
}

// previewer makes at most PreviewRate previews a second.
type previewer struct {
	last time.Time
}

func (p *previewer) due() bool { return time.Since(p.last) >= time.Second/PreviewRate }

// make encodes the downscaled source (with its midline) and mirrored
// pictures of frame i.
func (p *previewer) make(i int, src *gocv.Mat, line mirror.Line, right, left *mirrorSide) (MirrorPreview, error) {
	p.last = time.Now()
	out := MirrorPreview{Index: i}
	scale := min(1, float64(PreviewWidth)/float64(src.Cols()))
	enc := func(m gocv.Mat, withLine bool) ([]byte, error) {
		size := image.Pt(max(1, int(math.Round(float64(m.Cols())*scale))), max(1, int(math.Round(float64(m.Rows())*scale))))
		small := gocv.NewMat()
		defer small.Close()
		gocv.Resize(m, &small, size, 0, 0, gocv.InterpolationArea)
		if withLine {
			a, b := lineAcross(line, m.Cols(), m.Rows())
			pt := func(q mirror.Point) image.Point {
				return image.Pt(int(math.Round(q.X*scale)), int(math.Round(q.Y*scale)))
			}
			gocv.Line(&small, pt(a), pt(b), color.RGBA{R: 255, G: 64, B: 255, A: 255}, 1)
		}
		buf, err := gocv.IMEncode(gocv.JPEGFileExt, small)
		if err != nil {
			return nil, err
		}
		defer buf.Close()
		return append([]byte(nil), buf.GetBytes()...), nil
	}
	var err error
	if out.Source, err = enc(*src, true); err != nil {
		return out, err
	}
	if right.wanted() {
		if out.Right, err = enc(right.mat, false); err != nil {
			return out, err
		}
	}
	if left.wanted() {
		if out.Left, err = enc(left.mat, false); err != nil {
			return out, err
		}
	}
	return out, nil
}

// lineAcross returns two points of the midline at the top and bottom edge
// of a w×h picture (or its left and right edge for a near-horizontal
// line), so that the line drawn between them crosses the whole picture.
func lineAcross(l mirror.Line, w, h int) (a, b mirror.Point) {
	dx, dy := l.Chin.X-l.Glabella.X, l.Chin.Y-l.Glabella.Y
	if math.Abs(dy) >= math.Abs(dx) && dy != 0 {
		at := func(y float64) mirror.Point { return mirror.Point{X: l.Glabella.X + (y-l.Glabella.Y)*dx/dy, Y: y} }
		return at(0), at(float64(h - 1))
	}
	if dx == 0 {
		return l.Glabella, l.Chin
	}
	at := func(x float64) mirror.Point { return mirror.Point{X: x, Y: l.Glabella.Y + (x-l.Glabella.X)*dy/dx} }
	return at(0), at(float64(w - 1))
}

// stillWriter writes a still image's mirrored picture as a PNG: written to
// a temporary file beside path and renamed on Commit.
type stillWriter struct {
	path string
	w, h int
	pix  []byte
	done bool
}

func newStillWriter(path string, w, h int) *stillWriter { return &stillWriter{path: path, w: w, h: h} }

// Write keeps the picture; a still image has one frame.
func (s *stillWriter) Write(pix []byte, _ time.Duration) error {
	if s.pix != nil {
		return fmt.Errorf("write %s: a still image has one frame", filepath.Base(s.path))
	}
	if len(pix) != 3*s.w*s.h {
		return fmt.Errorf("write %s: %d bytes for a %dx%d picture", filepath.Base(s.path), len(pix), s.w, s.h)
	}
	s.pix = append([]byte(nil), pix...)
	return nil
}

// Commit writes the PNG.
func (s *stillWriter) Commit() error {
	if s.done {
		return nil
	}
	if s.pix == nil {
		return fmt.Errorf("write %s: no picture", filepath.Base(s.path))
	}
	m, err := gocv.NewMatFromBytes(s.h, s.w, gocv.MatTypeCV8UC3, s.pix)
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(s.path), err)
	}
	defer m.Close()
	tmp, err := os.CreateTemp(filepath.Dir(s.path), "."+filepath.Base(s.path)+".tmp-*.png")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(s.path), err)
	}
	tmp.Close()
	if !gocv.IMWrite(tmp.Name(), m) {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: the PNG encoder failed", filepath.Base(s.path))
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", filepath.Base(s.path), err)
	}
	s.done = true
	return nil
}

// Abort drops the picture; nothing was written before Commit.
func (s *stillWriter) Abort() { s.pix = nil }
