package helper

import (
	"context"
	"fmt"
	"sync"

	"facemirror/app/worker"
	"facemirror/mirror"
	"facemirror/pipeline/clnf"
	"facemirror/pipeline/openface"

	"gocv.io/x/gocv"
)

// sideDepth is how many mirrored pictures of one side wait for, or are in,
// its analysis: two let the mirror pass prepare the next frame while the
// face of the last one is tracked.
const sideDepth = 2

// sideAnalyser tracks and analyses one mirrored face, like a video of its
// own, on a goroutine of its own: the source's tracking, the mirror pass
// and the two mirrored faces then keep both cores busy. It streams each
// frame's result (EventMirrored, AnalysedFrame) in frame order.
type sideAnalyser struct {
	ctx      context.Context
	call     *worker.Call
	name     string
	tracker  *clnf.Tracker
	analyser *openface.Analyser
	last     int // the frame analysed last, -1 before the first

	frames chan sideFrame
	free   chan gocv.Mat
	mats   []gocv.Mat
	done   chan struct{}
	once   sync.Once

	mu  sync.Mutex
	err error
}

type sideFrame struct {
	index int
	mat   gocv.Mat
}

func newSideAnalyser(ctx context.Context, call *worker.Call, name string, an *analysisModels, w, h int) *sideAnalyser {
	a := &sideAnalyser{
		ctx: ctx, call: call, name: name,
		tracker:  clnf.NewTracker(an.landmarks, clnf.MTCNN{Detector: an.faces}),
		analyser: an.features.NewAnalyser(),
		last:     -1,
		frames:   make(chan sideFrame, sideDepth),
		free:     make(chan gocv.Mat, sideDepth),
		done:     make(chan struct{}),
	}
	for range sideDepth {
		m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
		a.mats = append(a.mats, m)
		a.free <- m
	}
	go a.run()
	return a
}

func (a *sideAnalyser) run() {
	defer close(a.done)
	for f := range a.frames {
		if a.failed() == nil {
			if err := a.analyse(f); err != nil {
				a.mu.Lock()
				a.err = err
				a.mu.Unlock()
			}
		}
		a.free <- f.mat
	}
}

func (a *sideAnalyser) analyse(f sideFrame) error {
	if a.last >= 0 && f.index > a.last+1 {
		// Frames were lost in between: the track starts afresh, as the
		// source's does.
		a.tracker.Reset()
	}
	a.last = f.index
	lm, err := a.tracker.Track(a.ctx, f.mat)
	if err != nil {
		if a.ctx.Err() != nil {
			return a.ctx.Err()
		}
		return fmt.Errorf("track the face in frame %d: %w", f.index, err)
	}
	enc, err := analyseTracked(a.analyser, f.mat, lm)
	if err != nil {
		return fmt.Errorf("frame %d: %w", f.index, err)
	}
	return emitFrame(a.call, EventMirrored, a.name, f.index, enc)
}

func (a *sideAnalyser) failed() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// add queues a copy of frame i's mirrored picture; it waits while
// sideDepth pictures are queued or being analysed.
func (a *sideAnalyser) add(i int, img mirror.Image) error {
	if err := a.failed(); err != nil {
		return err
	}
	var m gocv.Mat
	select {
	case m = <-a.free:
	case <-a.ctx.Done():
		return a.ctx.Err()
	}
	pix, err := m.DataPtrUint8()
	if err != nil {
		a.free <- m
		return err
	}
	copyImage(mirror.Image{Pix: pix, Width: img.Width, Height: img.Height, Stride: 3 * img.Width}, img)
	a.frames <- sideFrame{index: i, mat: m}
	return nil
}

// finish waits for the queued frames' analysis and reports its outcome.
func (a *sideAnalyser) finish() error {
	a.once.Do(func() { close(a.frames) })
	<-a.done
	return a.failed()
}

// stop ends the analysis (the request's context is cancelled by then when
// it failed) and frees the pictures.
func (a *sideAnalyser) stop() {
	a.once.Do(func() { close(a.frames) })
	<-a.done
	for _, m := range a.mats {
		m.Close()
	}
	a.mats = nil
}
