package openface

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"facemirror/internal/reference"
	"facemirror/internal/sharedtest"
	"facemirror/pipeline/fhog"
	"facemirror/pipeline/openfacecsv"
	"facemirror/pipeline/video"
)

// TestFullPrecisionMatchesOpenFace feeds OpenFace's own landmark detector
// output at full precision (x_*, y_*, clnf_p_*, success, certainty) with the
// decoded frames through Analyser and Sequence. It checks the FaceAnalyser's
// refit (fa_p_*) bit for bit on every frame, v01's HOG descriptors against
// OpenFace's .hog file bit for bit, and the whole CSV text against the
// reference cell for cell. The dumps do not hold the eye models' state, so
// the analysis derives it from the landmarks (Landmarks.Eyes): that is
// OpenFace's own state for v01, whose face is too small for the eye models
// to be fitted, and its gaze (fullprec gaze_*) must match bit for bit and
// the gaze block cell for cell. On v02 and v04 OpenFace fits the eye models
// to the picture; their gaze block is reported, not required
// (TestTrackedGazeMatchesOpenFace checks it with the tracker's eye models).
func TestFullPrecisionMatchesOpenFace(t *testing.T) {
	m := testModels(t)
	for _, v := range []refVideo{v01, v02, v04} {
		t.Run(v.short, func(t *testing.T) {
			lms, fr := fullPrecLandmarks(t, v)
			var hogs []fhog.Frame
			if v == v01 {
				f, err := os.Open(sharedtest.Reference(t, v.name+"/"+v.name+".hog"))
				if err != nil {
					t.Fatal(err)
				}
				hogs, err = fhog.ReadHOGFile(f)
				f.Close()
				if err != nil {
					t.Fatal(err)
				}
				if len(hogs) != len(lms) {
					t.Fatalf(".hog has %d frames, landmarks %d", len(hogs), len(lms))
				}
			}
			// Four HOG values per frame that the dump recorded, for the
			// videos without a .hog file.
			online := reference.Fullprec(t, v.name, "au_online")
			hogIdx := []int{0, 100, 1000, 4463}
			rd, err := video.Open(context.Background(), sharedtest.Media(t, v.media))
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			seq, err := NewSequence(m, rd.Info())
			if err != nil {
				t.Fatal(err)
			}
			an := m.NewAnalyser()
			refits, hogFrames := 0, 0
			for i, lm := range lms {
				f, err := rd.Read()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				r, err := an.Analyse(f.Mat, lm)
				f.Mat.Close()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if r.Rejected != Accepted {
					t.Fatalf("frame %d rejected: %v", i, r.Rejected)
				}
				if want := fr.Str(t, i, "fa_p_scale") != ""; r.AUSuccess != want {
					t.Fatalf("frame %d: AU stage success %v, OpenFace refitted: %v", i, r.AUSuccess, want)
				}
				if r.AUSuccess {
					got := append(r.AUGlobal[:], r.AULocal...)
					for j, c := range faCols {
						if want := fr.F32(t, i, c); got[j] != want {
							t.Fatalf("frame %d %s = %v, OpenFace %v", i, c, got[j], want)
						}
					}
					refits++
				}
				if hogs != nil && r.AUSuccess {
					if !hogs[i].Success {
						t.Fatalf("frame %d: .hog marks it failed", i)
					}
					for j, want := range hogs[i].Data {
						if r.HOG[j] != want {
							t.Fatalf("frame %d HOG[%d] = %v, OpenFace %v", i, j, r.HOG[j], want)
						}
					}
					hogFrames++
				}
				if r.AUSuccess {
					for _, j := range hogIdx {
						want, err := strconv.ParseFloat(online.Str(t, i, "hog_"+strconv.Itoa(j)), 64)
						if err != nil {
							t.Fatal(err)
						}
						if float64(r.HOG[j]) != want {
							t.Fatalf("frame %d HOG[%d] = %v, OpenFace %v", i, j, r.HOG[j], want)
						}
					}
				}
				if v == v01 {
					checkGaze(t, i, r, fr)
				}
				if err := seq.Add(r); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := rd.Read(); !errors.Is(err, io.EOF) {
				t.Fatalf("video has more frames than the reference's %d (%v)", len(lms), err)
			}
			rows, err := seq.Finish(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			gotHead, got, _ := encodeRows(t, m, rows)
			wantHead, want := refText(t, v)
			if v != v01 {
				gazeHead, gotGaze, restHead, rest := splitGaze(gotHead, got)
				_, wantGaze, wantRestHead, wantRest := splitGaze(wantHead, want)
				gazeDiffs := compareText(t, gazeHead, gotGaze, gazeHead, wantGaze)
				// How far the gaze angles are off, on the frames with gaze.
				var sum, worst float64
				angles := 0
				for r := range wantGaze {
					for c, h := range gazeHead {
						if h != "gaze_angle_x" && h != "gaze_angle_y" {
							continue
						}
						g, err1 := strconv.ParseFloat(gotGaze[r][c], 64)
						w, err2 := strconv.ParseFloat(wantGaze[r][c], 64)
						if err1 != nil || err2 != nil {
							t.Fatalf("frame %d %s: %q, %q", r+1, h, gotGaze[r][c], wantGaze[r][c])
						}
						d := math.Abs(g-w) * 180 / math.Pi
						sum += d
						worst = max(worst, d)
						angles++
					}
				}
				t.Logf("gaze block with eye models derived from the landmarks: %d of %d cells as OpenFace's; gaze angles off by %.2f° on average, %.2f° at most",
					len(gazeHead)*len(wantGaze)-len(gazeDiffs), len(gazeHead)*len(wantGaze), sum/float64(max(1, angles)), worst)
				gotHead, got, wantHead, want = restHead, rest, wantRestHead, wantRest
			}
			diffs := compareText(t, gotHead, got, wantHead, want)
			t.Logf("%d frames: %d FaceAnalyser refits bit-exact, %d full HOG descriptors (.hog) and HOG[0,100,1000,4463] of every successful frame bit-exact; %d columns × %d rows: %d cells differ",
				len(lms), refits, hogFrames, len(wantHead), len(want), len(diffs))
			for i, d := range diffs {
				if i == 20 {
					t.Errorf("… %d more", len(diffs)-20)
					break
				}
				t.Errorf("%v", d)
			}
		})
	}
}

// agreementReport summarises how a re-scored video agrees with OpenFace.
type agreementReport struct {
	stats      []auStats
	occ        float64
	dPose      [6]float64
	d3D        [3]float64
	dLm, dParm float64
	// gazeMean and gazeMax are the mean and largest difference of the
	// gaze angles, in degrees.
	gazeMean, gazeMax float64
	table             string
}

// agreement scores v from the landmark input lms and compares the printed
// result with the reference CSV ref.
func agreement(t *testing.T, m *Models, v refVideo, lms []Landmarks, ref *openfacecsv.File) agreementReport {
	t.Helper()
	ctx := context.Background()
	rows, err := ScoreVideo(ctx, m, sharedtest.Media(t, v.media), lms)
	if err != nil {
		t.Fatal(err)
	}
	// Compare what a CSV would hold: print and read back.
	_, _, text := encodeRows(t, m, rows)
	got, err := openfacecsv.Read(bytes.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != len(ref.Rows) {
		t.Fatalf("%d rows, OpenFace %d", len(got.Rows), len(ref.Rows))
	}
	n := len(ref.Rows)
	var stats []auStats
	var table strings.Builder
	fmt.Fprintf(&table, "%s (%d frames), rounded CSV input vs OpenFace:\n", v.short, n)
	for j, name := range ref.Layout.IntensityAUs {
		a, b := make([]float64, n), make([]float64, n)
		varies := false
		for i := range ref.Rows {
			a[i], b[i] = got.Rows[i].Intensity[j], ref.Rows[i].Intensity[j]
			varies = varies || b[i] != b[0]
		}
		s := auStats{name: name, varies: varies, r: math.NaN()}
		for i := range a {
			s.mad += math.Abs(a[i] - b[i])
		}
		s.mad /= float64(n)
		var mean float64
		for i := range b {
			mean += b[i]
			s.maxDiff = math.Max(s.maxDiff, math.Abs(a[i]-b[i]))
		}
		mean /= float64(n)
		for i := range b {
			s.sd += (b[i] - mean) * (b[i] - mean)
		}
		s.sd = math.Sqrt(s.sd / float64(n))
		if varies {
			s.r = pearson(a, b)
		}
		stats = append(stats, s)
		fmt.Fprintf(&table, "  %s_r  r %.5f  MAD %.4f  max|diff| %.2f  (reference sd %.3f)\n", name, s.r, s.mad, s.maxDiff, s.sd)
	}
	agree, cells := 0, 0
	for j := range ref.Layout.OccurrenceAUs {
		for i := range ref.Rows {
			cells++
			if got.Rows[i].Occurrence[j] == ref.Rows[i].Occurrence[j] {
				agree++
			}
		}
	}
	occ := float64(agree) / float64(cells)
	fmt.Fprintf(&table, "  occurrence agreement %.4f%% (%d of %d)\n", 100*occ, agree, cells)

	var dPose [6]float64
	var d3D [3]float64
	var dLm, dParams float64
	poseCells, cells3D := 0, 0
	for i := range ref.Rows {
		g, w := got.Rows[i], ref.Rows[i]
		for k := range dPose {
			dPose[k] = math.Max(dPose[k], math.Abs(g.Pose[k]-w.Pose[k]))
			if g.Pose[k] != w.Pose[k] {
				poseCells++
			}
		}
		for k := range w.Landmarks3D {
			d3D[k/68] = math.Max(d3D[k/68], math.Abs(g.Landmarks3D[k]-w.Landmarks3D[k]))
			if g.Landmarks3D[k] != w.Landmarks3D[k] {
				cells3D++
			}
		}
		for k := range w.Landmarks2D {
			dLm = math.Max(dLm, math.Abs(g.Landmarks2D[k]-w.Landmarks2D[k]))
		}
		for k := range w.Global {
			dParams = math.Max(dParams, math.Abs(g.Global[k]-w.Global[k]))
		}
		for k := range w.Local {
			dParams = math.Max(dParams, math.Abs(g.Local[k]-w.Local[k]))
		}
	}
	fmt.Fprintf(&table, "  pose: %d of %d cells print differently, max |diff| Tx %.1f Ty %.1f Tz %.1f mm, Rx %.3f Ry %.3f Rz %.3f rad\n",
		poseCells, 6*n, dPose[0], dPose[1], dPose[2], dPose[3], dPose[4], dPose[5])
	fmt.Fprintf(&table, "  3D landmarks: %d of %d cells print differently, max |diff| X %.1f Y %.1f Z %.1f mm\n",
		cells3D, 204*n, d3D[0], d3D[1], d3D[2])

	var gazeSum, gazeMax float64
	gazeCells, gazeSame, angles := 0, 0, 0
	for i := range ref.Rows {
		g, w := got.Rows[i], ref.Rows[i]
		for k := range w.GazeAngle {
			d := math.Abs(g.GazeAngle[k]-w.GazeAngle[k]) * 180 / math.Pi
			gazeSum += d
			gazeMax = math.Max(gazeMax, d)
			angles++
		}
		for _, p := range [][2][]float64{
			{g.GazeDirection0[:], w.GazeDirection0[:]}, {g.GazeDirection1[:], w.GazeDirection1[:]},
			{g.GazeAngle[:], w.GazeAngle[:]}, {g.EyeLandmarks2D, w.EyeLandmarks2D}, {g.EyeLandmarks3D, w.EyeLandmarks3D},
		} {
			for k := range p[1] {
				gazeCells++
				if p[0][k] == p[1][k] {
					gazeSame++
				}
			}
		}
	}
	gazeMean := gazeSum / float64(max(1, angles))
	fmt.Fprintf(&table, "  gaze block: %d of %d cells print as OpenFace's, gaze angles off by %.3f° on average, %.3f° at most",
		gazeSame, gazeCells, gazeMean, gazeMax)
	return agreementReport{stats: stats, occ: occ, dPose: dPose, d3D: d3D, dLm: dLm, dParm: dParams,
		gazeMean: gazeMean, gazeMax: gazeMax, table: table.String()}
}

// auStats compares one AU column.
type auStats struct {
	name       string
	r, mad, sd float64
	maxDiff    float64
	varies     bool
}

func pearson(a, b []float64) float64 {
	n := float64(len(a))
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= n
	mb /= n
	var sab, saa, sbb float64
	for i := range a {
		da, db := a[i]-ma, b[i]-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	return sab / math.Sqrt(saa*sbb)
}

// TestRoundedCSVAgreement re-scores each video from its reference CSV
// alone (landmarks to 0.1 px, parameters to 3 decimals, confidence to 2) as
// a user re-scoring an OpenFace CSV would, through LandmarksFromCSV, and
// compares the printed values with OpenFace's. The pipeline itself is exact
// (TestFullPrecisionMatchesOpenFace); what remains is the landmark error
// LandmarksFromCSV could not recover (about 0.002 px RMS,
// TestLandmarkRecovery). For every AU whose reference varies Pearson's r
// must reach 0.995, every AU's mean absolute difference must stay ≤ 0.03,
// and the occurrences must agree on ≥ 99.5 % of the cells. The landmark and
// parameter columns must print as in the input; the pose and 3D landmarks
// are reported, and so is the gaze block, whose eye models
// LandmarksFromCSV recovers from the printed eye landmarks: the gaze
// angles must stay within 0.1° of OpenFace's on average and 0.5° at worst.
func TestRoundedCSVAgreement(t *testing.T) {
	m := testModels(t)
	for _, v := range []refVideo{v01, v02, v04} {
		t.Run(v.short, func(t *testing.T) {
			lms, ref := csvLandmarks(t, v)
			rep := agreement(t, m, v, lms, ref)
			stats, occ, dPose, d3D, dLm, dParams := rep.stats, rep.occ, rep.dPose, rep.d3D, rep.dLm, rep.dParm
			t.Log(rep.table)

			for _, s := range stats {
				if s.varies && !(s.r >= 0.995) {
					t.Errorf("%s_r (reference sd %.3f): Pearson r %.5f < 0.995", s.name, s.sd, s.r)
				}
				if s.mad > 0.03 {
					t.Errorf("%s_r: mean absolute difference %.5f > 0.03", s.name, s.mad)
				}
			}
			if occ < 0.995 {
				t.Errorf("occurrence agreement %.4f < 0.995", occ)
			}
			if dLm != 0 || dParams != 0 {
				t.Errorf("landmark or parameter columns changed: max |diff| %v, %v", dLm, dParams)
			}
			// Rounded parameters move the pose start and the 3D depth only
			// slightly; a gross error would show here.
			if dPose[0] > 2 || dPose[1] > 2 || dPose[2] > 10 || dPose[3] > 0.02 || dPose[4] > 0.02 || dPose[5] > 0.02 {
				t.Errorf("pose differs more than expected from rounding")
			}
			if d3D[0] > 2 || d3D[1] > 2 || d3D[2] > 10 {
				t.Errorf("3D landmarks differ more than expected from rounding")
			}
			if rep.gazeMean > 0.1 || rep.gazeMax > 0.5 {
				t.Errorf("gaze angles off by %.3f° on average, %.3f° at most; want ≤ 0.1° and ≤ 0.5°", rep.gazeMean, rep.gazeMax)
			}
		})
	}
}

// TestLandmarkRecovery checks LandmarksFromCSV's recovery of precision
// against OpenFace's full-precision landmark detector output: every row
// of the three videos is recovered, prints exactly as the CSV does, and
// its landmarks are within 0.003 px RMS (0.03 px at worst) of OpenFace's,
// where the printed values are 0.029 px RMS away.
func TestLandmarkRecovery(t *testing.T) {
	for _, v := range []refVideo{v01, v02, v04} {
		t.Run(v.short, func(t *testing.T) {
			got, f := csvLandmarks(t, v)
			printed, _ := printedLandmarks(t, v)
			full, _ := fullPrecLandmarks(t, v)
			if len(got) != len(full) {
				t.Fatalf("%d rows, full precision %d", len(got), len(full))
			}
			_, _, text := encodeRows(t, testModels(t), rowsOf(t, got))
			back, err := openfacecsv.Read(bytes.NewReader(text))
			if err != nil {
				t.Fatal(err)
			}
			var seGot, sePrinted, worst float64
			recovered, cells := 0, 0
			for i := range got {
				w, r := f.Rows[i], back.Rows[i]
				for k := range w.Landmarks2D {
					if r.Landmarks2D[k] != w.Landmarks2D[k] {
						t.Fatalf("frame %d landmark %d prints %v, CSV %v", i+1, k, r.Landmarks2D[k], w.Landmarks2D[k])
					}
				}
				if r.Global != w.Global || !slices.Equal(r.Local, w.Local) {
					t.Fatalf("frame %d: parameters print %v %v, CSV %v %v", i+1, r.Global, r.Local, w.Global, w.Local)
				}
				if !slices.Equal(got[i].Points, printed[i].Points) {
					recovered++
				}
				for k, x := range got[i].Points {
					e := float64(x - full[i].Points[k])
					seGot += e * e
					worst = math.Max(worst, math.Abs(e))
					e = float64(printed[i].Points[k] - full[i].Points[k])
					sePrinted += e * e
					cells++
				}
			}
			rms, rmsPrinted := math.Sqrt(seGot/float64(cells)), math.Sqrt(sePrinted/float64(cells))
			t.Logf("%d of %d rows recovered; landmark error RMS %.5f px (printed %.5f), max %.4f px", recovered, len(got), rms, rmsPrinted, worst)
			if recovered != len(got) {
				t.Errorf("%d of %d rows recovered", recovered, len(got))
			}
			if rms > 0.003 || worst > 0.03 {
				t.Errorf("landmark error RMS %.5f px, max %.4f px; want ≤ 0.003 and ≤ 0.03", rms, worst)
			}
		})
	}
}

// rowsOf turns landmark input into CSV rows holding just those values, to
// see how they print.
func rowsOf(t *testing.T, lms []Landmarks) []openfacecsv.Row {
	t.Helper()
	l := testModels(t).Layout()
	rows := make([]openfacecsv.Row, len(lms))
	for i, lm := range lms {
		r := openfacecsv.NewRow(l)
		r.Frame = i + 1
		for k, v := range lm.Points {
			r.Landmarks2D[k] = float64(v)
		}
		for k, v := range lm.Global {
			r.Global[k] = float64(v)
		}
		for k, v := range lm.Local {
			r.Local[k] = float64(v)
		}
		rows[i] = r
	}
	return rows
}

// TestNoFaceFramesMatchOpenFace re-scores e03, a video without any face,
// from its reference CSV: every frame is OpenFace's "no face found yet"
// state (all landmarks 0, p_scale 1, every other parameter 0, confidence 0).
// Every cell must print as OpenFace's except the pose of those frames: see
// the package documentation (solvePnP on 68 points at (0, 0) diverges, and
// its digits depend on the LAPACK build).
func TestNoFaceFramesMatchOpenFace(t *testing.T) {
	m := testModels(t)
	lms, ref := csvLandmarks(t, e03)
	for i, lm := range lms {
		if lm.Success || lm.DetectionSuccess {
			t.Fatalf("frame %d: reference says success", i)
		}
	}
	rows, err := ScoreVideo(context.Background(), m, sharedtest.Media(t, e03.media), lms)
	if err != nil {
		t.Fatal(err)
	}
	gotHead, got, _ := encodeRows(t, m, rows)
	wantHead, want := refText(t, e03)
	diffs := compareText(t, gotHead, got, wantHead, want)
	pose := 0
	for _, d := range diffs {
		zero := true
		for _, v := range ref.Rows[d.frame-1].Landmarks2D {
			zero = zero && v == 0
		}
		if strings.HasPrefix(d.col, "pose_") && zero {
			if pose == 0 {
				t.Logf("pose of a no-face frame (documented divergence): %v", d)
			}
			pose++
			continue
		}
		t.Errorf("%v", d)
	}
	t.Logf("%d frames × %d columns: %d cells differ, all of them pose_* of no-face frames", len(want), len(wantHead), pose)
}

// TestBadLandmarks checks that unusable landmark input becomes a failed
// frame, never a panic or a row that merely looks valid, and that its AUs
// are those of a frame the detector reported as failed.
func TestBadLandmarks(t *testing.T) {
	m := testModels(t)
	img, lms := firstFrames(t, 4)
	defer func() {
		for _, f := range img {
			f.Close()
		}
	}()
	good := lms[1]
	mutate := func(f func(*Landmarks)) Landmarks {
		l := good
		l.Points = append([]float32(nil), good.Points...)
		l.Local = append([]float32(nil), good.Local...)
		f(&l)
		return l
	}
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	eyes, err := m.eyesFromFace(good.Points)
	if err != nil {
		t.Fatal(err)
	}
	withEyes := func(f func(e *[2]Eye)) func(*Landmarks) {
		return func(l *Landmarks) {
			for i, e := range eyes {
				l.Eyes[i] = Eye{Points: append([]float32(nil), e.Points...), Global: e.Global, Local: append([]float32(nil), e.Local...)}
			}
			f(&l.Eyes)
		}
	}
	tests := []struct {
		name string
		in   Landmarks
		want Rejection
		keep bool // geometry columns written as given
	}{
		{"NaN landmark", mutate(func(l *Landmarks) { l.Points[30] = nan }), NonFinite, false},
		{"infinite scale", mutate(func(l *Landmarks) { l.Global[0] = inf }), NonFinite, false},
		{"NaN local parameter", mutate(func(l *Landmarks) { l.Local[3] = nan }), NonFinite, false},
		{"NaN confidence", mutate(func(l *Landmarks) { l.Confidence = nan }), NonFinite, false},
		{"zero scale", mutate(func(l *Landmarks) { l.Global[0] = 0 }), NonFinite, false},
		{"NaN eye landmark", mutate(withEyes(func(e *[2]Eye) { e[1].Points[3] = nan })), NonFinite, false},
		{"NaN eye parameter", mutate(withEyes(func(e *[2]Eye) { e[0].Local[9] = nan })), NonFinite, false},
		{"zero eye scale", mutate(withEyes(func(e *[2]Eye) { e[0].Global[0] = 0 })), NonFinite, false},
		{"all right of the image", mutate(func(l *Landmarks) {
			for i := 0; i < 68; i++ {
				l.Points[i] += 1000
			}
		}), OutOfFrame, true},
		{"all above the image", mutate(func(l *Landmarks) {
			for i := 68; i < 136; i++ {
				l.Points[i] -= 1000
			}
		}), OutOfFrame, true},
		{"all x zero", mutate(func(l *Landmarks) { clear(l.Points[:68]) }), Unfittable, true},
		{"every point the same", mutate(func(l *Landmarks) {
			for i := range l.Points {
				l.Points[i] = 100
			}
		}), Unfittable, true},
	}
	an := m.NewAnalyser()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := an.Analyse(img[1], tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if r.Rejected != tc.want || r.Success || r.AUSuccess || r.HOG != nil || r.AULocal != nil {
				t.Fatalf("rejected %v success %v AU success %v HOG %d, want %v and a failed frame",
					r.Rejected, r.Success, r.AUSuccess, len(r.HOG), tc.want)
			}
			if r.Gaze != [6]float32{} || r.GazeAngle != [2]float32{} {
				t.Fatalf("a failed frame with gaze %v %v", r.Gaze, r.GazeAngle)
			}
			if len(r.EyeLandmarks) != 112 || len(r.EyeLandmarks3D) != 168 {
				t.Fatalf("%d and %d eye landmark values", len(r.EyeLandmarks), len(r.EyeLandmarks3D))
			}
			if !tc.keep {
				for _, s := range [][]float32{r.Landmarks, r.Local, r.Landmarks3D, r.Pose[:], r.Global[:], {r.Confidence}, r.EyeLandmarks, r.EyeLandmarks3D} {
					for _, v := range s {
						if v != 0 {
							t.Fatalf("geometry not zeroed: %v", s)
						}
					}
				}
			} else if r.Landmarks[5] != tc.in.Points[5] || r.Global != tc.in.Global || r.EyeLandmarks3D[0] == 0 {
				t.Fatalf("geometry not kept")
			}
			// The frame goes through a Sequence like a failed detection.
			asFailed := good
			asFailed.Success, asFailed.DetectionSuccess = false, false
			want := scoreFrames(t, m, img, []Landmarks{lms[0], asFailed, lms[2], lms[3]})
			gotRows := scoreFrames(t, m, img, []Landmarks{lms[0], tc.in, lms[2], lms[3]})
			if gotRows[1].Success {
				t.Fatal("success written")
			}
			for i := range want {
				for j := range want[i].Intensity {
					if gotRows[i].Intensity[j] != want[i].Intensity[j] {
						t.Fatalf("frame %d AU %d: %v, with a failed detection %v", i, j, gotRows[i].Intensity[j], want[i].Intensity[j])
					}
				}
				for j := range want[i].Occurrence {
					if gotRows[i].Occurrence[j] != want[i].Occurrence[j] {
						t.Fatalf("frame %d AU occurrence %d differs from a failed detection", i, j)
					}
				}
			}
		})
	}

	// Caller errors.
	empty := gocv.NewMat()
	defer empty.Close()
	grey := gocv.NewMatWithSize(360, 480, gocv.MatTypeCV8UC1)
	defer grey.Close()
	for _, tc := range []struct {
		name string
		img  gocv.Mat
		in   Landmarks
		want error
	}{
		{"short landmarks", img[0], Landmarks{Points: good.Points[:100], Local: good.Local}, ErrInput},
		{"no local parameters", img[0], Landmarks{Points: good.Points}, ErrInput},
		{"one eye model", img[0], mutate(withEyes(func(e *[2]Eye) { e[1] = Eye{} })), ErrInput},
		{"short eye landmarks", img[0], mutate(withEyes(func(e *[2]Eye) { e[0].Points = e[0].Points[:54] })), ErrInput},
		{"eye without parameters", img[0], mutate(withEyes(func(e *[2]Eye) { e[1].Local = nil })), ErrInput},
		{"empty image", empty, good, ErrImage},
		{"grey image", grey, good, ErrImage},
	} {
		if _, err := an.Analyse(tc.img, tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestSequenceRefusesBadResults checks that a corrupted FrameResult is not
// recorded.
func TestSequenceRefusesBadResults(t *testing.T) {
	m := testModels(t)
	img, lms := firstFrames(t, 1)
	defer img[0].Close()
	r, err := m.Analyse(img[0], lms[0])
	if err != nil {
		t.Fatal(err)
	}
	seq, err := NewSequence(m, video.Info{Kind: video.Video, FPS: video.Rational{Num: 30, Den: 1}})
	if err != nil {
		t.Fatal(err)
	}
	bad := []func(*FrameResult){
		func(r *FrameResult) { r.HOG = r.HOG[:10] },
		func(r *FrameResult) { r.HOG[7] = float32(math.NaN()) },
		func(r *FrameResult) { r.AULocal = nil },
		func(r *FrameResult) { r.Landmarks = r.Landmarks[:3] },
		func(r *FrameResult) { r.Landmarks3D = nil },
		func(r *FrameResult) { r.Pose[2] = float32(math.Inf(-1)) },
		func(r *FrameResult) { r.Local = append(r.Local, 1) },
		func(r *FrameResult) { r.EyeLandmarks = r.EyeLandmarks[:56] },
		func(r *FrameResult) { r.EyeLandmarks3D = nil },
		func(r *FrameResult) { r.EyeLandmarks3D = append(append([]float32(nil), r.EyeLandmarks3D...), 1) },
		func(r *FrameResult) { r.Gaze[4] = float32(math.NaN()) },
		func(r *FrameResult) { r.GazeAngle[1] = float32(math.Inf(1)) },
		func(r *FrameResult) {
			r.EyeLandmarks = append([]float32(nil), r.EyeLandmarks...)
			r.EyeLandmarks[9] = float32(math.NaN())
		},
	}
	for i, f := range bad {
		c := r
		c.HOG = append([]float32(nil), r.HOG...)
		f(&c)
		if err := seq.Add(c); !errors.Is(err, ErrFrame) {
			t.Errorf("case %d: error %v, want ErrFrame", i, err)
		}
	}
	if seq.Frames() != 0 {
		t.Fatalf("%d frames recorded", seq.Frames())
	}
	if _, err := seq.Finish(context.Background()); err == nil {
		t.Error("Finish without frames succeeded")
	}
	if err := seq.Add(r); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSequence(m, video.Info{}); err == nil {
		t.Error("NewSequence accepted an Info without kind")
	}
}

// TestScoreVideoErrors checks the video-level failures.
func TestScoreVideoErrors(t *testing.T) {
	m := testModels(t)
	ctx := context.Background()
	empty := sharedtest.Media(t, "bad/b01_zero_bytes.mp4")
	if _, err := ScoreVideo(ctx, m, empty, make([]Landmarks, 1)); !errors.Is(err, video.ErrEmpty) {
		t.Errorf("empty file: %v, want video.ErrEmpty", err)
	}
	random := sharedtest.Media(t, "bad/b03_random_bytes_1MiB.mp4")
	if _, err := ScoreVideo(ctx, m, random, make([]Landmarks, 1)); !errors.Is(err, video.ErrNotMedia) {
		t.Errorf("random bytes: %v, want video.ErrNotMedia", err)
	}
	lms, _ := fullPrecLandmarks(t, v01)
	path := sharedtest.Media(t, v01.media)
	for _, n := range []int{0, 10, len(lms) + 1} {
		in := lms
		if n <= len(lms) {
			in = lms[:n]
		} else {
			in = append(append([]Landmarks(nil), lms...), lms[0])
		}
		_, err := ScoreVideo(ctx, m, path, in)
		if !errors.Is(err, ErrFrameCount) {
			t.Errorf("%d landmark sets for %d frames: %v, want ErrFrameCount", n, len(lms), err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ScoreVideo(cancelled, m, path, lms); err == nil {
		t.Error("cancelled context: no error")
	}
	// A malformed landmark set is a caller error that stops the video.
	bad := append([]Landmarks(nil), lms...)
	bad[5].Local = nil
	if _, err := ScoreVideo(ctx, m, path, bad); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "frame 5") {
		t.Errorf("malformed landmarks: %v", err)
	}
}

// TestLandmarksFromCSV checks the conversion of CSV rows, as printed and
// with recovered precision, and which rows are left as printed.
func TestLandmarksFromCSV(t *testing.T) {
	m := testModels(t)
	ctx := context.Background()
	lms, f := printedLandmarks(t, v02)
	r := f.Rows[98] // 0-based frame 98: tracking and re-detection failed
	lm := lms[98]
	if lm.Success || lm.DetectionSuccess || lm.Confidence != float32(r.Confidence) {
		t.Fatalf("frame 98: %+v", lm)
	}
	if lm.Points[0] != float32(r.Landmarks2D[0]) || lm.Points[68] != float32(r.Landmarks2D[68]) ||
		lm.Global[4] != float32(r.Global[4]) || lm.Local[33] != float32(r.Local[33]) {
		t.Fatal("values not copied")
	}
	if !lms[0].Success || !lms[0].DetectionSuccess {
		t.Fatal("frame 0 not successful")
	}
	rec, err := m.LandmarksFromCSV(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rec {
		p := lms[i]
		if rec[i].Success != p.Success || rec[i].DetectionSuccess != p.DetectionSuccess || rec[i].Confidence != p.Confidence ||
			!slices.Equal(rec[i].Local, p.Local) {
			t.Fatalf("frame %d: recovery changed more than landmarks and rigid parameters", i)
		}
		// The eye models come from the CSV's eye landmarks; as printed,
		// they are left to the analysis.
		for _, e := range rec[i].Eyes {
			if len(e.Points) != 56 || len(e.Local) != 10 || !finite32(e.Points) {
				t.Fatalf("frame %d: recovered eye model of %d landmark values, %d parameters", i, len(e.Points), len(e.Local))
			}
		}
		if len(p.Eyes[0].Points)+len(p.Eyes[1].Points) != 0 {
			t.Fatalf("frame %d: LandmarksAsPrinted set eye models", i)
		}
	}
	f.Layout.Gaze = false
	rec, err = m.LandmarksFromCSV(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec[0].Eyes[0].Points) != 0 {
		t.Error("eye models recovered from a CSV without eye landmarks")
	}
	f.Layout.Gaze = true

	// Rows that are no projection of their parameters stay as printed: a
	// landmark moved by 0.3 px, and the all-zero landmarks of a frame
	// before any face was found (p_scale 1, other parameters 0).
	f.Rows[5].Landmarks2D[40] += 0.3
	f.Rows[6].Landmarks2D = make([]float64, len(r.Landmarks2D))
	f.Rows[6].Global = [6]float64{1, 0, 0, 0, 0, 0}
	clear(f.Rows[6].Local)
	lms, err = LandmarksAsPrinted(f)
	if err != nil {
		t.Fatal(err)
	}
	rec, err = m.LandmarksFromCSV(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{5, 6} {
		if !slices.Equal(rec[i].Points, lms[i].Points) || rec[i].Global != lms[i].Global {
			t.Errorf("frame %d: not left as printed", i)
		}
	}
	if slices.Equal(rec[7].Points, lms[7].Points) {
		t.Error("frame 7: not recovered")
	}

	// A first detection the validator rejected: success 1, certainty 0.72.
	f.Rows[0].Confidence = 0.72
	for _, read := range []func(*openfacecsv.File) ([]Landmarks, error){
		LandmarksAsPrinted,
		func(f *openfacecsv.File) ([]Landmarks, error) { return m.LandmarksFromCSV(ctx, f) },
	} {
		lms, err := read(f)
		if err != nil {
			t.Fatal(err)
		}
		if !lms[0].Success || lms[0].DetectionSuccess {
			t.Fatalf("certainty 0.72: success %v, detection success %v", lms[0].Success, lms[0].DetectionSuccess)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.LandmarksFromCSV(cancelled, f); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	f.Rows[3].Frame = 7
	if _, err := m.LandmarksFromCSV(ctx, f); !errors.Is(err, ErrInput) {
		t.Errorf("out-of-order frames: %v", err)
	}
	f.Layout.Params = false
	if _, err := LandmarksAsPrinted(f); !errors.Is(err, ErrInput) {
		t.Errorf("no parameter columns: %v", err)
	}
	if _, err := m.LandmarksFromCSV(ctx, nil); !errors.Is(err, ErrInput) {
		t.Errorf("no CSV: %v", err)
	}
}

// TestWriteCSV checks the atomic file output against the reference file,
// byte for byte (v01, whose eye models OpenFace does not fit to the
// picture, so the analysis's own derivation of them is exact).
func TestWriteCSV(t *testing.T) {
	m := testModels(t)
	lms, _ := fullPrecLandmarks(t, v01)
	seq, err := AnalyseVideo(context.Background(), m, sharedtest.Media(t, v01.media), lms)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir() + "/v01.csv"
	if err := seq.WriteCSV(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(refCSVPath(t, v01))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, want) {
		t.Errorf("written CSV (%d bytes) differs from the reference (%d bytes)", len(data), len(want))
	}
	if len(m.Layout().Columns()) != 714 {
		t.Errorf("%d columns, want 714", len(m.Layout().Columns()))
	}
}
