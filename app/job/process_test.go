package job

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"facemirror/app/helper"
	"facemirror/app/internal/helpertest"
	"facemirror/app/worker"
	"facemirror/internal/sharedtest"
	"facemirror/pipeline/openface"
	"facemirror/pipeline/openfacecsv"
	"facemirror/pipeline/video"
)

// processVideos are the inputs with an OpenFace reference CSV
// (reference/<name>/<name>.csv). Analysed by one helper, each gives
// OpenFace's CSV to the last printed digit (TestProcessEqualsOpenFace);
// split over helpers, each passes the agreement bars of
// TestProcessAgreesWithOpenFace.
var processVideos = []string{
	"videos/v01_talking_frontal_glasses_480x360.mp4",
	"videos/v02_emotions_sad_to_laughing_640x360_pexels.mp4",
	"videos/v04_eyeclosure_cheekpuff_smile_glasses_512x480.mp4",
	"videos/v10_grid_talking_frontal_mpeg1_360x288.mpg",
	"edge/e01_neutral_to_smile_2.4s_mp3audio_640x360.mp4",
	"edge/e02_face_then_noface_hevc_vfr_audiofirst_960x540.mov",
	"edge/e03_noface_animation_caminandes_960x540.mp4",
}

// Inputs of the shared run without a reference CSV.
const (
	d01Video = "derived/d01_portrait_rot90_meta_h264_stored1280x720.mp4"
	i01Image = "images/i01_single_face_smile_572x562.jpg"
)

// testWorkers is the helper count of the shared run: the cores of the CI
// machine.
const testWorkers = 2

// processRun is a finished Process run and its output folder.
type processRun struct {
	report Report
	dir    string
	stderr string
}

