package au

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// scanMedian is UpdateRunningMedian written as OpenFace writes it: rescan
// every histogram from bin 0. The bin of a value is computed the way the
// package does (OpenCV's folded scale and shift), so that the comparison
// tests the median search alone.
type scanMedian struct {
	bins      int
	min, max  float64
	hist      [][]int
	count     int
	median    []float64
	clampZero bool
}

func (m *scanMedian) update(desc []float64, add bool) {
	length := m.max - m.min
	if m.hist == nil {
		m.hist = make([][]int, len(desc))
		for i := range m.hist {
			m.hist[i] = make([]int, m.bins)
		}
		m.median = append([]float64(nil), desc...)
	}
	if add {
		for i, x := range desc {
			v := math.FMA(x, float64(m.bins)*(1/length), (-m.min*float64(m.bins))*(1/length))
			v = math.Max(0, math.Min(v, float64(m.bins-1)))
			m.hist[i][int(v)]++
		}
		m.count++
	}
	if m.count == 1 {
		copy(m.median, desc)
	} else {
		cutoff := (m.count + 1) / 2
		for i := range m.hist {
			sum := 0
			for j, c := range m.hist[i] {
				sum += c
				if sum >= cutoff {
					m.median[i] = m.min + float64(j)*(length/float64(m.bins)) + 0.5*length/float64(m.bins)
					break
				}
			}
		}
	}
	if m.clampZero {
		for i, v := range m.median {
			m.median[i] = math.Max(v, 0)
		}
	}
}

// TestRunningMedianMatchesRescan compares the incremental median walk with
// a full rescan on random data with ties, out-of-range values and failed
// frames, including failures before and right after the first success.
func TestRunningMedianMatchesRescan(t *testing.T) {
	cases := []struct {
		name         string
		bins         int
		min, max     float64
		clamp        bool
		lo, hi       float64
		failFirst    int
		failRate     float64
		frames, dims int
		coarseDigits float64
	}{
		{"hog", hogBins, hogMin, hogMax, true, -0.1, 1.2, 2, 0.2, 400, 64, 100},
		{"geom", geomBins, geomMin, geomMax, false, -80, 80, 0, 0.1, 400, 32, 10},
		{"geom narrow", geomBins, geomMin, geomMax, false, -0.5, 0.5, 3, 0.3, 300, 16, 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(c.bins)))
			med := make([]float64, c.dims)
			inc := newRunningMedian(med, c.bins, c.min, c.max, c.clamp)
			ref := &scanMedian{bins: c.bins, min: c.min, max: c.max, clampZero: c.clamp}
			desc := make([]float64, c.dims)
			for f := 0; f < c.frames; f++ {
				for i := range desc {
					// Rounded values make ties and repeated bins common.
					desc[i] = math.Round((c.lo+rng.Float64()*(c.hi-c.lo))*c.coarseDigits) / c.coarseDigits
				}
				add := f >= c.failFirst && rng.Float64() >= c.failRate
				inc.update(desc, add)
				ref.update(desc, add)
				for i := range med {
					if med[i] != ref.median[i] {
						t.Fatalf("frame %d dim %d: median %v, rescan %v (count %d)", f, i, med[i], ref.median[i], inc.count)
					}
				}
			}
		})
	}
}

// syntheticFrame returns a deterministic HOG and local parameter vector.
func syntheticFrame(rng *rand.Rand) Frame {
	hog := make([]float32, HOGLen)
	for i := range hog {
		hog[i] = float32(rng.Float64() * 0.4)
	}
	local := make([]float32, 34)
	for i := range local {
		local[i] = float32(rng.NormFloat64() * 5)
	}
	return Frame{HOG: hog, Local: local, Success: true}
}

