package mirror

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// turningHead is the synthetic track of test 1: a still head, an in-plane
// turn of 30° at constant angular speed about a pivot below the chin, and a
// still head again. truth holds the noise-free midlines, obs the jittered ones.
type turningHead struct {
	truth      []Line
	obs        []Observation
	start, end int // the turn runs from frame start (0°) to frame end (30°)
}

func newTurningHead(seed uint64, sd float64) turningHead {
	const (
		still    = 30
		turn     = 10
		angle    = 30 * math.Pi / 180
		faceLen  = 200 // glabella to chin, px
		pivotGap = 80  // chin to pivot, px
	)
	pivot := Point{320, 300}
	rng := rand.New(rand.NewPCG(seed, 1))
	h := turningHead{start: still, end: still + turn}
	n := still + turn + still + 1
	for t := range n {
		frac := math.Min(1, math.Max(0, float64(t-h.start)/turn))
		a := frac * angle
		sin, cos := math.Sin(a), math.Cos(a)
		// Points hang straight above the pivot at angle 0 and rotate with it.
		at := func(r float64) Point { return Point{pivot.X + r*sin, pivot.Y - r*cos} }
		l := Line{Glabella: at(pivotGap + faceLen), Chin: at(pivotGap)}
		h.truth = append(h.truth, l)
		jit := func(p Point) Point { return Point{p.X + sd*rng.NormFloat64(), p.Y + sd*rng.NormFloat64()} }
		h.obs = append(h.obs, Observation{Line: Line{jit(l.Glabella), jit(l.Chin)}, OK: true})
	}
	return h
}

func dist(a, b Point) float64 { return math.Hypot(a.X-b.X, a.Y-b.Y) }

// TestSmoothFastTurn: a head turning 30° in 10 frames must not drag the
// smoothed chin off the still frames before and after the turn.
func TestSmoothFastTurn(t *testing.T) {
	for seed := range uint64(20) {
		h := newTurningHead(seed, 0.5)
		got, err := Smooth(h.obs)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(h.obs) {
			t.Fatalf("got %d lines for %d frames", len(got), len(h.obs))
		}
		worst := 0.0
		for i := range got {
			if i > h.start && i < h.end {
				continue // during the turn itself
			}
			d := dist(got[i].Chin, h.truth[i].Chin)
			worst = max(worst, d)
			if d > 1 {
				t.Errorf("seed %d, frame %d: smoothed chin %.2f px from the truth", seed, i, d)
			}
		}
		if seed == 0 {
			t.Logf("seed 0: worst chin error on the still frames %.2f px", worst)
		}
	}
}

func rms(got []Line, truth Line) float64 {
	var s float64
	for _, l := range got {
		s += math.Pow(dist(l.Chin, truth.Chin), 2) + math.Pow(dist(l.Glabella, truth.Glabella), 2)
	}
	return math.Sqrt(s / float64(2*len(got)))
}

func TestSmoothReducesJitter(t *testing.T) {
	truth := Line{Point{320, 100}, Point{322, 300}}
	rng := rand.New(rand.NewPCG(3, 4))
	obs := make([]Observation, 300)
	raw := make([]Line, len(obs))
	for i := range obs {
		jit := func(p Point) Point { return Point{p.X + rng.NormFloat64(), p.Y + rng.NormFloat64()} }
		raw[i] = Line{jit(truth.Glabella), jit(truth.Chin)}
		obs[i] = Observation{Line: raw[i], OK: true}
	}
	got, err := Smooth(obs)
	if err != nil {
		t.Fatal(err)
	}
	rawErr, smoothErr := rms(raw, truth), rms(got, truth)
	t.Logf("RMS error raw %.3f px, smoothed %.3f px", rawErr, smoothErr)
	if smoothErr > rawErr/2 {
		t.Errorf("smoothed RMS error %.3f px is more than half the raw %.3f px", smoothErr, rawErr)
	}
}

// linearTrack is a noise-free head moving 2 px per frame right and 1 px per
// frame down, with integer coordinates.
func linearTrack(n int) []Line {
	out := make([]Line, n)
	for i := range out {
		f := float64(i)
		out[i] = Line{Point{100 + 2*f, 50 + f}, Point{103 + 2*f, 250 + f}}
	}
	return out
}

