package align

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"facemirror/internal/reference"
	"facemirror/internal/sharedtest"
	"facemirror/pipeline/pdm"
)

const v01 = "v01_talking_frontal_glasses_480x360"

func newTestAligner(t testing.TB) (*Aligner, *pdm.Model) {
	t.Helper()
	dir := filepath.Join(sharedtest.Models(t), "AU_predictors")
	md, err := pdm.Load(filepath.Join(dir, "In-the-wild_aligned_PDM_68.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tris, err := LoadTriangulation(filepath.Join(dir, "tris_68_full.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tris) != 111 {
		t.Fatalf("%d triangles, want 111", len(tris))
	}
	a, err := New(md, tris)
	if err != nil {
		t.Fatal(err)
	}
	return a, md
}

// decodeFrames reads every frame of the video in decode order.
func decodeFrames(t testing.TB, path string) []gocv.Mat {
	t.Helper()
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer vc.Close()
	var frames []gocv.Mat
	for {
		m := gocv.NewMat()
		if !vc.Read(&m) || m.Empty() {
			m.Close()
			break
		}
		frames = append(frames, m)
	}
	t.Cleanup(func() {
		for _, f := range frames {
			f.Close()
		}
	})
	return frames
}

func referencePNG(t testing.TB, frame int) gocv.Mat {
	t.Helper()
	p := sharedtest.Reference(t, fmt.Sprintf("%s/aligned/frame_det_00_%06d.png", v01, frame+1))
	m := gocv.IMRead(p, gocv.IMReadColor)
	if m.Empty() {
		t.Fatalf("cannot read %s", p)
	}
	return m
}

// compare returns how many bytes are equal, the largest difference and
// the sum of absolute differences.
func compare(t testing.TB, got, want gocv.Mat) (equal, maxDiff, sum int) {
	t.Helper()
	g, err := got.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	w, err := want.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	if len(g) != len(w) {
		t.Fatalf("aligned image has %d bytes, reference %d", len(g), len(w))
	}
	for i := range g {
		d := int(g[i]) - int(w[i])
		if d < 0 {
			d = -d
		}
		if d == 0 {
			equal++
		}
		maxDiff = max(maxDiff, d)
		sum += d
	}
	return equal, maxDiff, sum
}

// TestAlignFullPrecision aligns every v01 frame from OpenFace's own
// full-precision landmarks and FaceAnalyser parameters and compares with
// the aligned faces OpenFace wrote.
func TestAlignFullPrecision(t *testing.T) {
	a, _ := newTestAligner(t)
	frames := decodeFrames(t, sharedtest.Media(t, "videos/"+v01+".mp4"))
	tb := reference.Frames(t, v01)
	if len(frames) != len(tb.Rows) || len(frames) != 300 {
		t.Fatalf("decoded %d frames, reference has %d rows, want 300", len(frames), len(tb.Rows))
	}
	lmNames := reference.LandmarkColumns("", NumPoints)
	totalEq, total, worstMax := 0, 0, 0
	exactFrames := 0
	for i, frame := range frames {
		lm := tb.F32s(t, i, lmNames)
		gp := tb.F32s(t, i, reference.ParamColumns("fa_p_", 0))
		g := pdm.Global{Scale: gp[0], Rx: gp[1], Ry: gp[2], Rz: gp[3], Tx: gp[4], Ty: gp[5]}
		got, err := a.Align(frame, lm, g)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		want := referencePNG(t, i)
		eq, mx, _ := compare(t, got, want)
		got.Close()
		want.Close()
		n := DefaultSize * DefaultSize * 3
		totalEq += eq
		total += n
		worstMax = max(worstMax, mx)
		if eq == n {
			exactFrames++
		}
	}
	pct := 100 * float64(totalEq) / float64(total)
	t.Logf("identical bytes %.4f%% (%d frames fully identical of %d), max difference %d", pct, exactFrames, len(frames), worstMax)
	if pct < 99.9 {
		t.Errorf("only %.4f%% of the aligned pixels equal OpenFace's, want ≥ 99.9%%", pct)
	}
}

// TestAlignFromRoundedCSV aligns from what the CSV alone gives: the
// landmarks rounded to 0.1 px and parameters refitted to them.
func TestAlignFromRoundedCSV(t *testing.T) {
	a, md := newTestAligner(t)
	frames := decodeFrames(t, sharedtest.Media(t, "videos/"+v01+".mp4"))
	tb := reference.ReadTable(t, sharedtest.Reference(t, v01+"/"+v01+".csv"))
	if len(frames) != len(tb.Rows) {
		t.Fatalf("decoded %d frames, CSV has %d rows", len(frames), len(tb.Rows))
	}
	lmNames := reference.LandmarkColumns("", NumPoints)
	worst, worstFrame := 0.0, -1
	for i, frame := range frames {
		lm := tb.F32s(t, i, lmNames)
		p, err := md.CalcParams(lm, pdm.Euler{})
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		got, err := a.Align(frame, lm, p.Global)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		want := referencePNG(t, i)
		_, _, sum := compare(t, got, want)
		got.Close()
		want.Close()
		mean := float64(sum) / float64(DefaultSize*DefaultSize*3)
		if mean > worst {
			worst, worstFrame = mean, i
		}
		if mean > 2 {
			t.Errorf("frame %d: mean absolute difference %.3f grey levels, want ≤ 2", i, mean)
		}
	}
	t.Logf("worst mean absolute difference %.4f grey levels (frame %d)", worst, worstFrame)
	if math.IsNaN(worst) {
		t.Fatal("NaN difference")
	}
}

func BenchmarkAlign(b *testing.B) {
	a, _ := newTestAligner(b)
	frames := decodeFrames(b, sharedtest.Media(b, "videos/"+v01+".mp4"))
	tb := reference.Frames(b, v01)
	lm := tb.F32s(b, 0, reference.LandmarkColumns("", NumPoints))
	gp := tb.F32s(b, 0, reference.ParamColumns("fa_p_", 0))
	g := pdm.Global{Scale: gp[0], Rx: gp[1], Ry: gp[2], Rz: gp[3], Tx: gp[4], Ty: gp[5]}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := a.Align(frames[0], lm, g)
		if err != nil {
			b.Fatal(err)
		}
		out.Close()
	}
}