func newTestAnalyser(t testing.TB) *Analyser {
	t.Helper()
	p, md := loadModels(t)
	a, err := NewAnalyser(p, md)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestMedianEdgeRules checks FaceAnalyser's behaviour around empty and
// single-frame histograms: with no frame the median is the first bin's
// centre (0 after the HOG clamp), and with one frame it is the current
// descriptor, even a failed frame's.
func TestMedianEdgeRules(t *testing.T) {
	a := newTestAnalyser(t)
	rng := rand.New(rand.NewPCG(7, 7))
	firstGeomBin := geomMin + 0.5*(geomMax-geomMin)/geomBins

	// Frame 0 fails: empty histograms.
	if _, err := a.Add(Frame{}); err != nil {
		t.Fatal(err)
	}
	for i, v := range a.HOGMedian() {
		if v != 0 {
			t.Fatalf("empty HOG median %d = %v, want 0", i, v)
		}
	}
	for i, v := range a.GeomMedian() {
		if v != firstGeomBin {
			t.Fatalf("empty geometry median %d = %v, want %v", i, v, firstGeomBin)
		}
	}
	// Frame 1 (odd) does not update; frame 2 succeeds: one frame.
	if _, err := a.Add(syntheticFrame(rng)); err != nil {
		t.Fatal(err)
	}
	f2 := syntheticFrame(rng)
	if _, err := a.Add(f2); err != nil {
		t.Fatal(err)
	}
	_, md := loadModels(t)
	geom, err := Geometry(md, f2.Local, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.MedianFrames() != 1 {
		t.Fatalf("%d frames in the medians, want 1", a.MedianFrames())
	}
	for i, v := range a.HOGMedian() {
		if v != float64(f2.HOG[i]) {
			t.Fatalf("one-frame HOG median %d = %v, want the descriptor's %v", i, v, f2.HOG[i])
		}
	}
	for i, v := range a.GeomMedian() {
		if v != geom[i] {
			t.Fatalf("one-frame geometry median %d = %v, want %v", i, v, geom[i])
		}
	}
	// Frames 3 and 4 fail: still one frame, and frame 4's descriptor (the
	// black face, zero geometry) becomes the median.
	for k := 0; k < 2; k++ {
		if _, err := a.Add(Frame{}); err != nil {
			t.Fatal(err)
		}
	}
	for i, v := range a.HOGMedian() {
		if v != float64(a.black[i]) {
			t.Fatalf("HOG median %d = %v after a failed frame, want the black face's %v", i, v, a.black[i])
		}
	}
	for i, v := range a.GeomMedian() {
		if v != 0 {
			t.Fatalf("geometry median %d = %v after a failed frame, want 0", i, v)
		}
	}
}

// TestBadFrameInput checks that malformed input is refused and that
// non-finite values give an error and a failed frame, never a number.
func TestBadFrameInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	good := syntheticFrame(rng)
	nanLocal := syntheticFrame(rng)
	nanLocal.Local[5] = float32(math.NaN())
	infHOG := syntheticFrame(rng)
	infHOG.HOG[17] = float32(math.Inf(1))
	nanHOGFailed := Frame{HOG: append([]float32(nil), infHOG.HOG...)}

	for _, c := range []struct {
		name     string
		f        Frame
		recorded bool
		sentinel error
	}{
		{"short HOG", Frame{HOG: good.HOG[:100], Local: good.Local, Success: true}, false, nil},
		{"short local", Frame{HOG: good.HOG, Local: good.Local[:10], Success: true}, false, nil},
		{"success without HOG", Frame{Local: good.Local, Success: true}, false, nil},
		{"NaN local", nanLocal, true, ErrNonFinite},
		{"Inf HOG", infHOG, true, ErrNonFinite},
		{"Inf HOG on failed frame", nanHOGFailed, true, ErrNonFinite},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newTestAnalyser(t)
			ref := newTestAnalyser(t)
			for _, an := range []*Analyser{a, ref} {
				if _, err := an.Add(good); err != nil {
					t.Fatal(err)
				}
			}
			got, err := a.Add(c.f)
			if err == nil {
				t.Fatal("no error")
			}
			if c.sentinel != nil && !errors.Is(err, c.sentinel) {
				t.Errorf("error %q does not wrap %v", err, c.sentinel)
			}
			wantFrames := 1
			if c.recorded {
				wantFrames = 2
				// The frame counts as failed: same state as a failed frame.
				if _, err := ref.Add(Frame{}); err != nil {
					t.Fatal(err)
				}
				for _, v := range append(got.Intensity, got.Occurrence...) {
					if v != 0 {
						t.Fatalf("prediction %v for a rejected frame, want 0", v)
					}
				}
			}
			if a.Frames() != wantFrames {
				t.Fatalf("%d frames recorded, want %d", a.Frames(), wantFrames)
			}
			// Both continue identically.
			next := syntheticFrame(rng)
			ga, err1 := a.Add(next)
			gr, err2 := ref.Add(next)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			for j := range ga.Intensity {
				if ga.Intensity[j] != gr.Intensity[j] {
					t.Fatalf("after the bad frame, AU %d = %v, want %v", j, ga.Intensity[j], gr.Intensity[j])
				}
			}
		})
	}
}