// csv returns the CSV written for a shared-media input.
func (r processRun) csv(t *testing.T, input string) *openfacecsv.File {
	t.Helper()
	for _, f := range r.report.Files {
		if filepath.Base(f.File) != filepath.Base(input) {
			continue
		}
		if f.Err != nil {
			t.Fatalf("%s: %v", input, f.Err)
		}
		got, err := openfacecsv.ReadFile(f.CSV)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	t.Fatalf("%s was not processed", input)
	return nil
}

// bytes returns the bytes of the CSV written for an input.
func (r processRun) bytes(t *testing.T, input string) []byte {
	t.Helper()
	b, err := os.ReadFile(CSVPath(input, r.dir))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// processInputs runs Process on shared-media inputs with real helpers,
// writing to a fresh temporary folder.
func processInputs(t *testing.T, workers int, progress func(Progress), inputs ...string) processRun {
	t.Helper()
	return processInto(t, t.TempDir(), workers, progress, inputs...)
}

// processInto runs Process writing to dir, each video split over the
// helpers (Options.Split), the mode whose chunks and seams these tests
// exercise.
func processInto(t *testing.T, dir string, workers int, progress func(Progress), inputs ...string) processRun {
	t.Helper()
	return processWith(t, dir, Options{Workers: workers, Progress: progress, Split: true}, inputs...)
}

// processWith runs Process with opts (its output folder and helpers set
// here) writing to dir.
func processWith(t *testing.T, dir string, opts Options, inputs ...string) processRun {
	t.Helper()
	useRealHelpers(t)
	var paths []string
	for _, in := range inputs {
		paths = append(paths, sharedtest.Media(t, in))
	}
	var stderr lockedBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	opts.OutDir = dir
	opts.Helpers = helper.Config{EP: "cpu", Stderr: &stderr}
	rep := Run(ctx, paths, opts)
	return processRun{report: rep, dir: dir, stderr: stderr.String()}
}

// oneHelper is the run of every video with a reference with the default
// options (whole videos) on testWorkers helpers: each video tracked by one
// helper from its first frame to its last, as one helper alone would.
// Made once and used by several tests.
var oneHelper struct {
	once sync.Once
	run  processRun
}

func oneHelperRun(t *testing.T) processRun {
	t.Helper()
	useRealHelpers(t)
	oneHelper.once.Do(func() {
		// Removed by TestMain, like the shared run's folder.
		dir, err := os.MkdirTemp("", "facemirror-process-one-")
		if err != nil {
			t.Fatal(err)
		}
		helpertest.RemoveAtExit(dir)
		start := time.Now()
		oneHelper.run = processWith(t, dir, Options{Workers: testWorkers}, processVideos...)
		t.Logf("whole-video run: %d frames in %v on %d helpers", oneHelper.run.report.Frames, time.Since(start).Round(time.Millisecond), testWorkers)
		if first := oneHelper.run.report.FirstFrame; first.Before(start) || first.After(time.Now()) {
			t.Errorf("the report's first frame came at %v, not within the run (%v on)", first, start)
		}
	})
	if oneHelper.run.dir == "" {
		t.Fatal("the one-helper run failed")
	}
	return oneHelper.run
}

// TestProcessEqualsOpenFace checks the claim FaceMirror is built on: with
// whole videos (no chunk seams), the CSV of every reference video is
// OpenFace 2.2's own: its 714 columns in its order, every cell as printed,
// the gaze block included. The one exception is e03, a video without any
// face, whose six pose columns
// OpenFace fills with the result of solvePnP on 68 points at (0, 0), a
// diverged and meaningless pose (for example pose_Tx -27448284) that
// FaceMirror does not reproduce.
func TestProcessEqualsOpenFace(t *testing.T) {
	run := oneHelperRun(t)
	for _, path := range processVideos {
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		t.Run(name[:3], func(t *testing.T) {
			ref := readCells(t, sharedtest.Reference(t, name+"/"+name+".csv"))
			got := readCells(t, CSVPath(path, run.dir))
			if len(got) != len(ref) {
				t.Fatalf("%d lines, the reference has %d", len(got), len(ref))
			}
			if g, w := strings.Join(got[0], ","), strings.Join(ref[0], ","); g != w {
				t.Fatalf("header of %d columns differs from the reference's %d:\n got  %s\n want %s", len(got[0]), len(ref[0]), g, w)
			}
			refCol := map[string]int{}
			for i, h := range ref[0] {
				refCol[h] = i
			}
			skip := map[string]bool{}
			if strings.HasPrefix(name, "e03") {
				for _, c := range []string{"pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz"} {
					skip[c] = true
				}
			}
			cells, differ := 0, 0
			for j, h := range got[0] {
				i, ok := refCol[h]
				if !ok {
					t.Fatalf("column %q is not in the reference", h)
				}
				if skip[h] {
					continue
				}
				for r := 1; r < len(got); r++ {
					cells++
					if got[r][j] != ref[r][i] {
						if differ < 5 {
							t.Errorf("row %d, %s: %q, OpenFace wrote %q", r, h, got[r][j], ref[r][i])
						}
						differ++
					}
				}
			}
			t.Logf("%d rows, %d columns: %d of %d cells differ", len(got)-1, len(got[0]), differ, cells)
		})
	}
}

// readCells reads a CSV as trimmed cells.
func readCells(t *testing.T, path string) [][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		cells := strings.Split(line, ",")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		out = append(out, cells)
	}
	return out
}

// shared is the run of every video with a reference, d01 and an image on
// testWorkers helpers, made once and used by several tests.
var shared struct {
	once sync.Once
	run  processRun
}

func sharedRun(t *testing.T) processRun {
	t.Helper()
	useRealHelpers(t)
	shared.once.Do(func() {
		// The folder outlives the test that happens to make the run;
		// TestMain removes it.
		dir, err := os.MkdirTemp("", "facemirror-process-")
		if err != nil {
			t.Fatal(err)
		}
		helpertest.RemoveAtExit(dir)
		start := time.Now()
		inputs := []string{d01Video, i01Image}
		inputs = append(inputs, processVideos...)
		shared.run = processInto(t, dir, testWorkers, nil, inputs...)
		t.Logf("shared run: %d frames in %v on %d helpers", shared.run.report.Frames, time.Since(start).Round(time.Millisecond), testWorkers)
	})
	if shared.run.dir == "" {
		t.Fatal("the shared run failed")
	}
	return shared.run
}

// agreement compares a CSV with OpenFace's for the same video.
type agreement struct {
	rows, refRows int
	// landmarks is the mean 2D landmark distance (px) over the frames
	// where both succeed; worstFrame the largest frame mean.
	landmarks, worstFrame float64
	success               float64 // fraction of rows with the same success
	pose                  [3]float64
	// gaze is the mean error of gaze_angle_x and gaze_angle_y (degrees)
	// over the frames where both succeed.
	gaze [2]float64
	// auR is the Pearson r of each AU intensity over the frames where
	// both succeed, for AUs whose reference is not constant there;
	// auSD the reference's standard deviation. meanR is the mean r.
	auR, auSD  map[string]float64
	meanR      float64
	occurrence float64 // fraction of equal AU occurrences, frames where both succeed
}

func compareCSV(got, ref *openfacecsv.File) agreement {
	a := agreement{rows: len(got.Rows), refRows: len(ref.Rows), auR: map[string]float64{}, auSD: map[string]float64{}}
	n := min(len(got.Rows), len(ref.Rows))
	var both []int
	same := 0
	var poseSum [3]float64
	var gazeSum [2]float64
	for i := 0; i < n; i++ {
		g, r := got.Rows[i], ref.Rows[i]
		if g.Success == r.Success {
			same++
		}
		if !g.Success || !r.Success {
			continue
		}
		d := meanLandmarkDistance(g.Landmarks2D, r.Landmarks2D)
		a.landmarks += d
		a.worstFrame = math.Max(a.worstFrame, d)
		for k := range 3 {
			poseSum[k] += math.Abs(g.Pose[3+k] - r.Pose[3+k])
		}
		for k := range 2 {
			gazeSum[k] += math.Abs(g.GazeAngle[k] - r.GazeAngle[k])
		}
		both = append(both, i)
	}
	if len(both) > 0 {
		a.landmarks /= float64(len(both))
		for k := range 3 {
			a.pose[k] = poseSum[k] / float64(len(both)) * 180 / math.Pi
		}
		for k := range 2 {
			a.gaze[k] = gazeSum[k] / float64(len(both)) * 180 / math.Pi
		}
	}
	a.success = float64(same) / float64(max(1, n))

	col := func(names []string, au string) int {
		for i, name := range names {
			if name == au {
				return i
			}
		}
		return -1
	}
	for ri, au := range ref.Layout.IntensityAUs {
		gi := col(got.Layout.IntensityAUs, au)
		x, y := make([]float64, len(both)), make([]float64, len(both))
		for k, i := range both {
			if gi >= 0 {
				x[k] = got.Rows[i].Intensity[gi]
			}
			y[k] = ref.Rows[i].Intensity[ri]
		}
		if r, sd, ok := pearson(x, y); ok {
			a.auR[au], a.auSD[au] = r, sd
			a.meanR += r
		}
	}
	if len(a.auR) > 0 {
		a.meanR /= float64(len(a.auR))
	}
	agree, total := 0, 0
	for ri, au := range ref.Layout.OccurrenceAUs {
		gi := col(got.Layout.OccurrenceAUs, au)
		for _, i := range both {
			total++
			if gi >= 0 && got.Rows[i].Occurrence[gi] == ref.Rows[i].Occurrence[ri] {
				agree++
			}
		}
	}
	a.occurrence = 1
	if total > 0 {
		a.occurrence = float64(agree) / float64(total)
	}
	return a
}

// meanLandmarkDistance is the mean Euclidean distance between two
// landmark sets (x block, y block).
func meanLandmarkDistance(a, b []float64) float64 {
	n := len(a) / 2
	sum := 0.0
	for i := 0; i < n; i++ {
		sum += math.Hypot(a[i]-b[i], a[n+i]-b[n+i])
	}
	return sum / float64(n)
}

// pearson returns the correlation of x and y and the standard deviation
// of y (the reference); ok is false when y is constant.
func pearson(x, y []float64) (r, sdY float64, ok bool) {
	if len(y) == 0 {
		return 0, 0, false
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(len(x))
	my /= float64(len(y))
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	sdY = math.Sqrt(syy / float64(len(y)))
	switch {
	case syy == 0:
		return 0, 0, false
	case sxx == 0:
		return 0, sdY, true
	}
	return sxy / math.Sqrt(sxx*syy), sdY, true
}

// TestProcessAgreesWithOpenFace compares the CSV of every video with an
// OpenFace reference, analysed in one run on two helpers (so chunked),
// with OpenFace's own CSV: rows, landmarks, success, head pose, gaze
// angles, AU intensities and occurrences, against the bars (and
// its aim of 0.3 px for the landmarks; 1° for the gaze angles, like the
// pose). Measured: landmarks 0.004 (v01), 0.020 (v02), 0.056 px (v04) and
// 0 on the short videos, which stay one chunk; success 100 %; gaze angles
// 0.045° or less; occurrence 99.6-100 %; per-AU r 0.992 and up.
func TestProcessAgreesWithOpenFace(t *testing.T) {
	run := sharedRun(t)
	for _, path := range processVideos {
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		t.Run(name[:3], func(t *testing.T) {
			ref, err := openfacecsv.ReadFile(sharedtest.Reference(t, name+"/"+name+".csv"))
			if err != nil {
				t.Fatal(err)
			}
			got := run.csv(t, path)
			a := compareCSV(got, ref)
			var rs []string
			for au, r := range a.auR {
				rs = append(rs, fmt.Sprintf("%s=%.3f(sd %.2f)", au, r, a.auSD[au]))
			}
			sort.Strings(rs)
			t.Logf("%d rows; landmarks %.3f px mean, %.2f px worst frame; success %.2f%%; pose error %.3f/%.3f/%.3f°; gaze angle error %.3f/%.3f°; AU r mean %.4f: %s; occurrence %.2f%%",
				a.rows, a.landmarks, a.worstFrame, 100*a.success, a.pose[0], a.pose[1], a.pose[2], a.gaze[0], a.gaze[1], a.meanR, strings.Join(rs, " "), 100*a.occurrence)
			if a.rows != a.refRows {
				t.Fatalf("%d rows, the reference has %d", a.rows, a.refRows)
			}
			if a.landmarks > 0.3 {
				t.Errorf("mean landmark error %.3f px exceeds 0.3 px", a.landmarks)
			}
			if a.success < 0.99 {
				t.Errorf("success agrees on %.2f%% of frames, want 99%%", 100*a.success)
			}
			for k, axis := range []string{"Rx", "Ry", "Rz"} {
				if a.pose[k] > 1 {
					t.Errorf("pose_%s mean error %.3f° exceeds 1°", axis, a.pose[k])
				}
			}
			for k, axis := range []string{"x", "y"} {
				if a.gaze[k] > 1 {
					t.Errorf("gaze_angle_%s mean error %.3f° exceeds 1°", axis, a.gaze[k])
				}
			}
			for au, r := range a.auR {
				// Every AU must follow the reference; the 0.98 bar is for
				// those that vary enough for r to measure more than noise.
				if r < 0.98 {
					t.Errorf("%s_r: Pearson r %.4f (reference deviation %.3f)", au, r, a.auSD[au])
				}
			}
			if len(a.auR) > 0 && a.meanR < 0.99 {
				t.Errorf("mean AU r %.4f below 0.99", a.meanR)
			}
			if a.occurrence < 0.99 {
				t.Errorf("AU occurrence agrees on %.2f%%, want 99%%", 100*a.occurrence)
			}
			if strings.HasPrefix(name, "e03") {
				for _, row := range got.Rows {
					if row.Success {
						t.Fatalf("e03 (no face) frame %d has success 1", row.Frame)
					}
				}
			}
		})
	}
}

// lockedBuffer collects the helpers' stderr, written from several
// goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// An image is a one-frame video; a phone video stored sideways is
// analysed upright: on sampled frames the landmarks lie in the face box
// the detector finds on the upright frame, eyes above nose above mouth.
func TestProcessImageAndRotatedVideo(t *testing.T) {
	run := sharedRun(t)
	img := run.csv(t, i01Image)
	if len(img.Rows) != 1 || !img.Rows[0].Success {
		t.Errorf("i01: %d rows, want 1 with success 1", len(img.Rows))
	}

	got := run.csv(t, d01Video)
	if len(got.Rows) != 352 {
		t.Fatalf("d01: %d rows, want 352", len(got.Rows))
	}
	ctx := testContext(t, 2*time.Minute)
	pool := helper.Config{EP: "cpu"}.NewPool(ctx, 1)
	defer pool.Close()
	frames := []int{0, 88, 176, 264, 351}
	boxes := map[int]helper.Rect{}
	_, err := helper.Detect(ctx, pool, helper.DetectRequest{Path: sharedtest.Media(t, d01Video), Frames: frames}, func(f helper.FrameFaces) error {
		if face, ok := f.Face(); ok {
			boxes[f.Index] = face.Box
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mean := func(lm []float64, from, to int) (x, y float64) {
		for i := from; i <= to; i++ {
			x += lm[i]
			y += lm[68+i]
		}
		n := float64(to - from + 1)
		return x / n, y / n
	}
	for _, f := range frames {
		row := got.Rows[f]
		box, ok := boxes[f]
		if !row.Success || !ok {
			t.Errorf("frame %d: success %v, detector box found %v", f, row.Success, ok)
			continue
		}
		lm := row.Landmarks2D
		minX, maxX := slicesMinMax(lm[:68])
		minY, maxY := slicesMinMax(lm[68:])
		// The corrected MTCNN box runs from the brows to the chin; allow a
		// quarter of its size around it.
		mx, my := 0.25*float64(box.W), 0.25*float64(box.H)
		if minX < float64(box.X)-mx || maxX > float64(box.X+box.W)+mx || minY < float64(box.Y)-my || maxY > float64(box.Y+box.H)+my {
			t.Errorf("frame %d: landmarks span x %.0f-%.0f y %.0f-%.0f, outside the face box %+v", f, minX, maxX, minY, maxY, box)
		}
		_, eyesY := mean(lm, 36, 47)
		_, noseY := mean(lm, 30, 35)
		_, mouthY := mean(lm, 48, 67)
		rightEyeX, rightEyeY := mean(lm, 36, 41)
		leftEyeX, leftEyeY := mean(lm, 42, 47)
		if !(eyesY < noseY && noseY < mouthY) || math.Abs(leftEyeX-rightEyeX) < 2*math.Abs(leftEyeY-rightEyeY) {
			t.Errorf("frame %d: not upright: eyes at y %.0f, nose %.0f, mouth %.0f; eyes %.0f apart across, %.0f down",
				f, eyesY, noseY, mouthY, leftEyeX-rightEyeX, leftEyeY-rightEyeY)
		}
	}
}

func slicesMinMax(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// seamFrames is how many frames after each seam TestProcessChunkSeams
// averages over.
const seamFrames = 30

// Splitting a video over helpers changes the landmarks after each seam by
// at most 0.3 px on average compared with one helper. v02's seam at frame
// 197 with three helpers lies in its hardest stretch (a hand over the
// mouth), where a warm-up of 30 frames was measured to leave differences
// of 1-3 px.
func TestProcessChunkSeams(t *testing.T) {
	videos := []string{processVideos[1], processVideos[2]} // v02, v04
	two := sharedRun(t)
	one := oneHelperRun(t)
	three := processInputs(t, 3, nil, videos...)
	for _, v := range videos {
		ref := one.csv(t, v)
		for _, r := range []struct {
			workers int
			run     processRun
		}{{2, two}, {3, three}} {
			got := r.run.csv(t, v)
			if len(got.Rows) != len(ref.Rows) {
				t.Fatalf("%s, %d workers: %d rows, one helper gave %d", v, r.workers, len(got.Rows), len(ref.Rows))
			}
			plan := planChunks(len(ref.Rows), r.workers)
			if len(plan) != r.workers {
				t.Fatalf("%s, %d workers: plan %v", v, r.workers, plan)
			}
			whole, wholeN := 0.0, 0
			for i := range ref.Rows {
				if ref.Rows[i].Success && got.Rows[i].Success {
					whole += meanLandmarkDistance(ref.Rows[i].Landmarks2D, got.Rows[i].Landmarks2D)
					wholeN++
				}
			}
			for _, c := range plan[1:] {
				sum, n, worst, successDiff := 0.0, 0, 0.0, 0
				for i := c.start; i < c.start+seamFrames; i++ {
					a, b := ref.Rows[i], got.Rows[i]
					if a.Success != b.Success {
						successDiff++
					}
					if !a.Success || !b.Success {
						continue
					}
					d := meanLandmarkDistance(a.Landmarks2D, b.Landmarks2D)
					sum += d
					n++
					worst = math.Max(worst, d)
				}
				mean := sum / float64(max(1, n))
				t.Logf("%s, %d workers, seam at frame %d: landmarks differ from one helper's by %.3f px on average over %d frames (worst %.3f), success on %d; whole video %.3f px",
					filepath.Base(v)[:3], r.workers, c.start, mean, n, worst, successDiff, whole/float64(max(1, wholeN)))
				if n < seamFrames/2 || mean > 0.3 || successDiff > 1 {
					t.Errorf("%s, %d workers, seam at frame %d: mean difference %.3f px over %d frames, success differs on %d",
						filepath.Base(v)[:3], r.workers, c.start, mean, n, successDiff)
				}
			}
		}
	}
}

// helperKiller returns a Progress function that kills one helper once the
// run has done frames frame passes, and what checks, after the run, that
// it did.
func helperKiller(t *testing.T, frames int) (progress func(Progress), killed func()) {
	var once sync.Once
	done := make(chan error, 1)
	progress = func(p Progress) {
		if p.FramesDone >= frames {
			once.Do(func() { done <- killHelper() })
		}
	}
	killed = func() {
		t.Helper()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("kill a helper: %v", err)
			}
		default:
			t.Fatal("the run ended before a helper could be killed")
		}
	}
	return progress, killed
}

// Two runs with the same number of helpers write the same bytes, even when
// a helper is killed in the middle of its chunk (the chunk is retried on
// a fresh helper) and the other inputs of the command differ.
func TestProcessIsDeterministicAndSurvivesAHelperCrash(t *testing.T) {
	v01 := processVideos[0]
	first := sharedRun(t)
	kill, killed := helperKiller(t, 60)
	again := processInputs(t, testWorkers, kill, v01)
	killed()
	if !strings.Contains(again.stderr, "retrying once on a fresh helper") {
		t.Errorf("no retry was logged; helpers' stderr:\n%s", again.stderr)
	}
	if err := again.report.Files[0].Err; err != nil {
		t.Fatalf("the run with a killed helper failed: %v", err)
	}
	// The report says so, for the window's row and the manifest.
	if w := again.report.Files[0].Warnings; len(w) != 1 || !strings.Contains(w[0], "processed again by a fresh helper") {
		t.Errorf("warnings %q, want one about the retry", w)
	}
	a, b := first.bytes(t, v01), again.bytes(t, v01)
	if !bytes.Equal(a, b) {
		t.Errorf("two runs on %d helpers wrote different CSVs (%d and %d bytes)", testWorkers, len(a), len(b))
	}
}

// Cancelling a run (Ctrl-C) leaves no CSV, no HOG file, no aligned faces
// and no temporary file behind.
func TestProcessInterrupted(t *testing.T) {
	useRealHelpers(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(testContext(t, 5*time.Minute))
	defer cancel()
	rep := Run(ctx, []string{sharedtest.Media(t, "videos/v01_talking_frontal_glasses_480x360.mp4")}, Options{
		OutDir:  dir,
		Workers: testWorkers,
		HOG:     true,
		Aligned: true,
		Helpers: helper.Config{EP: "cpu"},
		Progress: func(p Progress) {
			if p.FramesDone >= 20 {
				cancel()
			}
		},
	})
	if err := rep.Files[0].Err; !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the output folder holds %v after an interrupted run", entries)
	}
	if len(rep.Helpers) == 0 {
		t.Error("no helper exit states")
	}
}

func TestExitStatus(t *testing.T) {
	ok := FileReport{File: "a", CSV: "a.csv", Frames: 3, FaceFrames: 2}
	none := FileReport{File: "b", CSV: "b.csv", Frames: 3}
	bad := FileReport{File: "c", Err: video.ErrEmpty}
	cases := []struct {
		files []FileReport
		want  int
	}{
		{[]FileReport{ok}, 0},
		{[]FileReport{ok, none}, ExitNoFace},
		{[]FileReport{none, bad, ok}, ExitFailed},
		{[]FileReport{bad}, ExitFailed},
	}
	for _, tc := range cases {
		if got := (Report{Files: tc.files}).ExitStatus(); got != tc.want {
			t.Errorf("%+v: exit status %d, want %d", tc.files, got, tc.want)
		}
	}
}

// The distributed pipeline writes exactly what the in-process one does
// with the same landmarks: the helpers' per-frame results (here fetched
// chunk by chunk as Process plans them for two helpers) turned back into
// landmark input for openface.AnalyseVideo give the same CSV, byte for
// byte, as Process wrote.
func TestProcessEqualsInProcessAnalysis(t *testing.T) {
	v01 := processVideos[0]
	run := sharedRun(t)
	path := sharedtest.Media(t, v01)
	ctx := testContext(t, 5*time.Minute)
	c, err := worker.Start(ctx, helper.Config{EP: "cpu", Threads: 1}.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info, err := video.Probe(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	landmarks := make([]openface.Landmarks, info.Frames)
	for _, ch := range planChunks(info.Frames, testWorkers) {
		req := helper.AnalyseRequest{Path: path, Start: ch.start, End: ch.end, WarmUp: ch.warmUp}
		res, err := helper.Analyse(ctx, c, req, func(i int, fr openface.FrameResult) error {
			if fr.Rejected != openface.Accepted {
				return fmt.Errorf("frame %d: landmarks rejected (%v)", i, fr.Rejected)
			}
			landmarks[i] = openface.Landmarks{
				Points: fr.Landmarks, Global: fr.Global, Local: fr.Local,
				Success: fr.Success, DetectionSuccess: fr.AUSuccess, Confidence: fr.Confidence,
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Frames != ch.end-ch.start || res.WarmUp != ch.warmUp || res.Width != 480 || res.Height != 360 {
			t.Errorf("chunk %v: result %+v", ch, res)
		}
	}
	fm, err := openface.LoadModels(helpertest.Models(t))
	if err != nil {
		t.Fatal(err)
	}
	seq, err := openface.AnalyseVideo(ctx, fm, path, landmarks)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "in-process.csv")
	if err := seq.WriteCSV(ctx, out); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := run.bytes(t, v01); !bytes.Equal(got, want) {
		t.Errorf("Process wrote %d bytes, the in-process analysis %d; they differ", len(got), len(want))
	}
}

// The chunks are planned from the container's frame count, which can be
// wrong (it is an estimate in some formats); the helper that meets the
// real end of the video tells the true count. Whatever the container
// claims (too few, too many, far too many, nothing), every frame gets its
// row, once, and the landmarks stay within the seam tolerance of the run
// planned from the true count.
func TestProcessWithWrongContainerFrameCount(t *testing.T) {
	useRealHelpers(t)
	v01 := processVideos[0]
	ref := sharedRun(t).csv(t, v01)
	for _, claim := range []int{0, 200, 420, 2000} {
		t.Run(fmt.Sprint(claim), func(t *testing.T) {
			dir := t.TempDir()
			ctx := testContext(t, 5*time.Minute)
			var stderr lockedBuffer
			r := newRun(ctx, []string{sharedtest.Media(t, v01)}, Options{
				OutDir:  dir,
				Split:   true,
				Helpers: helper.Config{EP: "cpu", Stderr: &stderr},
			}, testWorkers)
			r.probe = func(ctx context.Context, path string) (video.Info, error) {
				info, err := video.ProbeHeader(ctx, path)
				info.Frames = claim
				return info, err
			}
			r.run()
			rep := r.report()
			got := processRun{report: rep, dir: dir}.csv(t, v01)
			if rep.Frames != len(ref.Rows) || rep.Files[0].Frames != len(ref.Rows) {
				t.Errorf("report counts %d frames (file %d), the video has %d", rep.Frames, rep.Files[0].Frames, len(ref.Rows))
			}
			if len(got.Rows) != len(ref.Rows) {
				t.Fatalf("%d rows, want %d", len(got.Rows), len(ref.Rows))
			}
			sum := 0.0
			for i, row := range got.Rows {
				if row.Frame != i+1 || !row.Success {
					t.Fatalf("row %d: frame %d, success %v", i, row.Frame, row.Success)
				}
				sum += meanLandmarkDistance(row.Landmarks2D, ref.Rows[i].Landmarks2D)
			}
			t.Logf("container claims %d frames: %d rows, landmarks %.4f px from the run planned from the true count", claim, len(got.Rows), sum/float64(len(got.Rows)))
			if mean := sum / float64(len(got.Rows)); mean > 0.3 {
				t.Errorf("landmarks differ by %.3f px on average", mean)
			}
		})
	}
}

// TestMain lets the test binary be its own helper (helpertest.Main).
func TestMain(m *testing.M) { helpertest.Main(m) }

func useRealHelpers(t testing.TB) { t.Helper(); helpertest.UseRealHelpers(t) }

func testContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	return helpertest.Context(t, d)
}
