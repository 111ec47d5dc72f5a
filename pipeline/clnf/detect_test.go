package clnf

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"sync"
	"testing"

	"facemirror/internal/sharedtest"
	"facemirror/models/cnn"
	"facemirror/pipeline/mtcnn"
	"facemirror/pipeline/pdm"
	"facemirror/pipeline/video"

	"gocv.io/x/gocv"
)

// TestDetectFromBoxAgainstTrace runs the frame-0 initialisation of v01 and
// v04 from OpenFace's MTCNN box: all 11 rotation hypotheses (each one's
// box placement, likelihood and validator certainty), the hypothesis
// selection and the final landmarks.
func TestDetectFromBoxAgainstTrace(t *testing.T) {
	m := testModel(t)
	md := m.main.pdm
	n, nm := md.NumPoints(), md.NumModes()
	for _, short := range []string{"v01", "v04"} {
		t.Run(short, func(t *testing.T) {
			frames := grayFrames(t, short, 1)
			scales := readTable(t, sharedtest.Reference(t, fmt.Sprintf("fullprec/%s_clnf_frame0_scales.csv", short)))
			ref := readTable(t, sharedtest.Reference(t, fmt.Sprintf("fullprec/%s_frames.csv", testVideos[short])))
			row0 := ref.rows[0]
			box := pdm.Box{X: ref.f32(row0, "mtcnn_x"), Y: ref.f32(row0, "mtcnn_y"), W: ref.f32(row0, "mtcnn_w"), H: ref.f32(row0, "mtcnn_h")}
			rec := &recorder{}
			r, err := m.detectFromBox(context.Background(), testFrame(frames[0]), box, -10, rec)
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.done) != len(hypotheses) {
				t.Fatalf("%d hypotheses ran, want %d", len(rec.done), len(hypotheses))
			}
			selected := -1
			for h := range hypotheses {
				hs := fmt.Sprint(h)
				init := scales.where("hypothesis", hs, "stage", "init")[0]
				if d := maxParamDiff(rec.hyp[h], scales.params(init, nm)); d != 0 {
					t.Errorf("hypothesis %d: box initialisation differs by %g", h, d)
				}
				v := scales.where("hypothesis", hs, "stage", "validated")[0]
				if scales.str(v, "selected") == "1" {
					selected = h
				}
				got := rec.done[h]
				wantCert := scales.f32(v, "detection_certainty")
				wantLik := scales.f32(v, "model_likelihood")
				d := meanDist(got.landmarks, scales.landmarks(v, n))
				t.Logf("hypothesis %d: landmarks %.2e px (max %.2e), likelihood %.6f want %.6f, certainty %.4f want %.4f",
					h, d, maxDist(got.landmarks, scales.landmarks(v, n)), got.likelihood, wantLik, got.certainty, wantCert)
				if got.certainty != wantCert {
					t.Errorf("hypothesis %d: certainty %v, want %v", h, got.certainty, wantCert)
				}
				if d != 0 || got.likelihood != wantLik {
					t.Errorf("hypothesis %d: mean landmark error %.3g px, likelihood %v (want %v)", h, d, got.likelihood, wantLik)
				}
			}
			best := 0
			for h, d := range rec.done {
				if d.likelihood > rec.done[best].likelihood {
					best = h
				}
			}
			if best != selected {
				t.Errorf("selected hypothesis %d, OpenFace %d", best, selected)
			}
			want := ref.landmarks(row0, n)
			d := meanDist(r.landmarks, want)
			t.Logf("final: mean %.2e px, max %.2e px, certainty %v", d, maxDist(r.landmarks, want), r.certainty)
			if d != 0 {
				t.Errorf("final mean landmark error %.3g px", d)
			}
			if r.certainty != ref.f32(row0, "detection_certainty") {
				t.Errorf("certainty %v, want %s", r.certainty, ref.str(row0, "detection_certainty"))
			}
		})
	}
}

var (
	detOnce sync.Once
	detVal  *mtcnn.Detector
	detErr  error
)

