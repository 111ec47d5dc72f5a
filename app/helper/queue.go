package helper

import (
	"sync"
	"time"

	"facemirror/pipeline/encode"
)

// queueDepth is how many frames wait in a queuedWriter besides the one
// being written: one is enough for the encoder to go on while the next is
// prepared, and each is 3 MB at 1080p (as I420).
const queueDepth = 1

// queuedWriter hands frames to an encoder on a goroutine of its own. A
// mirror request writes up to three videos, each through its own ffmpeg;
// written in turn from one goroutine, each Write waited until its ffmpeg
// had read the whole frame, so the encoders ran one after another (d04 in
// mode mirror: 6 frames/s, the encoders a third busy each). Queued, they
// run side by side. Frames are queued prepared (encode.Writer.Prepare),
// converted straight from the caller's picture.
type queuedWriter struct {
	w      *encode.Writer
	frames chan queuedFrame
	free   chan *encode.Frame
	done   chan struct{}
	once   sync.Once

	mu  sync.Mutex
	err error // the first Write error, reported by later calls
}

type queuedFrame struct {
	f *encode.Frame
	t time.Duration
}

func newQueuedWriter(w *encode.Writer) *queuedWriter {
	q := &queuedWriter{
		w:      w,
		frames: make(chan queuedFrame, queueDepth),
		free:   make(chan *encode.Frame, queueDepth+1),
		done:   make(chan struct{}),
	}
	go q.run()
	return q
}

func (q *queuedWriter) run() {
	defer close(q.done)
	for f := range q.frames {
		if q.failed() == nil {
			if err := q.w.WriteFrame(f.f, f.t); err != nil {
				q.setErr(err)
			}
		}
		// Keep the frame's memory for a later Write unless enough is kept.
		select {
		case q.free <- f.f:
		default:
		}
	}
}

func (q *queuedWriter) failed() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

func (q *queuedWriter) setErr(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err == nil {
		q.err = err
	}
}

// Write queues pix, prepared for the encoder; it blocks only while
// queueDepth frames wait.
func (q *queuedWriter) Write(pix []byte, t time.Duration) error {
	if err := q.failed(); err != nil {
		return err
	}
	var f *encode.Frame
	select {
	case f = <-q.free:
	default:
		f = new(encode.Frame)
	}
	if err := q.w.Prepare(f, pix); err != nil {
		q.setErr(err)
		q.w.Abort()
		return err
	}
	q.frames <- queuedFrame{f: f, t: t}
	return nil
}

// Commit waits for the queued frames to be written and commits.
func (q *queuedWriter) Commit() error {
	q.once.Do(func() { close(q.frames) })
	<-q.done
	if err := q.failed(); err != nil {
		return err
	}
	return q.w.Commit()
}

// Abort stops the writer (which unblocks a Write waiting on its encoder)
// and drops what is queued.
func (q *queuedWriter) Abort() {
	q.w.Abort()
	q.once.Do(func() { close(q.frames) })
	<-q.done
}