// TestRepredictionLimit checks that only the first MaxRepredicted
// successful frames are predicted again; later frames keep their online
// values, as in OpenFace.
func TestRepredictionLimit(t *testing.T) {
	a := newTestAnalyser(t)
	rng := rand.New(rand.NewPCG(11, 12))
	const n = MaxRepredicted + 5
	online := make([][]float64, n)
	var first Frame
	for f := 0; f < n; f++ {
		fr := syntheticFrame(rng)
		if f == 1 {
			fr = Frame{} // one failed frame shifts the success count
		}
		if f == 0 {
			first = fr
		}
		got, err := a.Add(fr)
		if err != nil {
			t.Fatal(err)
		}
		online[f] = append([]float64(nil), got.Intensity...)
	}
	off, err := a.Postprocess(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Frames 0..3000 hold 3000 successes; 3001.. are beyond the limit.
	for f := MaxRepredicted + 1; f < n; f++ {
		for j, v := range off.RepredictedIntensity[f] {
			if v != online[f][j] {
				t.Fatalf("frame %d AU %d re-predicted %v, want its online value %v", f, j, v, online[f][j])
			}
		}
	}
	// Frame 0 is predicted again with the final medians.
	x := make([]float64, FeatureLen)
	for i, v := range first.HOG {
		x[i] = float64(v)
	}
	a.geom.fill(x[HOGLen:], first.Local)
	scores := [][]float64{make([]float64, a.nI+a.nO)}
	a.scorer.score(scores, [][]float64{x}, a.med, a.scorer.newScratch())
	var changed bool
	for j := 0; j < a.nI; j++ {
		if off.RepredictedIntensity[0][j] != scores[0][j] {
			t.Fatalf("frame 0 AU %d re-predicted %v, want %v", j, off.RepredictedIntensity[0][j], scores[0][j])
		}
		changed = changed || scores[0][j] != online[0][j]
	}
	if !changed {
		t.Error("frame 0's re-prediction equals its online prediction; the test does not exercise the medians")
	}
}

func TestPostprocessShortAndCancelled(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n <= 8; n++ {
		a := newTestAnalyser(t)
		for f := 0; f < n; f++ {
			fr := syntheticFrame(rng)
			if f%3 == 2 {
				fr = Frame{}
			}
			if _, err := a.Add(fr); err != nil {
				t.Fatal(err)
			}
		}
		off, err := a.Postprocess(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(off.Intensity) != n || len(off.Occurrence) != n {
			t.Fatalf("%d frames: %d/%d offline rows", n, len(off.Intensity), len(off.Occurrence))
		}
		for f := 0; f < n; f++ {
			for _, v := range off.Intensity[f] {
				if v < 0 || v > 5 {
					t.Fatalf("%d frames: intensity %v outside [0, 5]", n, v)
				}
			}
			for _, v := range off.Occurrence[f] {
				if v != 0 && v != 1 {
					t.Fatalf("%d frames: occurrence %v", n, v)
				}
			}
		}
	}
	a := newTestAnalyser(t)
	if _, err := a.Add(syntheticFrame(rng)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.Postprocess(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled post-processing: %v", err)
	}
}

// Reserve changes nothing but the room: a video added after any
// reservation, too small, exact or too large, gives the same results, and
// with room enough the kept frames are never copied.
func TestReserve(t *testing.T) {
	const n = 40
	frames := make([]Frame, n)
	rng := rand.New(rand.NewPCG(3, 4))
	for f := range frames {
		frames[f] = syntheticFrame(rng)
	}
	frames[5] = Frame{}
	run := func(reserve int) (off *Offline, grew bool) {
		a := newTestAnalyser(t)
		a.Reserve(reserve)
		before := cap(a.keptHOG)
		for _, fr := range frames {
			if _, err := a.Add(fr); err != nil {
				t.Fatal(err)
			}
		}
		off, err := a.Postprocess(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return off, cap(a.keptHOG) != before
	}
	want, _ := run(0)
	for _, reserve := range []int{10, n, 1000} {
		got, grew := run(reserve)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Reserve(%d): results differ from those without", reserve)
		}
		if grew && reserve >= n {
			t.Errorf("Reserve(%d): the kept frames were copied to a larger array for %d frames", reserve, n)
		}
	}
}
