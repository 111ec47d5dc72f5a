package clnf

import (
	"context"
	"errors"
	"slices"
	"testing"

	"facemirror/pipeline/pdm"

	"gocv.io/x/gocv"
)

// scripted stands in for the model and the face detector: fits and
// detections succeed or fail as the test says, and every result carries
// the frame number so restorations can be seen.
type scripted struct {
	m          *Model
	frame      int
	trackOK    func(frame int) bool
	boxOK      func(frame int) bool
	faceFound  func(frame int) bool
	detections []int
	windows    map[int][]int
}

func (s *scripted) result(marker float32, ok bool) fitResult {
	r := fitResult{p: params{g: pdm.Global{Scale: marker}, local: make([]float32, 34)}, landmarks: make([]float32, 136), likelihood: marker, success: ok}
	r.landmarks[0] = marker
	r.parts = s.m.initialParts()
	for k := range r.parts {
		r.parts[k].landmarks[0] = marker
		r.parts[k].p.g.Tx = marker
	}
	if ok {
		r.certainty = 0.9
	} else {
		r.certainty = 0.1
	}
	return r
}

func (s *scripted) detectLandmarks(_ context.Context, _ *frame, _ params, windows []int, _ float32, _ partTracer) (fitResult, error) {
	s.windows[s.frame] = windows
	return s.result(float32(1000+s.frame), s.trackOK(s.frame)), nil
}

func (s *scripted) detectFromBox(_ context.Context, _ *frame, _ pdm.Box, _ float32, _ hypothesisTracer) (fitResult, error) {
	return s.result(float32(2000+s.frame), s.boxOK(s.frame)), nil
}

func (s *scripted) DetectFace(_ context.Context, _ gocv.Mat) (pdm.Box, bool, error) {
	s.detections = append(s.detections, s.frame)
	return pdm.Box{X: 1, Y: 1, W: 10, H: 10}, s.faceFound(s.frame), nil
}

func never(int) bool  { return false }
func always(int) bool { return true }

