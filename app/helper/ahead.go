package helper

import (
	"context"
	"errors"
	"io"
	"unsafe"

	"facemirror/internal/hugemem"
	"facemirror/pipeline/video"

	"gocv.io/x/gocv"
)

// decodeAhead is how many decoded frames may wait for the tracker. Two
// keep the decoder busy while the tracker works on a frame (decoding a
// 1080p frame takes about 4 ms, tracking it 15-25) and cost 12 MB at
// 1080p.
const decodeAhead = 2

// aheadFrame is a decoded frame. Its Mat belongs to the consumer until it
// gives it back with aheadReader.release.
type aheadFrame struct {
	frame video.Frame
	mat   gocv.Mat
}

// aheadReader decodes a video's frames on a goroutine of its own, a few
// frames ahead of the consumer, so that decoding overlaps the tracking of
// the frame before. Frames come in order; the Mats circulate between the
// two goroutines instead of being made for each frame.
type aheadReader struct {
	frames chan aheadFrame
	free   chan gocv.Mat
	stop   chan struct{}
	done   chan struct{}
	// Set by the decoding goroutine before done is closed.
	err   error
	total int
	ended bool
	gaps  []video.Gap
	// mats are all the Mats, for close, and bufs the memory of those
	// made over huge pages.
	mats []gocv.Mat
	bufs []*hugemem.Buffer
}

// hugeFrameBytes is the frame size from which the Mats are made over
// memory with huge pages (hugemem): a 1080p frame is 6 MB, and each Mat's
// first frame otherwise page-faults it in 4 KB at a time (1,500 faults,
// about 18 ms on the development machine), while the helper is still
// loading its models. Smaller frames would waste most of a 2 MB page.
const hugeFrameBytes = 2 << 20

// newFrameMat returns an empty Mat for frames of w×h BGR pixels, over
// memory with huge pages when they are large; OpenCV decodes into it in
// place when the frame has that size.
func (a *aheadReader) newFrameMat(w, h int) gocv.Mat {
	n := w * h * 3
	if n < hugeFrameBytes {
		return gocv.NewMat()
	}
	buf := hugemem.Alloc((n + 3) / 4)
	m, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC3, unsafe.Slice((*byte)(unsafe.Pointer(&buf.Data[0])), n))
	if err != nil {
		buf.Free()
		return gocv.NewMat()
	}
	a.bufs = append(a.bufs, buf)
	return m
}

// newAheadReader starts decoding r from its current position up to (not
// including) frame end. r must not be used by the caller until close
// returns.
func newAheadReader(ctx context.Context, r *video.Reader, end int) *aheadReader {
	a := &aheadReader{
		frames: make(chan aheadFrame, decodeAhead),
		free:   make(chan gocv.Mat, decodeAhead+2),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	// Every Mat there will ever be: the ones waiting in frames, the one
	// the consumer holds, the one being decoded into, and one more for a
	// frame the consumer passes on before giving it back.
	info := r.Info()
	for range decodeAhead + 2 {
		m := a.newFrameMat(info.Width, info.Height)
		a.mats = append(a.mats, m)
		a.free <- m
	}
	go a.decode(ctx, r, end)
	return a
}

func (a *aheadReader) decode(ctx context.Context, r *video.Reader, end int) {
	defer close(a.done)
	defer close(a.frames)
	defer func() { a.gaps = r.Gaps() }()
	for {
		var mat gocv.Mat
		select {
		case mat = <-a.free:
		case <-a.stop:
			return
		case <-ctx.Done():
			a.err = ctx.Err()
			return
		}
		f, err := r.ReadInto(&mat)
		if errors.Is(err, io.EOF) {
			a.total, a.ended = r.End()
			return
		}
		if err != nil {
			a.err = err
			return
		}
		if f.Index >= end {
			// Frames were lost up to and past the range's end.
			a.free <- mat
			return
		}
		select {
		case a.frames <- aheadFrame{frame: f, mat: mat}:
		case <-a.stop:
			return
		case <-ctx.Done():
			a.err = ctx.Err()
			return
		}
		if f.Index+1 >= end {
			a.total, a.ended = r.End()
			return
		}
	}
}

// next returns the next frame, or io.EOF once the range or the video has
// ended, or the error that stopped the decoding.
func (a *aheadReader) next() (aheadFrame, error) {
	f, ok := <-a.frames
	if ok {
		return f, nil
	}
	<-a.done
	if a.err != nil {
		return aheadFrame{}, a.err
	}
	return aheadFrame{}, io.EOF
}

// release gives a frame's Mat back for the decoding of a later frame.
// It never blocks: free has a place for every Mat.
func (a *aheadReader) release(m gocv.Mat) { a.free <- m }

// close stops the decoding, waits for it and frees the Mats; no frame's
// Mat may be used afterwards. It returns the video's exact frame count
// when the decoding met its end (video.Reader.End), and the frames it
// found lost (video.Reader.Gaps).
func (a *aheadReader) close() (total int, ended bool, gaps []video.Gap) {
	close(a.stop)
	<-a.done
	for _, m := range a.mats {
		m.Close()
	}
	for _, b := range a.bufs {
		b.Free()
	}
	return a.total, a.ended, a.gaps
}