// fillGaps returns the gap-filled track that a Smoother smooths: obs fed to
// its gap filling, with no line computed, so that no frame is forgotten.
func fillGaps(obs []Observation) ([]Line, error) {
	var s Smoother
	for _, o := range obs {
		if err := s.fill(o); err != nil {
			return nil, err
		}
	}
	if err := s.fillEnd(); err != nil {
		return nil, err
	}
	series := s.series.slice(0, s.series.end())
	out := make([]Line, len(series))
	for i, c := range series {
		out[i] = c.line()
	}
	return out, nil
}

func TestFillGaps(t *testing.T) {
	truth := linearTrack(12)
	nan := Line{Point{math.NaN(), 0}, Point{0, math.Inf(1)}}
	tests := []struct {
		name string
		ok   string // one character per frame: 'x' fitted, '.' not
		want func(i int) Line
	}{
		{"all fitted", "xxxxxxxxxxxx", func(i int) Line { return truth[i] }},
		{"gaps in the middle", "xx...x.xx..x", func(i int) Line { return truth[i] }},
		{"gaps at the ends", "...xx.x..x..", func(i int) Line { return truth[min(max(i, 3), 9)] }},
		{"one fitted frame", ".....x......", func(int) Line { return truth[5] }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obs := make([]Observation, len(tc.ok))
			for i := range obs {
				obs[i] = Observation{Line: nan}
				if tc.ok[i] == 'x' {
					obs[i] = Observation{Line: truth[i], OK: true}
				}
			}
			got, err := fillGaps(obs)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if want := tc.want(i); got[i] != want {
					t.Errorf("frame %d: got %+v, want %+v", i, got[i], want)
				}
			}
		})
	}
}

// TestSmoothStraightGaps: on a straight motion, frames without a fit (with
// garbage lines) come out of Smooth on the line, to rounding.
func TestSmoothStraightGaps(t *testing.T) {
	truth := linearTrack(199)
	obs := make([]Observation, len(truth))
	for i := range obs {
		obs[i] = Observation{Line: truth[i], OK: i%7 != 3 && (i < 50 || i > 80)}
		if !obs[i].OK {
			obs[i].Line = Line{Point{math.NaN(), -1e300}, Point{1e300, math.Inf(1)}}
		}
	}
	got, err := Smooth(obs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if d := dist(got[i].Glabella, truth[i].Glabella) + dist(got[i].Chin, truth[i].Chin); d > 1e-9 {
			t.Errorf("frame %d: %+v is %g px off %+v", i, got[i], d, truth[i])
		}
	}
}

func TestSmoothErrors(t *testing.T) {
	line := Line{Point{1, 2}, Point{3, 4}}
	tests := []struct {
		name    string
		obs     []Observation
		noFit   bool
		wantErr string
	}{
		{"empty", nil, true, "empty track"},
		{"no fitted frame", []Observation{{Line: line}, {Line: line}}, true, "none of 2 frames"},
		{"NaN in a fitted frame", []Observation{{Line: line, OK: true}, {Line: Line{Point{math.NaN(), 0}, Point{}}, OK: true}}, false, "frame 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Smooth(tc.obs)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || errors.Is(err, ErrNoFit) != tc.noFit {
				t.Fatalf("got %v, %v; want an error containing %q (ErrNoFit: %v)", got, err, tc.wantErr, tc.noFit)
			}
		})
	}
}

// TestSmoothShortTracks runs tracks shorter than, equal to and just longer
// than the windows: a still head stays where it is.
func TestSmoothShortTracks(t *testing.T) {
	still := Line{Point{320.25, 100.5}, Point{318.75, 300.125}}
	for _, n := range []int{1, 2, 3, 6, 7, 8, 20, 21, 22, 45} {
		obs := make([]Observation, n)
		for i := range obs {
			obs[i] = Observation{Line: still, OK: true}
		}
		got, err := Smooth(obs)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n {
			t.Fatalf("%d frames: got %d lines", n, len(got))
		}
		for i, l := range got {
			if dist(l.Glabella, still.Glabella)+dist(l.Chin, still.Chin) > 1e-9 {
				t.Errorf("%d frames: frame %d is %+v, want %+v", n, i, l, still)
			}
		}
	}
}

func TestSmoothDeterministic(t *testing.T) {
	h := newTurningHead(99, 1)
	for i := range h.obs {
		h.obs[i].OK = i%5 != 0
	}
	a, err := Smooth(h.obs)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Smooth(h.obs)
	for i := range a {
		if math.Float64bits(a[i].Chin.X) != math.Float64bits(b[i].Chin.X) || a[i] != b[i] {
			t.Fatalf("frame %d: %+v then %+v", i, a[i], b[i])
		}
	}
}