// testDetector is the MTCNN detector on the plain-Go networks.
func testDetector(t testing.TB) FaceDetector {
	t.Helper()
	dir := filepath.Join(sharedtest.Models(t), "model", "mtcnn_detector")
	detOnce.Do(func() {
		var nets [3]*cnn.Net
		for i, name := range []string{"PNet.dat", "RNet.dat", "ONet.dat"} {
			if nets[i], detErr = cnn.Load(filepath.Join(dir, name)); detErr != nil {
				return
			}
		}
		detVal = mtcnn.New(nets[0], nets[1], nets[2], mtcnn.DefaultOptions())
	})
	if detErr != nil {
		t.Fatal(detErr)
	}
	return MTCNN{Detector: detVal}
}

// TestFirstFrameEndToEnd tracks frame 0 of every video with a reference
// (MTCNN detection, 11 hypotheses, parts, validator) and compares the
// landmarks with OpenFace's own DetectLandmarksInVideo on that frame.
func TestFirstFrameEndToEnd(t *testing.T) {
	m := testModel(t)
	det := testDetector(t)
	check := readTable(t, sharedtest.Reference(t, "mtcnn/clnf_frame0_check.csv"))
	files := map[string]string{
		"v01_talking_frontal_glasses_480x360":              "videos/v01_talking_frontal_glasses_480x360.mp4",
		"v02_emotions_sad_to_laughing_640x360_pexels":      "videos/v02_emotions_sad_to_laughing_640x360_pexels.mp4",
		"v04_eyeclosure_cheekpuff_smile_glasses_512x480":   "videos/v04_eyeclosure_cheekpuff_smile_glasses_512x480.mp4",
		"v10_grid_talking_frontal_mpeg1_360x288":           "videos/v10_grid_talking_frontal_mpeg1_360x288.mpg",
		"e01_neutral_to_smile_2.4s_mp3audio_640x360":       "edge/e01_neutral_to_smile_2.4s_mp3audio_640x360.mp4",
		"e02_face_then_noface_hevc_vfr_audiofirst_960x540": "edge/e02_face_then_noface_hevc_vfr_audiofirst_960x540.mov",
	}
	for _, row := range check.rows {
		name := check.str(row, "video")
		t.Run(name, func(t *testing.T) {
			rd, err := video.Open(context.Background(), sharedtest.Media(t, files[name]))
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			f, err := rd.Read()
			if err != nil {
				t.Fatal(err)
			}
			defer f.Mat.Close()
			tr := NewTracker(m, det)
			r, err := tr.Track(context.Background(), f.Mat)
			if err != nil {
				t.Fatal(err)
			}
			want := check.landmarks(row, 68)
			got := r.Landmarks[:]
			var worst float64
			for i := range got {
				worst = max(worst, abs64(float64(got[i]-want[i])))
			}
			d := meanDist(got, want)
			t.Logf("mean %.2e px, largest coordinate difference %.2e px, success %v, confidence %.4f", d, worst, r.Success, r.Confidence)
			if worst != 0 {
				t.Errorf("landmarks differ from OpenFace's (mean %.3g px, largest coordinate difference %.3g px)", d, worst)
			}
			if r.Success != (check.str(row, "success") == "1") {
				t.Errorf("success %v, want %s", r.Success, check.str(row, "success"))
			}
			// The hypotheses were fitted on all cores; one after another
			// they give the same result.
			serial := NewTracker(m, det)
			if len(serial.spare) == 0 && runtime.GOMAXPROCS(0) > 1 {
				t.Errorf("a tracker on %d cores has no spare scratch memory: its hypotheses were fitted one after another", runtime.GOMAXPROCS(0))
			}
			serial.spare = nil
			rs, err := serial.Track(context.Background(), f.Mat)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rs, r) {
				t.Errorf("the hypotheses fitted one after another give %+v, on all cores %+v", rs, r)
			}
		})
	}
	_ = gocv.NewMat
}
