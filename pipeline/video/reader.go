package video

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gocv.io/x/gocv"
)

// Reader hands out the frames of one file in order, upright and in 8-bit
// BGR. It is not safe for concurrent use.
type Reader struct {
	// ctx bounds the Reader's whole life: Read and Seek fail once it is
	// done, as with exec.CommandContext.
	ctx    context.Context
	src    *source
	tl     timeline // the next frame's index, the frames' times, the gaps
	eof    bool
	closed bool
	// stored receives the frame as decoded when it must still be rotated.
	stored gocv.Mat
	// held is a frame that Seek decoded past damaged data and that the
	// next Read returns (heldMat as decoded, before rotation).
	held    *Frame
	heldMat gocv.Mat
}

// Open opens path for reading from its first frame. It decodes nothing
// yet, so r.Info() is header-level (see ProbeHeader); a still image is
// decoded here and becomes the only frame. Errors are as for Probe.
func Open(ctx context.Context, path string) (*Reader, error) {
	src, err := openSource(ctx, path)
	if err != nil {
		return nil, err
	}
	return &Reader{ctx: ctx, src: src, tl: newTimeline(src), stored: gocv.NewMat(), heldMat: gocv.NewMat()}, nil
}

// OpenAt opens path positioned so that the first Read returns frame start
// (see Seek): the entry point for a helper that processes one chunk of a
// video.
func OpenAt(ctx context.Context, path string, start int) (*Reader, error) {
	r, err := Open(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := r.Seek(start); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Info returns what Open learned about the file (FramesExact is false for
// videos; use Probe for the exact count and timestamps).
func (r *Reader) Info() Info { return r.src.info }

// End reports whether the Reader has met the end of the video (Read
// returned io.EOF, or Seek went past the last frame) and, if so, the exact
// number of frames the video decodes to. It lets a caller that planned
// from the container's frame count (ProbeHeader) learn the true count
// without a separate decoding pass.
//
// Frames lost to damaged data count: frames is the index of the last
// frame that decodes, plus one. Gaps tells which frames are lost.
func (r *Reader) End() (frames int, ok bool) {
	if !r.eof {
		return 0, false
	}
	return r.tl.next, true
}

// Gaps lists the stretches of frames met so far that could not be decoded,
// in order (see Gap); once the end is met (End), also the frames its
// container lists beyond the last that decodes. Read goes on past damaged
// data as FFmpeg does: the frame after a gap has its own index, so indices
// jump over the lost frames.
func (r *Reader) Gaps() []Gap { return append([]Gap(nil), r.tl.gaps...) }

// Read returns the next frame, or io.EOF after the last one. The frame's
// Mat belongs to the caller, who must Close it. A video whose first frame
// cannot be decoded gives an *Error (ErrNoFrames, ErrTruncated or
// ErrNotMedia) instead of io.EOF.
func (r *Reader) Read() (Frame, error) {
	m := gocv.NewMat()
	f, err := r.ReadInto(&m)
	if err != nil {
		m.Close()
	}
	return f, err
}

// ReadInto is Read decoding into dst, which the caller owns and may reuse
// from frame to frame, so OpenCV keeps its buffer instead of allocating a
// new picture per frame (BenchmarkDecodeInto: 5-15 % faster than Read at
// 1080p on the loaded 2-core development machine, within its noise at
// 480x360). The returned Frame.Mat is *dst, not a new Mat.
func (r *Reader) ReadInto(dst *gocv.Mat) (Frame, error) {
	if err := r.usable("read"); err != nil {
		return Frame{}, err
	}
	if r.eof {
		return Frame{}, io.EOF
	}
	if r.src.info.Kind == Image {
		return r.readImage(dst)
	}
	c := r.src.capture
	rot := r.src.info.Rotation
	decoded := dst
	if rot != 0 {
		decoded = &r.stored
	}
	var f Frame
	if r.held != nil {
		f = *r.held
		r.held = nil
		r.heldMat.CopyTo(decoded)
	} else {
		index, t, ok, err := r.tl.advance(r.ctx, func() bool { return c.Read(decoded) }, r.position)
		if err != nil {
			return Frame{}, fmt.Errorf("read %s: %w", filepath.Base(r.src.path), err)
		}
		if !ok {
			r.eof = true
			if r.tl.next == 0 {
				return Frame{}, r.src.noFramesError()
			}
			return Frame{}, io.EOF
		}
		f = Frame{Index: index, Time: t}
	}
	if rot != 0 {
		gocv.Rotate(r.stored, dst, rotateFlag(rot))
	}
	if dst.Type() != gocv.MatTypeCV8UC3 {
		// The FFmpeg backend always converts to BGR24; this guards the
		// promise should a build behave otherwise.
		bgr := gocv.NewMat()
		defer bgr.Close()
		convertToBGR8(*dst, &bgr)
		bgr.CopyTo(dst)
	}
	f.Mat = *dst
	return f, nil
}

// position is the decoder's time for the frame it decoded last.
func (r *Reader) position() float64 { return r.src.capture.Get(gocv.VideoCapturePosMsec) }

func (r *Reader) readImage(dst *gocv.Mat) (Frame, error) {
	if r.tl.next > 0 {
		r.eof = true
		return Frame{}, io.EOF
	}
	// The decoded image stays with the source, so Seek(0) can hand it out
	// again without decoding.
	r.src.image.CopyTo(dst)
	r.tl.next = 1
	return Frame{Index: 0, Time: 0, Mat: *dst}, nil
}

// Seek positions the Reader so that the next Read returns frame index.
// It is exact: frames are decoded from the start (or from the current
// position when seeking forward) and discarded, because OpenCV's own
// CAP_PROP_POS_FRAMES seek lands on the wrong frame for some files (see
// the package documentation). Seeking past the last frame gives an *Error
// wrapping ErrFrameRange.
func (r *Reader) Seek(index int) error {
	if err := r.usable("seek"); err != nil {
		return err
	}
	if index < 0 {
		return fileError(r.src.path, ErrFrameRange, fmt.Sprintf("frame %d", index))
	}
	if r.src.info.Kind == Image {
		if index > 0 {
			return fileError(r.src.path, ErrFrameRange, fmt.Sprintf("frame %d of a still image", index))
		}
		r.tl.next, r.eof = 0, false
		return nil
	}
	if h := r.held; h != nil {
		switch gaps := r.tl.gaps; {
		case index > h.Index:
			// The decoder is past the held frame: go on from there.
			r.held = nil
		case len(gaps) > 0 && gaps[len(gaps)-1].From <= index:
			// index is lost, as the held frame's gap showed.
			return nil
		}
	}
	if index < r.tl.next || r.held != nil || (r.eof && index >= r.tl.next) {
		if err := r.rewind(); err != nil {
			return err
		}
	}
	c := r.src.capture
	for r.tl.next < index {
		if err := r.ctx.Err(); err != nil {
			return fmt.Errorf("seek %s: %w", filepath.Base(r.src.path), err)
		}
		// Frames are grabbed without colour conversion; once a grab fails
		// (damaged data), the frames that may decode again are read
		// whole, so that one landing at or past index can be kept for the
		// next Read.
		failed := false
		decode := func() bool {
			if !failed {
				failed = !grab(c)
				return !failed
			}
			return c.Read(&r.heldMat)
		}
		i, t, ok, err := r.tl.advance(r.ctx, decode, r.position)
		if err != nil {
			return fmt.Errorf("seek %s: %w", filepath.Base(r.src.path), err)
		}
		if !ok {
			r.eof = true
			return fileError(r.src.path, ErrFrameRange, fmt.Sprintf("frame %d requested, the video has %d frames", index, r.tl.next))
		}
		if i >= index {
			// index itself is lost; the next Read returns the first frame
			// after it that decodes.
			r.held = &Frame{Index: i, Time: t}
			return nil
		}
	}
	return nil
}

// rewind reopens the file at its first frame.
func (r *Reader) rewind() error {
	src, err := openSource(r.ctx, r.src.path)
	if err != nil {
		return err
	}
	r.src.close()
	r.src = src
	r.tl = newTimeline(src)
	r.held, r.eof = nil, false
	return nil
}

// usable refuses work after Close (the decoder is freed; calling into it
// would crash) or once the context is done.
func (r *Reader) usable(op string) error {
	if r.closed {
		return fmt.Errorf("%s %s: %w", op, filepath.Base(r.src.path), os.ErrClosed)
	}
	if err := r.ctx.Err(); err != nil {
		return fmt.Errorf("%s %s: %w", op, filepath.Base(r.src.path), err)
	}
	return nil
}

// Close releases the decoder and any frame not handed out. Closing twice
// is harmless; Read and Seek after Close return os.ErrClosed.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.src.close()
	r.stored.Close()
	r.heldMat.Close()
	return nil
}

func rotateFlag(ccw int) gocv.RotateFlag {
	switch ccw {
	case 90:
		return gocv.Rotate90CounterClockwise
	case 180:
		return gocv.Rotate180Clockwise
	default: // 270 counter-clockwise is 90 clockwise
		return gocv.Rotate90Clockwise
	}
}

// convertToBGR8 turns a grey, BGRA or 16-bit frame into 8-bit BGR.
func convertToBGR8(src gocv.Mat, dst *gocv.Mat) {
	tmp := src
	if src.Type()&7 != gocv.MatTypeCV8U&7 {
		scaled := gocv.NewMat()
		defer scaled.Close()
		src.ConvertToWithParams(&scaled, gocv.MatTypeCV8U, 1.0/256, 0)
		tmp = scaled
	}
	switch tmp.Channels() {
	case 1:
		gocv.CvtColor(tmp, dst, gocv.ColorGrayToBGR)
	case 4:
		gocv.CvtColor(tmp, dst, gocv.ColorBGRAToBGR)
	default:
		tmp.CopyTo(dst)
	}
}
