package clnf

import (
	"context"
	"io"
	"math"
	"reflect"
	"testing"

	"facemirror/internal/sharedtest"
	"facemirror/pipeline/video"

	"gocv.io/x/gocv"
)

// TestTrackVideos tracks whole videos with MTCNN re-detection and compares
// every frame with OpenFace's FeatureExtraction state: landmarks, success,
// confidence and the frames where the detector ran.
func TestTrackVideos(t *testing.T) {
	m := testModel(t)
	det := testDetector(t)
	for _, short := range []string{"v01", "v02", "v04"} {
		t.Run(short, func(t *testing.T) {
			ref := readTable(t, sharedtest.Reference(t, "fullprec/"+testVideos[short]+"_frames.csv"))
			rd, err := video.Open(context.Background(), sharedtest.Media(t, "videos/"+testVideos[short]+".mp4"))
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			mat := gocv.NewMat()
			defer mat.Close()
			tr := NewTracker(m, det)
			var sum, worst float64
			worstFrame, frames, successDiff, confDiff, detDiff := 0, 0, 0, 0, 0
			var detFrames []int
			for {
				f, err := rd.ReadInto(&mat)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if f.Index >= len(ref.rows) {
					t.Fatalf("frame %d beyond the reference's %d", f.Index, len(ref.rows))
				}
				row := ref.rows[f.Index]
				r, err := tr.Track(context.Background(), mat)
				if err != nil {
					t.Fatalf("frame %d: %v", f.Index, err)
				}
				d := meanDist(r.Landmarks[:], ref.landmarks(row, 68))
				sum += d
				if d > worst {
					worst, worstFrame = d, f.Index
				}
				if r.Success != (ref.str(row, "success") == "1") || r.DetectionSuccess != (ref.str(row, "clnf_detection_success") == "1") {
					successDiff++
					t.Errorf("frame %d: success %v (model %v), want %s (%s)", f.Index, r.Success, r.DetectionSuccess, ref.str(row, "success"), ref.str(row, "clnf_detection_success"))
				}
				if r.Confidence != ref.f32(row, "detection_certainty") {
					confDiff++
					t.Logf("frame %d: confidence %v, want %s (%.2f px off)", f.Index, r.Confidence, ref.str(row, "detection_certainty"), d)
				}
				if r.DetectorRan != (ref.str(row, "mtcnn_ran") == "1") {
					detDiff++
					t.Errorf("frame %d: detector ran %v, want %s", f.Index, r.DetectorRan, ref.str(row, "mtcnn_ran"))
				}
				if r.DetectorRan {
					detFrames = append(detFrames, f.Index)
				}
				frames++
			}
			if frames != len(ref.rows) {
				t.Errorf("%d frames, the reference has %d", frames, len(ref.rows))
			}
			mean := sum / math.Max(1, float64(frames))
			t.Logf("%d frames: mean landmark error %.2e px, worst frame %d at %.2e px; detector ran at %v; success/confidence/detector disagreements %d/%d/%d",
				frames, mean, worstFrame, worst, detFrames, successDiff, confDiff, detDiff)
			// Detection (ws = 11 Sigma included) and every tracked frame
			// reproduce OpenFace bit for bit, so the whole video must.
			if worst != 0 {
				t.Errorf("landmarks differ from OpenFace (mean %.3g px, worst frame %d at %.3g px)", mean, worstFrame, worst)
			}
			if confDiff != 0 {
				t.Errorf("confidence differs on %d of %d frames", confDiff, frames)
			}
		})
	}
}

// TestTrackFramesFromReference starts every tracked frame (previous frame
// successful, no detection) from OpenFace's own state after the previous
// frame and requires OpenFace's parameters after this frame bit for bit:
// the main fit at window sizes 9 and 7, the hierarchical part models and
// the main-model re-fit (v02 and v04) together reproduce OpenFace exactly.
func TestTrackFramesFromReference(t *testing.T) {
	m := testModel(t)
	nm := m.main.pdm.NumModes()
	for _, short := range []string{"v01", "v02", "v04"} {
		t.Run(short, func(t *testing.T) {
			ref := readTable(t, sharedtest.Reference(t, "fullprec/"+testVideos[short]+"_frames.csv"))
			frames := grayFrames(t, short, len(ref.rows))
			work := testFrame(frames[0]).work
			exact, total := 0, 0
			for f := 1; f < len(ref.rows); f++ {
				prev, row := ref.rows[f-1], ref.rows[f]
				if ref.str(row, "mtcnn_ran") == "1" || ref.str(prev, "success") != "1" {
					continue
				}
				r, err := m.detectLandmarks(context.Background(), &frame{gray: frames[f], work: work}, frameParams(ref, prev, nm), m.main.set.windowsSmall, ref.f32(prev, "model_likelihood"), nil)
				if err != nil {
					t.Fatalf("frame %d: %v", f, err)
				}
				total++
				want := frameParams(ref, row, nm)
				if d := maxParamDiff(r.p, want); d != 0 {
					t.Errorf("frame %d: parameters differ by up to %.3g", f, d)
					continue
				}
				if d := maxDist(r.landmarks, ref.landmarks(row, 68)); d != 0 {
					t.Errorf("frame %d: landmarks differ by up to %.3g px", f, d)
					continue
				}
				exact++
			}
			t.Logf("%d of %d tracked frames bit-exact", exact, total)
		})
	}
}

// frameParams reads the CLNF parameters (clnf_p_*) of a frames.csv row.
func frameParams(tb *table, row []string, m int) params { return tb.paramsAt(row, "clnf_p_", m) }

// TestTrackAhead tracks videos twice, frame by frame with Track and with
// TrackAhead told the next frame, and requires the same Results bit for
// bit: through tracking with the part models (v04), a fit the validator
// rejects and a detection replaces in the same frame (v02's frame 94, after
// which the fit made ahead must be thrown away), and a face that leaves
// the picture (e02).
func TestTrackAhead(t *testing.T) {
	m := testModel(t)
	det := testDetector(t)
	for _, path := range []string{"videos/" + testVideos["v04"] + ".mp4", "videos/" + testVideos["v02"] + ".mp4", "edge/e02_face_then_noface_hevc_vfr_audiofirst_960x540.mov"} {
		t.Run(path, func(t *testing.T) {
			rd, err := video.Open(context.Background(), sharedtest.Media(t, path))
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			mats := [2]gocv.Mat{gocv.NewMat(), gocv.NewMat()}
			defer mats[0].Close()
			defer mats[1].Close()
			plain, ahead := NewTracker(m, det), NewTracker(m, det)
			read := func(i int) bool {
				if _, err := rd.ReadInto(&mats[i%2]); err == io.EOF {
					return false
				} else if err != nil {
					t.Fatal(err)
				}
				return true
			}
			rejected := 0
			for i, more := 0, read(0); more; i++ {
				more = read(i + 1)
				next := gocv.Mat{}
				if more {
					next = mats[(i+1)%2]
				}
				want, err := plain.Track(context.Background(), mats[i%2])
				if err != nil {
					t.Fatal(err)
				}
				got, err := ahead.TrackAhead(context.Background(), mats[i%2], next)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("frame %d: TrackAhead differs from Track", i)
				}
				if !want.DetectionSuccess && !want.DetectorRan {
					rejected++
				}
			}
			t.Logf("same results; %d frames without a detection where the fit was not a success", rejected)
		})
	}
}
