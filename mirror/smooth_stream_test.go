package mirror

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// maxTrail is the most frames by which Smoother's output trails its input
// when no frame is missing.
const maxTrail = longWindow - 1

func sameBits(a, b Line) bool {
	return math.Float64bits(a.Glabella.X) == math.Float64bits(b.Glabella.X) &&
		math.Float64bits(a.Glabella.Y) == math.Float64bits(b.Glabella.Y) &&
		math.Float64bits(a.Chin.X) == math.Float64bits(b.Chin.X) &&
		math.Float64bits(a.Chin.Y) == math.Float64bits(b.Chin.Y)
}

// garbage is the line of frames without a fit: it must never be read.
var garbage = Line{Point{math.NaN(), -1e300}, Point{1e300, math.Inf(1)}}

// okMasks are the patterns of fitted frames of the random tracks.
var okMasks = []struct {
	name string
	ok   func(rng *rand.Rand, n int) []bool
}{
	{"no gap", func(_ *rand.Rand, n int) []bool { return mask(n, 0, n) }},
	{"leading gap", func(rng *rand.Rand, n int) []bool { return mask(n, 1+rng.IntN(n), n) }},
	{"trailing gap", func(rng *rand.Rand, n int) []bool { return mask(n, 0, rng.IntN(n)) }},
	{"internal gaps", func(rng *rand.Rand, n int) []bool {
		ok := mask(n, 0, n)
		for range 1 + n/40 {
			punch(rng, ok, 1, min(n-2, 60))
		}
		return ok
	}},
	{"gaps everywhere", func(rng *rand.Rand, n int) []bool {
		ok := mask(n, rng.IntN(min(n, 30)), n-rng.IntN(min(n, 30)))
		for range 1 + n/30 {
			punch(rng, ok, 1, 60)
		}
		return ok
	}},
	{"sparse fits", func(rng *rand.Rand, n int) []bool {
		ok := make([]bool, n)
		for i := range ok {
			ok[i] = rng.IntN(3) == 0
		}
		return ok
	}},
	{"one fit", func(rng *rand.Rand, n int) []bool {
		ok := make([]bool, n)
		ok[rng.IntN(n)] = true
		return ok
	}},
	{"all missing", func(_ *rand.Rand, n int) []bool { return make([]bool, n) }},
}

// mask returns n frames of which [from, to) are fitted.
func mask(n, from, to int) []bool {
	ok := make([]bool, n)
	for i := from; i < to; i++ {
		ok[i] = true
	}
	return ok
}

// punch clears a random run of lo..hi frames of ok (cut at its end).
func punch(rng *rand.Rand, ok []bool, lo, hi int) {
	if hi < lo {
		return
	}
	l := lo + rng.IntN(hi-lo+1)
	for i := rng.IntN(len(ok)); i < len(ok) && l > 0; i, l = i+1, l-1 {
		ok[i] = false
	}
}

// randomTrack is a head wandering by a random walk, with jitter, and
// moments of fast movement, so that the windows' weights differ widely.
func randomTrack(rng *rand.Rand, ok []bool) []Observation {
	obs := make([]Observation, len(ok))
	g, c := Point{960, 300}, Point{955, 700}
	var v Point
	for i := range obs {
		if rng.IntN(40) == 0 {
			v = Point{10 * rng.NormFloat64(), 3 * rng.NormFloat64()}
		} else if rng.IntN(10) == 0 {
			v = Point{}
		}
		g = Point{g.X + v.X + 0.3*rng.NormFloat64(), g.Y + v.Y + 0.3*rng.NormFloat64()}
		c = Point{c.X + 0.3*v.X + 0.3*rng.NormFloat64(), c.Y + 0.3*v.Y + 0.3*rng.NormFloat64()}
		jit := func(p Point) Point { return Point{p.X + rng.NormFloat64(), p.Y + rng.NormFloat64()} }
		obs[i] = Observation{Line: Line{jit(g), jit(c)}, OK: ok[i]}
		if !ok[i] {
			obs[i].Line = garbage
		}
	}
	return obs
}

type trackCase struct {
	name string
	obs  []Observation
}

