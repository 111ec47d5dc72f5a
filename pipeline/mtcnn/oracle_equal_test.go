package mtcnn

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"

	"facemirror/internal/sharedtest"

	"gocv.io/x/gocv"
)

// oracleFrames are the frames the detector is compared with its frozen
// predecessor on: faces of several sizes and poses, frames without one,
// still images, 1080p and a face leaving the picture.
var oracleFrames = []struct {
	rel    string
	frames []int
}{
	{mediaPath["v01_talking_frontal_glasses_480x360"], []int{0, 150}},
	{mediaPath["v02_emotions_sad_to_laughing_640x360_pexels"], []int{0, 200}},
	{mediaPath["v04_eyeclosure_cheekpuff_smile_glasses_512x480"], []int{0, 90}},
	{mediaPath["v10_grid_talking_frontal_mpeg1_360x288"], []int{0}},
	{mediaPath["e02_face_then_noface_hevc_vfr_audiofirst_960x540"], []int{0, 100}},
	{mediaPath["e03_noface_animation_caminandes_960x540"], []int{0, 60}},
	{mediaPath["i01_single_face_smile_572x562"], []int{0}},
	{mediaPath["i06_astronaut_eileen_collins_512x512"], []int{0}},
	{"bad/b06_valid_no_face_testsrc_640x480_5s.mp4", []int{0}},
	{"derived/d04_emotions_upscaled_1920x1080_19.7s.mp4", []int{0, 300}},
	{"derived/d01_portrait_rot90_meta_h264_stored1280x720.mp4", []int{0}},
}

// sameCandidates compares two candidate lists bit for bit.
func sameCandidates(what string, got, want []candidate) error {
	if len(got) != len(want) {
		return fmt.Errorf("%s: %d candidates, want %d", what, len(got), len(want))
	}
	bits := func(c candidate) [9]uint32 {
		return [9]uint32{
			math.Float32bits(c.box.X), math.Float32bits(c.box.Y), math.Float32bits(c.box.W), math.Float32bits(c.box.H),
			math.Float32bits(c.score),
			math.Float32bits(c.reg[0]), math.Float32bits(c.reg[1]), math.Float32bits(c.reg[2]), math.Float32bits(c.reg[3]),
		}
	}
	for i := range got {
		if bits(got[i]) != bits(want[i]) {
			return fmt.Errorf("%s: candidate %d is %s, want %s", what, i, fmtCand(got[i]), fmtCand(want[i]))
		}
	}
	return nil
}

// compareTraces reports every stage where two traced runs differ.
func compareTraces(got, want *trace) []error {
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if !reflect.DeepEqual(got.levels, want.levels) || !reflect.DeepEqual(got.aboveT1, want.aboveT1) {
		check(fmt.Errorf("levels %v (%v above t1), want %v (%v)", got.levels, got.aboveT1, want.levels, want.aboveT1))
	}
	if len(got.perScale) != len(want.perScale) {
		check(fmt.Errorf("%d levels of survivors, want %d", len(got.perScale), len(want.perScale)))
	} else {
		for i := range got.perScale {
			check(sameCandidates(fmt.Sprintf("level %d", i), got.perScale[i], want.perScale[i]))
		}
	}
	for i := range min(len(got.pnetMaxProbs), len(want.pnetMaxProbs)) {
		if math.Float32bits(got.pnetMaxProbs[i]) != math.Float32bits(want.pnetMaxProbs[i]) {
			check(fmt.Errorf("level %d: max PNet probability %v, want %v", i, got.pnetMaxProbs[i], want.pnetMaxProbs[i]))
		}
	}
	counts := func(t *trace) [4]int { return [4]int{t.crossScale, t.rnetAbove, t.rnetNMS, t.onetAbove} }
	if counts(got) != counts(want) {
		check(fmt.Errorf("stage counts %v, want %v", counts(got), counts(want)))
	}
	check(sameCandidates("RNet input", got.rnetIn, want.rnetIn))
	check(sameCandidates("RNet output", got.rnetOut, want.rnetOut))
	check(sameCandidates("ONet input", got.onetIn, want.onetIn))
	check(sameCandidates("ONet output", got.onetOut, want.onetOut))
	check(sameCandidates("raw", got.raw, want.raw))
	return errs
}

