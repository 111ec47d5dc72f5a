package mtcnn

import (
	"errors"
	"math"
	"testing"
)

func TestPyramidMatchesOpenFace(t *testing.T) {
	ref := loadStageRef(t)
	levels, err := pyramid(ref.width, ref.height, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(levels) != len(ref.scales) {
		t.Fatalf("%d levels, want %d", len(levels), len(ref.scales))
	}
	for i, l := range levels {
		s := ref.scales[i]
		if l.scale != s.scale || float32(l.scale) != s.scaleF {
			t.Errorf("level %d: scale %.17g (float %.9g), want %.17g (float %.9g)", i, l.scale, float32(l.scale), s.scale, s.scaleF)
		}
		if l.w != s.w || l.h != s.h || l.mapW != s.mapW || l.mapH != s.mapH {
			t.Errorf("level %d: %dx%d map %dx%d, want %dx%d map %dx%d", i, l.w, l.h, l.mapW, l.mapH, s.w, s.h, s.mapW, s.mapH)
		}
	}
}

func TestPyramidSizes(t *testing.T) {
	tests := []struct {
		w, h int
		want [][2]int
	}{
		// CLNF_FACTS §4 lists the 640×480 pyramid.
		{640, 480, [][2]int{{128, 96}, {91, 69}, {65, 49}, {46, 35}, {33, 25}, {23, 18}, {17, 13}}},
		{60, 60, [][2]int{{12, 12}}},
		{61, 200, [][2]int{{13, 40}}},
	}
	for _, tc := range tests {
		levels, err := pyramid(tc.w, tc.h, DefaultOptions())
		if err != nil {
			t.Fatalf("%dx%d: %v", tc.w, tc.h, err)
		}
		if len(levels) != len(tc.want) {
			t.Fatalf("%dx%d: %d levels, want %d", tc.w, tc.h, len(levels), len(tc.want))
		}
		for i, l := range levels {
			if l.w != tc.want[i][0] || l.h != tc.want[i][1] {
				t.Errorf("%dx%d level %d: %dx%d, want %dx%d", tc.w, tc.h, i, l.w, l.h, tc.want[i][0], tc.want[i][1])
			}
			if l.mapW <= 0 || l.mapH <= 0 {
				t.Errorf("%dx%d level %d: empty PNet map %dx%d", tc.w, tc.h, i, l.mapW, l.mapH)
			}
		}
	}
}

func TestPyramidTooSmall(t *testing.T) {
	// 59 px gives zero levels (OpenFace finds nothing), 32 px a negative
	// count (OpenFace throws): both are ErrImageTooSmall.
	for _, sz := range [][2]int{{32, 32}, {59, 400}, {400, 59}, {0, 0}} {
		_, err := pyramid(sz[0], sz[1], DefaultOptions())
		if !errors.Is(err, ErrImageTooSmall) {
			t.Errorf("%dx%d: err = %v, want ErrImageTooSmall", sz[0], sz[1], err)
		}
	}
}

func TestPowIntCorrectlyRounded(t *testing.T) {
	// OpenFace's 6th v01 level: 0.2·0.709^5 = 0.035831185024509792 (math.Pow is one ulp low).
	if got := 0.2 * powInt(0.709, 5); got != 0.035831185024509792 {
		t.Errorf("0.2*0.709^5 = %.17g", got)
	}
	for n := 0; n < 4; n++ {
		if got, want := powInt(0.709, n), math.Pow(0.709, float64(n)); got != want {
			t.Errorf("0.709^%d = %.17g, want %.17g", n, got, want)
		}
	}
}

// TestCascadeBoxArithmetic feeds OpenFace's own network outputs for v01
// frame 0 through the box stages (NMS, regression, squaring, thresholds,
// final correction) and expects OpenFace's next-stage inputs exactly.
func TestCascadeBoxArithmetic(t *testing.T) {
	ref := loadStageRef(t)
	opt := DefaultOptions()

	// PNet survivors of every scale -> cross-scale NMS -> RNet inputs.
	var all []candidate
	for _, s := range ref.perScale {
		all = append(all, s...)
	}
	all = subset(all, nms(all, nmsCrossScale, false))
	if len(all) != ref.crossScale {
		t.Errorf("cross-scale NMS kept %d, want %d", len(all), ref.crossScale)
	}
	applyCorrection(all, false)
	rectify(all)
	sameBoxes(t, "RNet input", all, ref.rnetIn, 0, true)

	// RNet outputs -> threshold -> NMS -> regression -> ONet inputs.
	r := threshold(append([]candidate(nil), ref.rnetOut...), opt.Thresholds[1])
	if len(r) != ref.rnetAbove {
		t.Errorf("RNet above threshold %d, want %d", len(r), ref.rnetAbove)
	}
	r = subset(r, nms(r, nmsRNet, false))
	if len(r) != ref.rnetNMS {
		t.Errorf("RNet NMS kept %d, want %d", len(r), ref.rnetNMS)
	}
	applyCorrection(r, false)
	rectify(r)
	sameBoxes(t, "ONet input", r, ref.onetIn, 0, true)

	// ONet outputs -> threshold -> regression(+1) -> min-area NMS -> raw.
	o := threshold(append([]candidate(nil), ref.onetOut...), opt.Thresholds[2])
	if len(o) != ref.onetAbove {
		t.Errorf("ONet above threshold %d, want %d", len(o), ref.onetAbove)
	}
	applyCorrection(o, true)
	o = subset(o, nms(o, nmsONet, true))
	if len(o) != ref.onetNMS {
		t.Errorf("ONet NMS kept %d, want %d", len(o), ref.onetNMS)
	}
	sameBoxes(t, "raw", o, ref.raw, 0, true)

	corr := make([]candidate, len(o))
	for i, c := range o {
		corr[i] = candidate{box: finalCorrection(c.box), score: c.score}
	}
	sameBoxes(t, "corrected", corr, ref.corrected, 0, true)
}

// TestGenerateBoxesMatchesReference checks that every PNet survivor in the
// reference is the box generateBoxes makes for some cell of its level.
func TestGenerateBoxesMatchesReference(t *testing.T) {
	ref := loadStageRef(t)
	levels, err := pyramid(ref.width, ref.height, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range levels {
		n := l.mapW * l.mapH
		prob := make([]float32, n)
		for k := range prob {
			prob[k] = 1
		}
		all := generateBoxes(prob, make([]float32, 4*n), l.mapW, l.mapH, float32(l.scale), 0.6)
		if len(all) != n {
			t.Fatalf("level %d: %d boxes from %d cells", i, len(all), n)
		}
		for _, want := range ref.perScale[i] {
			found := false
			for _, c := range all {
				if c.box == want.box {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("level %d: no cell gives box %s", i, fmtCand(want))
			}
		}
	}
}

func TestGenerateBoxesOrderAndGeometry(t *testing.T) {
	// 3 columns × 2 rows; cells (x=0,y=1), (x=2,y=0) and (x=2,y=1) pass.
	prob := []float32{
		0.1, 0.2, 0.9,
		0.6, 0.5, 0.7,
	}
	reg := make([]float32, 4*6)
	for k := range reg {
		reg[k] = float32(k)
	}
	got := generateBoxes(prob, reg, 3, 2, 0.5, 0.6)
	want := []candidate{
		// x outer, y inner: (0,1) first, then (2,0), (2,1).
		{box: Rect{2, 6, 22, 22}, score: 0.6, reg: [4]float32{3, 9, 15, 21}},
		{box: Rect{10, 2, 22, 22}, score: 0.9, reg: [4]float32{2, 8, 14, 20}},
		{box: Rect{10, 6, 22, 22}, score: 0.7, reg: [4]float32{5, 11, 17, 23}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d boxes, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("box %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	// A non-integral scale: each corner is a float division truncated to int.
	b := generateBoxes([]float32{0, 1}, make([]float32, 8), 2, 1, 0.3, 0.6)
	if len(b) != 1 {
		t.Fatalf("got %d boxes", len(b))
	}
	scale := float32(0.3)
	x1 := float32(int(float32(3) / scale))
	x2 := float32(int(float32(14) / scale))
	if b[0].box.X != x1 || b[0].box.W != x2-x1 {
		t.Errorf("scale 0.3 box %+v, want x=%v w=%v", b[0].box, x1, x2-x1)
	}
}

func TestNMS(t *testing.T) {
	box := func(x, y, w, h float32, s float32) candidate { return candidate{box: Rect{x, y, w, h}, score: s} }
	tests := []struct {
		name    string
		cands   []candidate
		thresh  float32
		minimum bool
		want    []int
	}{
		{
			name:   "descending score, disjoint boxes all kept",
			cands:  []candidate{box(0, 0, 10, 10, 0.5), box(20, 0, 10, 10, 0.9), box(40, 0, 10, 10, 0.7)},
			thresh: 0.5, want: []int{1, 2, 0},
		},
		{
			name:   "equal scores: the later index wins",
			cands:  []candidate{box(0, 0, 10, 10, 0.8), box(1, 0, 10, 10, 0.8), box(2, 0, 10, 10, 0.8)},
			thresh: 0.5, want: []int{2},
		},
		{
			// IoU = 50/150: kept at 0.3? 0.333 > 0.3 removes it.
			name:   "strictly greater removes",
			cands:  []candidate{box(0, 0, 10, 10, 0.9), box(5, 0, 10, 10, 0.8)},
			thresh: 0.3, want: []int{0},
		},
		{
			// Exactly 0.5 overlap (intersection 50, union 100 with a 10x5 box inside 10x10): not removed.
			name:   "equal overlap kept",
			cands:  []candidate{box(0, 0, 10, 10, 0.9), box(0, 0, 10, 5, 0.8)},
			thresh: 0.5, want: []int{0, 1},
		},
		{
			name:   "min-area overlap removes a contained box",
			cands:  []candidate{box(0, 0, 10, 10, 0.9), box(0, 0, 10, 5, 0.8)},
			thresh: 0.7, minimum: true, want: []int{0},
		},
		{
			// 2.5 rounds to 2 and 3.5 to 4 (half to even): boxes (2,0,10,10) and
			// (4,0,10,10) overlap 8/12 = 0.667 < 0.7; with half-up they would be
			// (3,0) and (4,0): 9/11 = 0.818 and be merged.
			name:   "half-even rounding of the float boxes",
			cands:  []candidate{box(2.5, 0, 10, 10, 0.9), box(3.5, 0, 10, 10, 0.8)},
			thresh: 0.7, want: []int{0, 1},
		},
	}
	for _, tc := range tests {
		got := nms(tc.cands, tc.thresh, tc.minimum)
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
}

func TestApplyCorrectionAndRectify(t *testing.T) {
	c := []candidate{{box: Rect{10.5, 20.5, 30.4, 40.6}, reg: [4]float32{0.1, -0.1, 0.2, -0.2}}}
	applyCorrection(c, false)
	// The box rounds half-even to (10, 20, 30, 41); then
	// x1 = 10+0.1·30, y1 = 20−0.1·41, x2 = 40+30·0.2, y2 = 61−41·0.2 in float.
	x1 := float32(10) + float32(float32(0.1)*30)
	y1 := float32(20) + float32(float32(-0.1)*41)
	x2 := float32(40) + float32(30*float32(0.2))
	y2 := float32(61) + float32(41*float32(-0.2))
	want := Rect{x1, y1, x2 - x1, y2 - y1}
	if c[0].box != want {
		t.Errorf("applyCorrection: got %+v, want %+v", c[0].box, want)
	}

	a := []candidate{{box: Rect{10, 20, 30, 40}, reg: [4]float32{0, 0, 0, 0}}}
	applyCorrection(a, true)
	if a[0].box != (Rect{10, 20, 31, 41}) {
		t.Errorf("add1: got %+v", a[0].box)
	}

	r := []candidate{
		{box: Rect{10.7, 20.2, 30, 41}},   // taller: x moves left by 5.5 -> 5.2 -> 5
		{box: Rect{-3.7, -1.2, 20, 10.5}}, // wider: y moves up 4.75 -> -5.95 -> -5 (toward zero)
	}
	rectify(r)
	if r[0].box != (Rect{5, 20, 41, 41}) {
		t.Errorf("rectify tall: %+v", r[0].box)
	}
	if r[1].box != (Rect{-3, -5, 20, 20}) {
		t.Errorf("rectify wide: %+v", r[1].box)
	}
}

func TestSelectSingle(t *testing.T) {
	f := func(w float32, c float32) Face { return Face{Box: Rect{W: w}, Confidence: c} }
	if _, ok := SelectSingle(nil); ok {
		t.Error("empty: ok")
	}
	got, ok := SelectSingle([]Face{f(50, 0.99), f(80, 0.8), f(80, 0.9), f(20, 0.7)})
	if !ok || got.Confidence != 0.8 {
		t.Errorf("got %+v, want the first 80-wide face", got)
	}
}