func BenchmarkMask(b *testing.B) {
	a, _ := newTestAligner(b)
	tb := reference.Frames(b, v01)
	lm := tb.F32s(b, 0, reference.LandmarkColumns("", NumPoints))
	gp := tb.F32s(b, 0, reference.ParamColumns("fa_p_", 0))
	m, err := a.Transform(lm, pdm.Global{Scale: gp[0], Tx: gp[4], Ty: gp[5]})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := a.Mask(lm, m); err != nil {
			b.Fatal(err)
		}
	}
}

func TestReadTriangulationErrors(t *testing.T) {
	tests := []struct{ name, text string }{
		{"empty", ""},
		{"two columns", "1 2 4\n0 1\n"},
		{"index too large", "1 3 4\n0 1 68\n"},
		{"negative index", "1 3 4\n0 -1 2\n"},
		{"truncated", "2 3 4\n0 1 2\n"},
		{"no triangles", "0 3 4\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ReadTriangulation(strings.NewReader(tc.text)); !errors.Is(err, pdm.ErrFormat) {
				t.Fatalf("err = %v, want pdm.ErrFormat", err)
			}
		})
	}
	tris, err := ReadTriangulation(strings.NewReader("2\n3\n4\n0 1 2\n67 66 65\n"))
	if err != nil || len(tris) != 2 || tris[1] != (Triangle{67, 66, 65}) {
		t.Fatalf("got %v, %v", tris, err)
	}
}