// trackCases are the random tracks (every length from 1 to 80 and a few
// long ones, with every gap pattern) and the synthetic tracks of
// smooth_test.go.
func trackCases() []trackCase {
	rng := rand.New(rand.NewPCG(7, 11))
	var cases []trackCase
	lengths := []int{1000, 1001, 2777}
	for n := 1; n <= 80; n++ {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for _, m := range okMasks {
			for seed := range 2 {
				cases = append(cases, trackCase{fmt.Sprintf("%s/%d frames/%d", m.name, n, seed), randomTrack(rng, m.ok(rng, n))})
			}
		}
	}
	for seed := range uint64(3) {
		h := newTurningHead(seed, 0.5)
		cases = append(cases, trackCase{fmt.Sprintf("turning head/%d", seed), h.obs})
	}
	h := newTurningHead(99, 1)
	for i := range h.obs {
		h.obs[i].OK = i%5 != 0
	}
	cases = append(cases, trackCase{"turning head with gaps", h.obs})
	straight := linearTrack(199)
	obs := make([]Observation, len(straight))
	for i := range obs {
		obs[i] = Observation{Line: straight[i], OK: i%7 != 3 && (i < 50 || i > 80)}
		if !obs[i].OK {
			obs[i].Line = garbage
		}
	}
	cases = append(cases, trackCase{"straight with gaps", obs})
	still := Line{Point{320.25, 100.5}, Point{318.75, 300.125}}
	for _, n := range []int{1, 2, 3, 6, 7, 8, 20, 21, 22, 45} {
		obs := make([]Observation, n)
		for i := range obs {
			obs[i] = Observation{Line: still, OK: true}
		}
		cases = append(cases, trackCase{fmt.Sprintf("still/%d frames", n), obs})
	}
	return cases
}

