package openface

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"gocv.io/x/gocv"

	"facemirror/pipeline/openfacecsv"
	"facemirror/pipeline/video"
)

// ErrFrameCount reports landmarks for a different number of frames than
// the video decodes to.
var ErrFrameCount = errors.New("openface: landmark count does not match the video's frames")

// ScoreVideo decodes the video at path and analyses every frame with the
// landmarks given for it (one per decoded frame, in order), returning
// OpenFace's CSV rows. Frames are analysed in parallel, one Analyser per
// core; the results are sequenced in order.
func ScoreVideo(ctx context.Context, m *Models, path string, landmarks []Landmarks) ([]openfacecsv.Row, error) {
	seq, err := AnalyseVideo(ctx, m, path, landmarks)
	if err != nil {
		return nil, err
	}
	return seq.Finish(ctx)
}

// AnalyseVideo is ScoreVideo up to the post-processing: it returns the
// Sequence holding every frame, from which rows can be taken (Rows, Finish)
// or written (WriteCSV).
func AnalyseVideo(ctx context.Context, m *Models, path string, landmarks []Landmarks) (*Sequence, error) {
	if m == nil {
		return nil, fmt.Errorf("openface: no models")
	}
	if len(landmarks) == 0 {
		return nil, fmt.Errorf("%w: no landmarks given for %s", ErrFrameCount, path)
	}
	rd, err := video.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	seq, err := NewSequence(m, rd.Info())
	if err != nil {
		return nil, err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}

	type job struct {
		i   int
		img gocv.Mat
	}
	type result struct {
		i   int
		r   FrameResult
		err error
	}
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan job, workers)
	results := make(chan result, workers)

	// Decoding is sequential; it runs ahead of the workers by at most
	// the channel's capacity.
	go func() {
		defer close(jobs)
		for i := 0; ; i++ {
			f, err := rd.Read()
			if errors.Is(err, io.EOF) {
				if i < len(landmarks) {
					fail(fmt.Errorf("%w: %s decodes to %d frames, %d landmark sets given", ErrFrameCount, path, i, len(landmarks)))
				}
				return
			}
			if err != nil {
				fail(fmt.Errorf("decode %s frame %d: %w", path, i, err))
				return
			}
			if i >= len(landmarks) {
				f.Mat.Close()
				fail(fmt.Errorf("%w: %s has more than the %d frames landmarks were given for", ErrFrameCount, path, len(landmarks)))
				return
			}
			select {
			case jobs <- job{i, f.Mat}:
			case <-ctx.Done():
				f.Mat.Close()
				return
			}
		}
	}()

	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			an := m.NewAnalyser()
			for j := range jobs {
				if ctx.Err() != nil {
					j.img.Close()
					continue
				}
				r, err := analyseSafely(an, j.img, landmarks[j.i])
				j.img.Close()
				if err != nil {
					err = fmt.Errorf("%s frame %d: %w", path, j.i, err)
				}
				select {
				case results <- result{j.i, r, err}:
				case <-ctx.Done():
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	// Results arrive out of order; hold them until their turn.
	pending := map[int]FrameResult{}
	next := 0
	for res := range results {
		if ctx.Err() != nil {
			continue
		}
		if res.err != nil {
			fail(res.err)
			continue
		}
		pending[res.i] = res.r
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			if err := seq.Add(r); err != nil {
				fail(err)
				break
			}
			next++
		}
	}
	mu.Lock()
	err = firstErr
	mu.Unlock()
	if err == nil {
		err = ctx.Err()
	}
	if err == nil && next != len(landmarks) {
		err = fmt.Errorf("openface: %s: %d of %d frames analysed", path, next, len(landmarks))
	}
	if err != nil {
		return nil, err
	}
	return seq, nil
}

// analyseSafely runs one frame, turning a panic inside OpenCV's bindings
// into an error so that one bad frame cannot bring the process down.
func analyseSafely(an *Analyser, img gocv.Mat, lm Landmarks) (r FrameResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("openface: analysis panicked: %v", p)
		}
	}()
	return an.Analyse(img, lm)
}
