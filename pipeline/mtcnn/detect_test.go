package mtcnn

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"facemirror/internal/sharedtest"
	"facemirror/models/cnn"

	"gocv.io/x/gocv"
)

// loadNets loads OpenFace's PNet, RNet and ONet with the plain-Go forward pass.
func loadNets(t testing.TB) (p, r, o *cnn.Net) {
	t.Helper()
	dir := filepath.Join(sharedtest.Models(t), "model", "mtcnn_detector")
	nets := make([]*cnn.Net, 3)
	for i, name := range []string{"PNet.dat", "RNet.dat", "ONet.dat"} {
		n, err := cnn.Load(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		nets[i] = n
	}
	return nets[0], nets[1], nets[2]
}

func newTestDetector(t testing.TB) *Detector {
	t.Helper()
	p, r, o := loadNets(t)
	return New(p, r, o, DefaultOptions())
}

// mediaPath maps a reference "video" name to its file under shared/media.
var mediaPath = map[string]string{
	"v01_talking_frontal_glasses_480x360":              "videos/v01_talking_frontal_glasses_480x360.mp4",
	"v02_emotions_sad_to_laughing_640x360_pexels":      "videos/v02_emotions_sad_to_laughing_640x360_pexels.mp4",
	"v04_eyeclosure_cheekpuff_smile_glasses_512x480":   "videos/v04_eyeclosure_cheekpuff_smile_glasses_512x480.mp4",
	"v10_grid_talking_frontal_mpeg1_360x288":           "videos/v10_grid_talking_frontal_mpeg1_360x288.mpg",
	"e01_neutral_to_smile_2.4s_mp3audio_640x360":       "edge/e01_neutral_to_smile_2.4s_mp3audio_640x360.mp4",
	"e02_face_then_noface_hevc_vfr_audiofirst_960x540": "edge/e02_face_then_noface_hevc_vfr_audiofirst_960x540.mov",
	"e03_noface_animation_caminandes_960x540":          "edge/e03_noface_animation_caminandes_960x540.mp4",
	"i01_single_face_smile_572x562":                    "images/i01_single_face_smile_572x562.jpg",
	"i03_posed_surprise_512x512":                       "images/i03_posed_surprise_512x512.jpg",
	"i06_astronaut_eileen_collins_512x512":             "images/i06_astronaut_eileen_collins_512x512.png",
}

// refFace is one reference detection.
type refFace struct {
	raw, box   Rect
	confidence float32
}

// refFrame is what OpenFace found in one frame (no faces: an empty slice).
type refFrame struct {
	video string
	frame int
	faces []refFace
}

// loadBoxCSV reads mtcnn_boxes.csv or fe_frames_mtcnn_boxes.csv.
func loadBoxCSV(t testing.TB, rel string) []refFrame {
	t.Helper()
	f, err := os.Open(sharedtest.Reference(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	if len(rows) < 2 || len(rows[0]) != 13 || rows[0][0] != "video" || rows[0][12] != "confidence" {
		t.Fatalf("%s: unexpected header %v", rel, rows[0])
	}
	var out []refFrame
	index := map[string]int{}
	for _, row := range rows[1:] {
		key := row[0] + "#" + row[1]
		k, seen := index[key]
		if !seen {
			out = append(out, refFrame{video: row[0], frame: atoi(t, row[1])})
			k = len(out) - 1
			index[key] = k
		}
		if atoi(t, row[2]) == 0 {
			continue
		}
		v := make([]float32, 9)
		for i := range v {
			v[i] = parseF32(t, row[4+i])
		}
		if got := atoi(t, row[3]); got != len(out[k].faces) {
			t.Fatalf("%s: %s frame %s: face_idx %d out of order", rel, row[0], row[1], got)
		}
		out[k].faces = append(out[k].faces, refFace{
			raw: Rect{v[0], v[1], v[2], v[3]}, box: Rect{v[4], v[5], v[6], v[7]}, confidence: v[8],
		})
	}
	return out
}

// singleCall is one DetectSingleFaceMTCNN result logged inside OpenFace's
// FeatureExtraction run (featureextraction_mtcnn_calls.csv).
type singleCall struct {
	detected   bool
	box        Rect
	confidence float32
}

func loadCallsCSV(t testing.TB) map[string]singleCall {
	t.Helper()
	const rel = "mtcnn/featureextraction_mtcnn_calls.csv"
	f, err := os.Open(sharedtest.Reference(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	if len(rows) < 2 || len(rows[0]) != 8 || rows[0][2] != "detected" {
		t.Fatalf("%s: unexpected header %v", rel, rows[0])
	}
	out := map[string]singleCall{}
	for _, row := range rows[1:] {
		c := singleCall{detected: atoi(t, row[2]) == 1}
		if c.detected {
			c.box = Rect{parseF32(t, row[3]), parseF32(t, row[4]), parseF32(t, row[5]), parseF32(t, row[6])}
			c.confidence = parseF32(t, row[7])
		}
		out[row[0]+"#"+row[1]] = c
	}
	return out
}

// forEachFrame decodes a video sequentially with cv::VideoCapture (as
// OpenFace does) and calls fn on the listed 0-based frame indices; an image
// is read once with IMREAD_COLOR and is frame 0.
func forEachFrame(t testing.TB, path string, frames []int, fn func(idx int, img gocv.Mat)) {
	t.Helper()
	want := map[int]bool{}
	last := -1
	for _, f := range frames {
		want[f] = true
		last = max(last, f)
	}
	ext := filepath.Ext(path)
	if ext == ".jpg" || ext == ".png" {
		img := gocv.IMRead(path, gocv.IMReadColor)
		defer img.Close()
		if img.Empty() {
			t.Fatalf("imread %s: empty", path)
		}
		if len(frames) != 1 || frames[0] != 0 {
			t.Fatalf("%s: image frames %v", path, frames)
		}
		fn(0, img)
		return
	}
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer vc.Close()
	img := gocv.NewMat()
	defer img.Close()
	for idx := 0; idx <= last; idx++ {
		if !vc.Read(&img) || img.Empty() {
			t.Fatalf("%s: decoding stopped at frame %d, need frame %d", path, idx, last)
		}
		if want[idx] {
			fn(idx, img)
		}
	}
}

// edges returns a box's left, top, right and bottom in float64.
func edges(r Rect) [4]float64 {
	x, y := float64(r.X), float64(r.Y)
	return [4]float64{x, y, x + float64(r.W), y + float64(r.H)}
}

func printed(r Rect) string { return fmt.Sprintf("%.6f %.6f %.6f %.6f", r.X, r.Y, r.W, r.H) }

// agreement accumulates the largest differences against one reference file.
type agreement struct {
	frames, faces, exact          int // exact: boxes identical at the reference's %.6f
	maxBox, maxRaw, maxConf       float64
	worstBox, worstRaw, worstConf string
}

func (a *agreement) String() string {
	return fmt.Sprintf("%d frames, %d faces (%d with boxes identical to %%.6f): max |corrected edge diff| %.6f px (%s), max |raw edge diff| %.6f px (%s), max |confidence diff| %.3g (%s)",
		a.frames, a.faces, a.exact, a.maxBox, a.worstBox, a.maxRaw, a.worstRaw, a.maxConf, a.worstConf)
}

func (a *agreement) merge(b *agreement) {
	a.frames += b.frames
	a.faces += b.faces
	a.exact += b.exact
	if b.maxBox > a.maxBox {
		a.maxBox, a.worstBox = b.maxBox, b.worstBox
	}
	if b.maxRaw > a.maxRaw {
		a.maxRaw, a.worstRaw = b.maxRaw, b.worstRaw
	}
	if b.maxConf > a.maxConf {
		a.maxConf, a.worstConf = b.maxConf, b.worstConf
	}
}

// compareFrame checks one frame's detections against the reference: the
// same number of faces, every edge of the corrected and the raw box within
// 1 px, the confidence within 1e-3.
func compareFrame(t *testing.T, a *agreement, where string, got []Face, want []refFace) {
	t.Helper()
	a.frames++
	if len(got) != len(want) {
		t.Errorf("%s: %d faces, want %d (got %+v)", where, len(got), len(want), got)
		return
	}
	for i := range got {
		a.faces++
		// The reference's %.6f cannot always tell neighbouring float32 values
		// apart (below 16 their spacing is under 1e-6), so "identical" means
		// identical as printed.
		if printed(got[i].Box) == printed(want[i].box) && printed(got[i].Raw) == printed(want[i].raw) {
			a.exact++
		}
		ge, we := edges(got[i].Box), edges(want[i].box)
		gr, wr := edges(got[i].Raw), edges(want[i].raw)
		for k := 0; k < 4; k++ {
			db, dr := abs64(ge[k]-we[k]), abs64(gr[k]-wr[k])
			if db > a.maxBox {
				a.maxBox, a.worstBox = db, where
			}
			if dr > a.maxRaw {
				a.maxRaw, a.worstRaw = dr, where
			}
			if db > 1 || dr > 1 {
				t.Errorf("%s face %d: box %+v raw %+v, want box %+v raw %+v", where, i, got[i].Box, got[i].Raw, want[i].box, want[i].raw)
				break
			}
		}
		// The reference prints %.6f, so up to 5e-7 of the difference is its rounding.
		dc := abs64(float64(got[i].Confidence) - float64(want[i].confidence))
		if dc > a.maxConf {
			a.maxConf, a.worstConf = dc, where
		}
		if dc > 1e-3 {
			t.Errorf("%s face %d: confidence %.6f, want %.6f", where, i, got[i].Confidence, want[i].confidence)
		}
	}
}

// TestDetectMatchesOpenFace runs the detector with the plain-Go networks on
// every frame listed in mtcnn_boxes.csv and fe_frames_mtcnn_boxes.csv
// (videos decoded once, sequentially) and on the images, and compares with
// OpenFace's detections.
func TestDetectMatchesOpenFace(t *testing.T) {
	det := newTestDetector(t)
	files := []string{"mtcnn/mtcnn_boxes.csv", "mtcnn/fe_frames_mtcnn_boxes.csv"}
	refs := make([][]refFrame, len(files))
	for i, f := range files {
		refs[i] = loadBoxCSV(t, f)
	}

	// Frames per video over both files, so each video is decoded once.
	type job struct {
		file int
		ref  refFrame
	}
	byVideo := map[string]map[int][]job{}
	for i, rs := range refs {
		for _, r := range rs {
			if byVideo[r.video] == nil {
				byVideo[r.video] = map[int][]job{}
			}
			byVideo[r.video][r.frame] = append(byVideo[r.video][r.frame], job{i, r})
		}
	}
	calls := loadCallsCSV(t)
	for key := range calls {
		video, frame, _ := strings.Cut(key, "#")
		if _, ok := byVideo[video][atoi(t, frame)]; !ok {
			t.Errorf("FeatureExtraction call %s is not in the box files", key)
		}
	}
	videos := make([]string, 0, len(byVideo))
	for v := range byVideo {
		videos = append(videos, v)
	}
	sort.Strings(videos)

	agree := make([]agreement, len(files))
	var mu sync.Mutex
	checkedCalls := 0
	ctx := context.Background()
	// Videos run in parallel; each is still decoded once, sequentially.
	t.Run("media", func(t *testing.T) {
		for _, video := range videos {
			t.Run(video, func(t *testing.T) {
				t.Parallel()
				rel, ok := mediaPath[video]
				if !ok {
					t.Fatalf("no media file known for reference video %q", video)
				}
				jobs := byVideo[video]
				frames := make([]int, 0, len(jobs))
				for f := range jobs {
					frames = append(frames, f)
				}
				local := make([]agreement, len(files))
				forEachFrame(t, sharedtest.Media(t, rel), frames, func(idx int, img gocv.Mat) {
					faces, err := det.Detect(ctx, img)
					if err != nil {
						t.Errorf("frame %d: %v", idx, err)
						return
					}
					where := video + " frame " + strconv.Itoa(idx)
					for _, j := range jobs[idx] {
						compareFrame(t, &local[j.file], where, faces, j.ref.faces)
					}
					// What DetectSingleFaceMTCNN handed to CLNF in FeatureExtraction.
					if c, ok := calls[video+"#"+strconv.Itoa(idx)]; ok {
						face, found := SelectSingle(faces)
						if found != c.detected || (found && (maxEdgeDiff(face.Box, c.box) > 1 || abs64(float64(face.Confidence-c.confidence)) > 1e-3)) {
							t.Errorf("%s: SelectSingle gives %v %+v, FeatureExtraction used %v %+v", where, found, face, c.detected, c)
						}
						mu.Lock()
						checkedCalls++
						mu.Unlock()
					}
				})
				mu.Lock()
				defer mu.Unlock()
				for i := range local {
					agree[i].merge(&local[i])
				}
			})
		}
	})
	if checkedCalls != len(calls) {
		t.Errorf("checked %d FeatureExtraction calls, file lists %d", checkedCalls, len(calls))
	}
	t.Logf("featureextraction_mtcnn_calls.csv: %d calls, checked with SelectSingle", checkedCalls)
	for i, f := range files {
		if agree[i].frames != len(refs[i]) {
			t.Errorf("%s: compared %d frames, file lists %d", f, agree[i].frames, len(refs[i]))
		}
		t.Logf("%s: %s", f, &agree[i])
	}
}

// TestDetectStagesV01Frame0 compares every stage on v01 frame 0 with
// v01_frame0_stages.txt: pyramid, per-level PNet counts and survivors, and
// the boxes, scores and counts through RNet and ONet.
func TestDetectStagesV01Frame0(t *testing.T) {
	ref := loadStageRef(t)
	det := newTestDetector(t)
	path := sharedtest.Media(t, mediaPath["v01_talking_frontal_glasses_480x360"])
	forEachFrame(t, path, []int{0}, func(_ int, img gocv.Mat) {
		var tr trace
		faces, err := det.detect(context.Background(), img, &tr)
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.levels) != len(ref.scales) {
			t.Fatalf("%d pyramid levels, want %d", len(tr.levels), len(ref.scales))
		}
		var maxScore float64
		scoreDiff := func(got, want []candidate) {
			for i := range min(len(got), len(want)) {
				maxScore = max(maxScore, abs64(float64(got[i].score)-float64(want[i].score)))
			}
		}
		for i, s := range ref.scales {
			l := tr.levels[i]
			if l.w != s.w || l.h != s.h || l.mapW != s.mapW || l.mapH != s.mapH {
				t.Errorf("level %d: %dx%d map %dx%d, want %dx%d map %dx%d", i, l.w, l.h, l.mapW, l.mapH, s.w, s.h, s.mapW, s.mapH)
			}
			if tr.aboveT1[i] != s.aboveT1 || len(tr.perScale[i]) != s.afterNMS {
				t.Errorf("level %d: %d above t1, %d after NMS; want %d, %d", i, tr.aboveT1[i], len(tr.perScale[i]), s.aboveT1, s.afterNMS)
			}
			t.Logf("level %d: max PNet prob %.9g (OpenFace %.9g)", i, tr.pnetMaxProbs[i], s.maxProb)
			sameBoxes(t, fmt.Sprintf("level %d survivors", i), tr.perScale[i], ref.perScale[i], 0, false)
			scoreDiff(tr.perScale[i], ref.perScale[i])
		}
		if tr.crossScale != ref.crossScale {
			t.Errorf("cross-scale NMS kept %d, want %d", tr.crossScale, ref.crossScale)
		}
		sameBoxes(t, "RNet input", tr.rnetIn, ref.rnetIn, 0, false)
		sameBoxes(t, "RNet output", tr.rnetOut, ref.rnetOut, 0, false)
		scoreDiff(tr.rnetOut, ref.rnetOut)
		if tr.rnetAbove != ref.rnetAbove || tr.rnetNMS != ref.rnetNMS {
			t.Errorf("RNet: %d above t2, %d after NMS; want %d, %d", tr.rnetAbove, tr.rnetNMS, ref.rnetAbove, ref.rnetNMS)
		}
		sameBoxes(t, "ONet input", tr.onetIn, ref.onetIn, 0, false)
		sameBoxes(t, "ONet output", tr.onetOut, ref.onetOut, 0, false)
		scoreDiff(tr.onetOut, ref.onetOut)
		if tr.onetAbove != ref.onetAbove || len(tr.raw) != ref.onetNMS {
			t.Errorf("ONet: %d above t3, %d after NMS; want %d, %d", tr.onetAbove, len(tr.raw), ref.onetAbove, ref.onetNMS)
		}
		sameBoxes(t, "raw", tr.raw, ref.raw, 0.01, false)
		got := make([]candidate, len(faces))
		for i, f := range faces {
			got[i] = candidate{box: f.Box, score: f.Confidence}
		}
		sameBoxes(t, "corrected", got, ref.corrected, 0.01, false)
		scoreDiff(got, ref.corrected)
		if maxScore > 1e-4 {
			t.Errorf("max stage score difference %.3g, want <= 1e-4", maxScore)
		}
		t.Logf("max stage score difference %.3g", maxScore)
	})
}

// TestDetectNoFace: a valid video without faces (b06) gives no detections
// on any frame.
func TestDetectNoFace(t *testing.T) {
	det := newTestDetector(t)
	path := sharedtest.Media(t, "bad/b06_valid_no_face_testsrc_640x480_5s.mp4")
	frames := []int{0, 15, 30, 45, 60, 75, 90, 105, 120}
	n := 0
	forEachFrame(t, path, frames, func(idx int, img gocv.Mat) {
		n++
		faces, err := det.Detect(context.Background(), img)
		if err != nil {
			t.Fatalf("frame %d: %v", idx, err)
		}
		if faces == nil || len(faces) != 0 {
			t.Errorf("frame %d: got %+v, want an empty, non-nil slice", idx, faces)
		}
	})
	if n != len(frames) {
		t.Errorf("checked %d frames, want %d", n, len(frames))
	}
}

// TestDetectTinyVideo: b07 is 32×32, below one pyramid level. OpenFace's
// DetectFaces would throw on the negative level count; we return
// ErrImageTooSmall without panicking. A grey 59×59 image (zero levels) too.
func TestDetectTinyVideo(t *testing.T) {
	det := newTestDetector(t)
	path := sharedtest.Media(t, "bad/b07_tiny_32x32_real_face_3s.mp4")
	forEachFrame(t, path, []int{0, 1}, func(idx int, img gocv.Mat) {
		if img.Cols() != 32 || img.Rows() != 32 {
			t.Fatalf("frame %d is %dx%d, want 32x32", idx, img.Cols(), img.Rows())
		}
		faces, err := det.Detect(context.Background(), img)
		if !errors.Is(err, ErrImageTooSmall) || faces != nil {
			t.Errorf("frame %d: got %v, %v; want ErrImageTooSmall", idx, faces, err)
		}
	})
	grey := gocv.NewMatWithSize(59, 59, gocv.MatTypeCV8UC1)
	defer grey.Close()
	if _, err := det.Detect(context.Background(), grey); !errors.Is(err, ErrImageTooSmall) {
		t.Errorf("59x59 grey: err = %v, want ErrImageTooSmall", err)
	}
	empty := gocv.NewMat()
	defer empty.Close()
	if _, err := det.Detect(context.Background(), empty); err == nil {
		t.Error("empty Mat: no error")
	}
}

// TestDetectGreyInput: a grey image is expanded to three equal channels, so
// it gives the same result as its BGR expansion.
func TestDetectGreyInput(t *testing.T) {
	det := newTestDetector(t)
	path := sharedtest.Media(t, mediaPath["i03_posed_surprise_512x512"])
	forEachFrame(t, path, []int{0}, func(_ int, img gocv.Mat) {
		grey := gocv.NewMat()
		defer grey.Close()
		gocv.CvtColor(img, &grey, gocv.ColorBGRToGray)
		bgr := gocv.NewMat()
		defer bgr.Close()
		gocv.CvtColor(grey, &bgr, gocv.ColorGrayToBGR)
		a, err := det.Detect(context.Background(), grey)
		if err != nil {
			t.Fatal(err)
		}
		b, err := det.Detect(context.Background(), bgr)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) == 0 || len(a) != len(b) {
			t.Fatalf("grey %d faces, BGR %d faces; want the same, at least one", len(a), len(b))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Errorf("face %d: grey %+v, BGR %+v", i, a[i], b[i])
			}
		}
	})
}

func TestDetectCancelled(t *testing.T) {
	det := newTestDetector(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	img := gocv.NewMatWithSize(120, 160, gocv.MatTypeCV8UC3)
	defer img.Close()
	if _, err := det.Detect(ctx, img); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