func TestAlignRejectsBadInput(t *testing.T) {
	a, md := newTestAligner(t)
	good := make([]float32, 2*NumPoints)
	shape, err := md.Shape2D(pdm.Global{Scale: 1, Tx: 100, Ty: 100}, make([]float32, md.NumModes()), nil)
	if err != nil {
		t.Fatal(err)
	}
	copy(good, shape)
	g := pdm.Global{Scale: 1, Tx: 100, Ty: 100}
	img := gocv.NewMatWithSize(200, 200, gocv.MatTypeCV8UC3)
	defer img.Close()
	float := gocv.NewMatWithSize(200, 200, gocv.MatTypeCV32F)
	defer float.Close()
	empty := gocv.NewMat()
	defer empty.Close()
	same := make([]float32, 2*NumPoints)
	for i := range same {
		same[i] = 50
	}
	nan := append([]float32(nil), good...)
	nan[7] = float32(math.NaN())
	tests := []struct {
		name string
		img  gocv.Mat
		lm   []float32
	}{
		{"empty image", empty, good},
		{"float image", float, good},
		{"short landmarks", img, good[:100]},
		{"NaN landmark", img, nan},
		{"all points equal", img, same},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := a.Align(tc.img, tc.lm, g)
			defer out.Close()
			if !errors.Is(err, ErrBadInput) {
				t.Fatalf("err = %v, want ErrBadInput", err)
			}
		})
	}
	out, err := a.Align(img, good, g)
	if err != nil {
		t.Fatalf("valid input: %v", err)
	}
	defer out.Close()
	if out.Rows() != DefaultSize || out.Cols() != DefaultSize || out.Type() != gocv.MatTypeCV8UC3 {
		t.Fatalf("aligned image %dx%d type %v", out.Cols(), out.Rows(), out.Type())
	}
	if _, err := New(md, nil); !errors.Is(err, ErrBadInput) {
		t.Errorf("empty triangulation: %v", err)
	}
	if _, err := NewWithSize(md, []Triangle{{0, 1, 2}}, 0, 112); !errors.Is(err, ErrBadInput) {
		t.Errorf("zero scale: %v", err)
	}
}

// TestMaskShape checks the mask of the mean face: the raised brows put the
// forehead band inside, the corners outside, and PAW's inclusive test
// fills the face without holes.
func TestMaskShape(t *testing.T) {
	a, md := newTestAligner(t)
	g := pdm.Global{Scale: 1, Tx: 200, Ty: 200}
	lm, err := md.Shape2D(g, make([]float32, md.NumModes()), nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Transform(lm, g)
	if err != nil {
		t.Fatal(err)
	}
	// The mean shape maps onto the scaled mean: scale 0.7, no rotation.
	if math.Abs(float64(m[0][0])-0.7) > 1e-4 || math.Abs(float64(m[0][1])) > 1e-4 {
		t.Fatalf("transform %v, want scale 0.7 and no rotation", m)
	}
	mask, err := a.Mask(lm, m)
	if err != nil {
		t.Fatal(err)
	}
	at := func(x, y int) uint8 { return mask[y*DefaultSize+x] }
	if at(0, 0) != 0 || at(111, 0) != 0 || at(0, 111) != 0 || at(111, 111) != 0 {
		t.Error("image corners are inside the mask")
	}
	if at(56, 56) != 1 || at(56, 90) != 1 {
		t.Error("face centre or mouth outside the mask")
	}
	// Brow row of the mean face is about y = 56 − 0.7·37 ≈ 30; raised by
	// 30 px it reaches about y = 0..2.
	top := -1
	for y := 0; y < DefaultSize && top < 0; y++ {
		if at(56, y) == 1 {
			top = y
		}
	}
	if top < 0 || top > 8 {
		t.Errorf("mask starts at row %d in the centre column, want the raised forehead near the top", top)
	}
	n := 0
	for _, v := range mask {
		n += int(v)
	}
	if n < 5000 || n > 11000 {
		t.Errorf("%d mask pixels, want a face-sized region", n)
	}
}
