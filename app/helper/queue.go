package helper

import (
	"sync"
	"time"
)

// queueDepth is how many frames a queuedWriter holds: enough for an
// encoder to go on while the others take their turn, and at 1080p 6 MB
// each.
const queueDepth = 2

// queuedWriter hands frames to a picWriter on a goroutine of its own. A
// mirror request writes up to three videos, each through its own ffmpeg;
// written in turn from one goroutine, each Write waited until its ffmpeg
// had read the whole frame, so the encoders ran one after another (d04 in
// mode mirror: 6 frames/s, the encoders a third busy each). Queued, they
// run side by side.
type queuedWriter struct {
	w      picWriter
	frames chan queuedFrame
	free   chan []byte
	done   chan struct{}
	once   sync.Once

	mu  sync.Mutex
	err error // the first Write error, reported by later calls
}

type queuedFrame struct {
	pix []byte
	t   time.Duration
}

func newQueuedWriter(w picWriter) *queuedWriter {
	q := &queuedWriter{
		w:      w,
		frames: make(chan queuedFrame, queueDepth),
		free:   make(chan []byte, queueDepth),
		done:   make(chan struct{}),
	}
	go q.run()
	return q
}

func (q *queuedWriter) run() {
	defer close(q.done)
	for f := range q.frames {
		if q.failed() == nil {
			if err := q.w.Write(f.pix, f.t); err != nil {
				q.mu.Lock()
				q.err = err
				q.mu.Unlock()
			}
		}
		// Keep the buffer for the next Write unless enough are kept.
		select {
		case q.free <- f.pix:
		default:
		}
	}
}

func (q *queuedWriter) failed() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

// Write queues a copy of pix; it blocks only while queueDepth frames wait.
func (q *queuedWriter) Write(pix []byte, t time.Duration) error {
	if err := q.failed(); err != nil {
		return err
	}
	var buf []byte
	select {
	case buf = <-q.free:
	default:
	}
	buf = append(buf[:0], pix...)
	q.frames <- queuedFrame{pix: buf, t: t}
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