// checkSame fails unless got has exactly want's lines, bit for bit.
func checkSame(t *testing.T, got, want []Line) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if !sameBits(got[i], want[i]) {
			t.Fatalf("frame %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

// checkSameErr fails unless err and want are both nil or have the same
// text and ErrNoFit-ness.
func checkSameErr(t *testing.T, err, want error) {
	t.Helper()
	if (err == nil) != (want == nil) || err != nil && (err.Error() != want.Error() || errors.Is(err, ErrNoFit) != errors.Is(want, ErrNoFit)) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

// TestSmoothUnchanged: Smooth gives the results, bit for bit, and the
// errors of the frozen copy of its version before Smoother.
func TestSmoothUnchanged(t *testing.T) {
	for _, tc := range trackCases() {
		t.Run(tc.name, func(t *testing.T) {
			want, wantErr := refSmooth(tc.obs)
			got, err := Smooth(tc.obs)
			checkSameErr(t, err, wantErr)
			checkSame(t, got, want)
		})
	}
}

// TestSmootherMatchesSmooth: the lines that Add and Close return, in the
// order returned, are the whole track's Smooth, bit for bit; each comes out
// as soon as the frames that its windows cover are known, and a returned
// line never changes afterwards.
func TestSmootherMatchesSmooth(t *testing.T) {
	for _, tc := range trackCases() {
		t.Run(tc.name, func(t *testing.T) {
			want, wantErr := refSmooth(tc.obs)
			s := NewSmoother()
			var got []Line
			var batches [][]Line
			known := 0 // frames up to the last OK one
			for i, o := range tc.obs {
				lines, err := s.Add(o)
				if err != nil {
					t.Fatalf("Add(frame %d): %v", i, err)
				}
				if o.OK {
					known = i + 1
				}
				if wantLen := max(0, known-maxTrail); len(got)+len(lines) != wantLen {
					t.Fatalf("after frame %d (last fitted %d): %d lines out, want %d", i, known-1, len(got)+len(lines), wantLen)
				}
				got = append(got, lines...)
				batches = append(batches, lines)
			}
			lines, err := s.Close()
			checkSameErr(t, err, wantErr)
			got = append(got, lines...)
			batches = append(batches, lines)
			checkSame(t, got, want)
			i := 0
			for _, b := range batches {
				checkSame(t, b, want[i:i+len(b)])
				i += len(b)
			}
		})
	}
}

// TestSmootherLatency: with every frame fitted, the output trails the input
// by at most maxTrail frames, and by exactly that once maxTrail frames are in.
func TestSmootherLatency(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, n := range []int{1, 20, 21, 22, 100} {
		obs := randomTrack(rng, mask(n, 0, n))
		var s Smoother
		out := 0
		for i, o := range obs {
			lines, err := s.Add(o)
			if err != nil {
				t.Fatal(err)
			}
			out += len(lines)
			if trail := i + 1 - out; trail != min(i+1, maxTrail) {
				t.Errorf("%d frames: after frame %d the output trails by %d frames, want %d", n, i, trail, min(i+1, maxTrail))
			}
		}
		lines, err := s.Close()
		if err != nil || out+len(lines) != n {
			t.Errorf("%d frames: Close gave %d lines (%v) after %d", n, len(lines), err, out)
		}
	}
}

// TestSmootherErrors: the errors of Smooth come from Add or Close, stick,
// and a closed Smoother takes no more frames.
func TestSmootherErrors(t *testing.T) {
	line := Line{Point{1, 2}, Point{3, 4}}
	nan := Line{Point{math.NaN(), 0}, Point{}}
	tests := []struct {
		name     string
		obs      []Observation
		addErr   int // the frame whose Add fails, or -1
		closeErr string
		noFit    bool
	}{
		{"nothing added", nil, -1, "empty track", true},
		{"no fitted frame", []Observation{{Line: line}, {Line: nan}}, -1, "none of 2 frames", true},
		{"NaN in a fitted frame", []Observation{{Line: line, OK: true}, {Line: nan, OK: true}, {Line: line, OK: true}}, 1, "frame 1", false},
		{"fine", []Observation{{Line: line}, {Line: line, OK: true}}, -1, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s Smoother
			var addErr error
			for i, o := range tc.obs {
				_, err := s.Add(o)
				if (err != nil) != (i >= tc.addErr && tc.addErr >= 0) {
					t.Fatalf("Add(frame %d): %v", i, err)
				}
				if i == tc.addErr {
					addErr = err
				} else if err != nil && err != addErr {
					t.Fatalf("Add(frame %d) after the error %v: %v", i, addErr, err)
				}
			}
			lines, err := s.Close()
			_, refErr := refSmooth(tc.obs)
			checkSameErr(t, err, refErr)
			if tc.closeErr == "" {
				if err != nil || len(lines) != len(tc.obs) {
					t.Fatalf("Close: %d lines, %v", len(lines), err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.closeErr) || errors.Is(err, ErrNoFit) != tc.noFit {
				t.Fatalf("Close: %v, want an error containing %q (ErrNoFit: %v)", err, tc.closeErr, tc.noFit)
			}
			if lines, err := s.Add(Observation{Line: line, OK: true}); err == nil || lines != nil {
				t.Errorf("Add after Close: %v, %v", lines, err)
			}
			if lines, err := s.Close(); err == nil || lines != nil {
				t.Errorf("Close after Close: %v, %v", lines, err)
			}
		})
	}
}

// TestSmootherMemory: on a long track without gaps the Smoother keeps only
// about a long window of frames and of fits.
func TestSmootherMemory(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	obs := randomTrack(rng, mask(5000, 0, 5000))
	var s Smoother
	most := 0
	for _, o := range obs {
		if _, err := s.Add(o); err != nil {
			t.Fatal(err)
		}
		most = max(most, cap(s.series.items), cap(s.wins[0].fits.items), cap(s.wins[1].fits.items))
	}
	if most > 2*(longWindow+64) {
		t.Errorf("buffers grew to %d entries", most)
	}
}

// benchmarkTrack is BenchmarkSmooth36000's track.
func benchmarkTrack() []Observation {
	rng := rand.New(rand.NewPCG(2, 2))
	obs := make([]Observation, 36000)
	for i := range obs {
		a := 0.2 * math.Sin(float64(i)/50)
		obs[i] = Observation{
			Line: Line{
				Point{960 + 300*math.Sin(a) + rng.NormFloat64(), 300 + rng.NormFloat64()},
				Point{960 + rng.NormFloat64(), 700 + rng.NormFloat64()},
			},
			OK: i%97 != 0,
		}
	}
	return obs
}

func BenchmarkSmoother36000(b *testing.B) {
	obs := benchmarkTrack()
	for b.Loop() {
		s := NewSmoother()
		for _, o := range obs {
			if _, err := s.Add(o); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefSmooth36000 times Smooth as it was before Smoother, for
// comparison.
func BenchmarkRefSmooth36000(b *testing.B) {
	obs := benchmarkTrack()
	for b.Loop() {
		if _, err := refSmooth(obs); err != nil {
			b.Fatal(err)
		}
	}
}
