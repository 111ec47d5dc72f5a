package job

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"facemirror/internal/sharedtest"
	"facemirror/pipeline/encode"
	"facemirror/pipeline/openfacecsv"
	"facemirror/pipeline/video"
)

// sides reads the left- and right-mirrored CSVs of a full run's input.
func sides(t *testing.T, run mirrorRun, input string) (left, right, source *openfacecsv.File) {
	t.Helper()
	read := func(path string) *openfacecsv.File {
		f, err := openfacecsv.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	stem := run.stem(input)
	return read(stem + "_left_mirrored.csv"), read(stem + "_right_mirrored.csv"), read(stem + ".csv")
}

// intensity is one AU's intensity column.
func intensity(t *testing.T, f *openfacecsv.File, au string) []float64 {
	t.Helper()
	for k, name := range f.Layout.IntensityAUs {
		if name == au {
			out := make([]float64, len(f.Rows))
			for i, r := range f.Rows {
				out[i] = r.Intensity[k]
			}
			return out
		}
	}
	t.Fatalf("no %s column", au)
	return nil
}

func sd(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	s := 0.0
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return math.Sqrt(s / float64(len(x)))
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// On v01, a near-symmetric face talking, each AU that visibly varies in
// the source (sd 0.2 or more) varies with it on both mirrored faces.
func TestSidesFollowTheSourceOnASymmetricFace(t *testing.T) {
	left, right, src := sides(t, fullRun(t), v01)
	for _, au := range src.Layout.IntensityAUs {
		s := intensity(t, src, au)
		if sd(s) < 0.2 {
			continue
		}
		rl, _, _ := pearson(intensity(t, left, au), s)
		rr, _, _ := pearson(intensity(t, right, au), s)
		t.Logf("%s: sd %.2f, r(left, source) %.2f, r(right, source) %.2f", au, sd(s), rl, rr)
		if rl < 0.3 || rr < 0.3 {
			t.Errorf("%s: the mirrored faces do not follow the source (r %.2f and %.2f)", au, rl, rr)
		}
	}
}

// On v04 the eyes close and the face smiles on both sides at once: the
// two mirrored faces' AUs for them move together.
func TestSidesMoveTogetherOnV04(t *testing.T) {
	run := runMode(t, t.TempDir(), Options{Mode: ModeFull, Workers: 2}, v04)
	if err := run.report.Files[0].Err; err != nil {
		t.Fatal(err)
	}
	left, right, _ := sides(t, run, v04)
	for _, c := range []struct {
		au   string
		minR float64
	}{{"AU45", 0.6}, {"AU12", 0.7}, {"AU06", 0.6}} {
		l, r := intensity(t, left, c.au), intensity(t, right, c.au)
		got, _, _ := pearson(l, r)
		t.Logf("%s: r(left, right) %.2f, sd %.2f and %.2f", c.au, got, sd(l), sd(r))
		if got < c.minR {
			t.Errorf("%s: left and right correlate at %.2f, want at least %.2f", c.au, got, c.minR)
		}
	}
}

// A movement of one side only: a video made from v04 whose image-left
// half (the patient's right) stays on a neutral frame while the other
// half smiles. The left-mirrored face smiles, the right-mirrored one does
// not, and the summary says the left moves more.
func TestOneSidedMovement(t *testing.T) {
	dir := t.TempDir()
	clip := filepath.Join(dir, "one_sided.mkv")
	makeOneSided(t, sharedtest.Media(t, v04), clip)
	run := runMode(t, filepath.Join(dir, "out"), Options{Mode: ModeFull, Workers: 2}, clip)
	if err := run.report.Files[0].Err; err != nil {
		t.Fatal(err)
	}
	left, right, _ := sides(t, run, clip)
	l, r := intensity(t, left, "AU12"), intensity(t, right, "AU12")
	still := mean(l[:oneSidedStill]) - mean(r[:oneSidedStill])
	moving := mean(l[oneSidedStill:]) - mean(r[oneSidedStill:])
	t.Logf("AU12 left - right: %.2f while both halves are still, %.2f while the left smiles", still, moving)
	if math.Abs(still) > 0.3 || moving < 0.5 {
		t.Errorf("AU12 left - right: %.2f still, %.2f moving; want about 0, then at least 0.5", still, moving)
	}
	b, err := os.ReadFile(run.stem(clip) + "_summary.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "AU12,") {
			f := strings.Split(line, ",")
			if ai := f[len(f)-1]; ai == "" || strings.HasPrefix(ai, "-") {
				t.Errorf("AU12 summary %q: want a positive asymmetry index (the left moves more)", line)
			}
		}
	}
}

// The one-sided clip: oneSidedStill frames of v04's neutral frame 100,
// then frames 375-450 (a smile, the head still) with the image-left half
// of frame 100. The halves meet at x = 251, where the nose is in both.
const (
	oneSidedStill   = 30
	oneSidedNeutral = 100
	oneSidedFrom    = 375
	oneSidedTo      = 450
	oneSidedSplit   = 251
)

func makeOneSided(t *testing.T, src, dst string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := video.Open(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	info := r.Info()
	w, h := info.Width, info.Height
	out, err := encode.Create(ctx, dst, encode.Options{Codec: encode.FFV1, Width: w, Height: h, Rate: info.FPS})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Abort()
	var neutral []byte
	n := 0
	for {
		f, err := r.Read()
		if errors.Is(err, io.EOF) || f.Index > oneSidedTo {
			if err == nil {
				f.Mat.Close()
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pix := f.Mat.ToBytes()
		f.Mat.Close()
		switch {
		case f.Index == oneSidedNeutral:
			neutral = pix
			for range oneSidedStill {
				if err := out.Write(neutral, time.Duration(n)*time.Second/30); err != nil {
					t.Fatal(err)
				}
				n++
			}
		case f.Index >= oneSidedFrom:
			for y := range h {
				copy(pix[y*3*w:y*3*w+3*oneSidedSplit], neutral[y*3*w:y*3*w+3*oneSidedSplit])
			}
			if err := out.Write(pix, time.Duration(n)*time.Second/30); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	if err := out.Commit(); err != nil {
		t.Fatal(err)
	}
}