// TestTrackerStateMachine follows DetectLandmarksInVideo's rules with
// scripted fits: detection every 12th frame while no face is tracked, the
// initial detection accepted even when the validator rejects it, small
// windows after a successful frame, re-detection on every other failure,
// restoration of the tracked fit when a re-detection fails, and giving up
// after more than 100 failures in a row.
func TestTrackerStateMachine(t *testing.T) {
	m := testModel(t)
	blank := gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC3)
	defer blank.Close()
	ctx := context.Background()

	t.Run("no face", func(t *testing.T) {
		s := &scripted{m: m, trackOK: never, boxOK: never, faceFound: never, windows: map[int][]int{}}
		tr := NewTracker(m, s)
		tr.fit = s
		var ran []int
		for s.frame = 0; s.frame < 30; s.frame++ {
			r, err := tr.Track(ctx, blank)
			if err != nil {
				t.Fatal(err)
			}
			if r.Success || r.Landmarks[0] != 0 || r.Global[0] != 1 {
				t.Fatalf("frame %d: %+v, want the reset state", s.frame, r)
			}
			// The part models are as loaded: landmarks 0, scale 1.
			if len(r.Parts) != 3 {
				t.Fatalf("frame %d: %d part models", s.frame, len(r.Parts))
			}
			for k, name := range []string{"inner", "left_eye_28", "right_eye_28"} {
				p, ok := r.Part(name)
				if !ok || p.Name != name || r.Parts[k].Name != name {
					t.Fatalf("frame %d: part %d is %q, want %s", s.frame, k, r.Parts[k].Name, name)
				}
				n := m.parts[k].pdm.NumPoints()
				if len(p.Landmarks) != 2*n || len(p.Local) != m.parts[k].pdm.NumModes() || p.Global != [6]float32{1} || slices.ContainsFunc(p.Landmarks, func(v float32) bool { return v != 0 }) {
					t.Fatalf("frame %d: %s %+v, want the state before any fit", s.frame, name, p)
				}
			}
			if _, ok := r.Part("nose"); ok {
				t.Fatal("a part that is not in the model")
			}
			if r.DetectorRan {
				ran = append(ran, s.frame)
			}
		}
		if want := []int{0, 12, 24}; !slices.Equal(ran, want) || !slices.Equal(s.detections, want) {
			t.Errorf("detector ran at %v (called at %v), want %v", ran, s.detections, want)
		}
	})

	t.Run("tracking, failures and giving up", func(t *testing.T) {
		s := &scripted{
			m:         m,
			trackOK:   func(f int) bool { return f < 3 },
			boxOK:     never,
			faceFound: always,
			windows:   map[int][]int{},
		}
		tr := NewTracker(m, s)
		tr.fit = s
		type want struct {
			success, detSuccess, ran bool
			scale                    float32
			parts                    float32 // the fit the part models come from
		}
		expect := map[int]want{
			// The first detection is kept although the validator failed.
			0: {true, false, true, 2000, 2000},
			1: {true, true, false, 1001, 1001},
			2: {true, true, false, 1002, 1002},
			// Tracking fails, the re-detection fails: frame 3's tracked fit
			// is restored, but the part models keep the failed
			// re-detection's state, as in OpenFace.
			3: {false, false, true, 1003, 2003},
			4: {false, false, false, 1004, 1004},
			5: {false, false, true, 1005, 2005},
			// Failure 101 ends tracking; the next detection comes when
			// (failures+1) is a multiple of 12, and as an initial
			// detection it reports success. Frames without a fit keep
			// the part models as they were.
			104: {false, false, false, 1104, 1104},
			110: {false, false, false, 1104, 1104},
			111: {true, false, true, 2111, 2111},
		}
		for s.frame = 0; s.frame <= 111; s.frame++ {
			r, err := tr.Track(ctx, blank)
			if err != nil {
				t.Fatal(err)
			}
			w, ok := expect[s.frame]
			if !ok {
				continue
			}
			got := want{r.Success, r.DetectionSuccess, r.DetectorRan, r.Global[0], r.Parts[1].Landmarks[0]}
			if got != w {
				t.Errorf("frame %d: success/detection success/detector ran/scale/parts %v, want %v", s.frame, got, w)
			}
			for _, p := range r.Parts {
				if p.Landmarks[0] != w.parts || p.Global[4] != w.parts {
					t.Errorf("frame %d: part %s from fit %v (tx %v), want %v", s.frame, p.Name, p.Landmarks[0], p.Global[4], w.parts)
				}
			}
			if r.Landmarks[0] != w.scale {
				t.Errorf("frame %d: landmarks from fit %v, want %v", s.frame, r.Landmarks[0], w.scale)
			}
		}
		if w := s.windows[1]; !slices.Equal(w, m.main.set.windowsInit) {
			t.Errorf("frame 1 after a rejected detection used windows %v, want %v", w, m.main.set.windowsInit)
		}
		if w := s.windows[2]; !slices.Equal(w, m.main.set.windowsSmall) {
			t.Errorf("frame 2 after a good frame used windows %v, want %v", w, m.main.set.windowsSmall)
		}
		if _, ok := s.windows[105]; ok {
			t.Errorf("frame 105 was tracked after tracking was abandoned")
		}
		// Re-detections while tracking: every other failure (failures 0,
		// 2, 4, ... at frames 3, 5, 7, ... up to 103).
		var redetect []int
		for _, f := range s.detections {
			if f > 0 && f < 111 {
				redetect = append(redetect, f)
			}
		}
		if len(redetect) != 51 || redetect[0] != 3 || redetect[50] != 103 {
			t.Errorf("re-detections at %v, want frames 3, 5, ..., 103", redetect)
		}
	})

	t.Run("no detector", func(t *testing.T) {
		tr := NewTracker(m, nil)
		if _, err := tr.Track(ctx, blank); !errors.Is(err, ErrNoDetector) {
			t.Errorf("Track without a detector: %v, want ErrNoDetector", err)
		}
	})
}

// TestFitFromBoxDegenerate fits real models where there is nothing to
// find: a uniform frame (every patch response is flat) and a box far
// outside a tiny frame. The fit must end without error and be rejected.
func TestFitFromBoxDegenerate(t *testing.T) {
	m := testModel(t)
	ctx := context.Background()
	cases := []struct {
		name string
		w, h int
		box  pdm.Box
	}{
		{"uniform", 160, 120, pdm.Box{X: 40, Y: 30, W: 80, H: 60}},
		{"outside", 32, 24, pdm.Box{X: 500, Y: -400, W: 90, H: 90}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(90, 90, 90, 0), c.h, c.w, gocv.MatTypeCV8UC3)
			defer img.Close()
			tr := NewTracker(m, nil)
			r, err := tr.FitFromBox(ctx, img, c.box)
			if err != nil {
				t.Fatal(err)
			}
			if r.DetectionSuccess {
				t.Errorf("a fit to nothing was accepted (confidence %v)", r.Confidence)
			}
			for k, p := range r.Parts {
				if len(p.Landmarks) != 2*m.parts[k].pdm.NumPoints() || len(p.Local) != m.parts[k].pdm.NumModes() {
					t.Errorf("part %s: %d landmark values, %d parameters", p.Name, len(p.Landmarks), len(p.Local))
				}
			}
			// The tracker keeps going from such a fit.
			if _, err := tr.Track(ctx, img); !errors.Is(err, ErrNoDetector) && err != nil {
				t.Fatal(err)
			}
		})
	}
}