// sameFaces compares two detections bit for bit.
func sameFaces(got, want []Face) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d faces, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		gb := [9]uint32{math.Float32bits(g.Raw.X), math.Float32bits(g.Raw.Y), math.Float32bits(g.Raw.W), math.Float32bits(g.Raw.H),
			math.Float32bits(g.Box.X), math.Float32bits(g.Box.Y), math.Float32bits(g.Box.W), math.Float32bits(g.Box.H), math.Float32bits(g.Confidence)}
		wb := [9]uint32{math.Float32bits(w.Raw.X), math.Float32bits(w.Raw.Y), math.Float32bits(w.Raw.W), math.Float32bits(w.Raw.H),
			math.Float32bits(w.Box.X), math.Float32bits(w.Box.Y), math.Float32bits(w.Box.W), math.Float32bits(w.Box.H), math.Float32bits(w.Confidence)}
		if gb != wb {
			return fmt.Errorf("face %d is %+v, want %+v", i, g, w)
		}
	}
	return nil
}

// TestDetectMatchesOracle holds the detector to its frozen predecessor
// (oracle_test.go) on real frames, bit for bit at every stage: the PNet
// survivors of every level, the RNet and ONet inputs and outputs, and the
// faces. The grey version of each frame goes through the detector too, and
// one Detector serves all frames, so reused buffers of other sizes would
// show.
func TestDetectMatchesOracle(t *testing.T) {
	det := newTestDetector(t)
	ctx := context.Background()
	faces := 0
	for _, f := range oracleFrames {
		forEachFrame(t, sharedtest.Media(t, f.rel), f.frames, func(idx int, img gocv.Mat) {
			grey := gocv.NewMat()
			defer grey.Close()
			gocv.CvtColor(img, &grey, gocv.ColorBGRToGray)
			for _, in := range []struct {
				kind string
				img  gocv.Mat
			}{{"BGR", img}, {"grey", grey}} {
				where := fmt.Sprintf("%s frame %d %s", f.rel, idx, in.kind)
				var got, want trace
				gotFaces, err := det.detect(ctx, in.img, &got)
				if err != nil {
					t.Fatalf("%s: %v", where, err)
				}
				wantFaces, err := det.oracleDetect(ctx, in.img, &want)
				if err != nil {
					t.Fatalf("%s: oracle: %v", where, err)
				}
				for _, err := range compareTraces(&got, &want) {
					t.Errorf("%s: %v", where, err)
				}
				if err := sameFaces(gotFaces, wantFaces); err != nil {
					t.Errorf("%s: %v", where, err)
				}
				plain, err := det.Detect(ctx, in.img)
				if err != nil {
					t.Fatalf("%s: %v", where, err)
				}
				if err := sameFaces(plain, wantFaces); err != nil {
					t.Errorf("%s: Detect: %v", where, err)
				}
				faces += len(wantFaces)
			}
		})
	}
	if faces == 0 {
		t.Error("no faces found at all; the comparison proves little")
	}
	t.Logf("%d faces compared", faces)
}

// TestDetectConcurrent runs one Detector from several goroutines at once on
// frames of different sizes; each must get what it gets alone.
func TestDetectConcurrent(t *testing.T) {
	det := newTestDetector(t)
	ctx := context.Background()
	var imgs []gocv.Mat
	defer func() {
		for _, m := range imgs {
			m.Close()
		}
	}()
	for _, rel := range []string{
		mediaPath["v01_talking_frontal_glasses_480x360"],
		mediaPath["e03_noface_animation_caminandes_960x540"],
		mediaPath["i06_astronaut_eileen_collins_512x512"],
		mediaPath["v02_emotions_sad_to_laughing_640x360_pexels"],
	} {
		forEachFrame(t, sharedtest.Media(t, rel), []int{0}, func(_ int, img gocv.Mat) { imgs = append(imgs, img.Clone()) })
	}
	want := make([][]Face, len(imgs))
	for i, img := range imgs {
		var err error
		if want[i], err = det.oracleDetect(ctx, img, nil); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(imgs))
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 2 * len(imgs) {
				i := (g + k) % len(imgs)
				got, err := det.Detect(ctx, imgs[i])
				if err == nil {
					err = sameFaces(got, want[i])
				}
				if err != nil {
					errs <- fmt.Errorf("goroutine %d, image %d: %w", g, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
