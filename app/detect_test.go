package app

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"facemirror/app/helper"
	"facemirror/app/worker"
	"facemirror/internal/sharedtest"
	"facemirror/pipeline/onnxrt"
)

// testLog forwards helper stderr to the test log.
type testLog struct {
	t  *testing.T
	mu sync.Mutex
}

func (l *testLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// referenceMedia maps the names in reference/mtcnn/mtcnn_boxes.csv to the
// shared media files.
var referenceMedia = []struct{ name, file string }{
	{"v01_talking_frontal_glasses_480x360", "videos/v01_talking_frontal_glasses_480x360.mp4"},
	{"v02_emotions_sad_to_laughing_640x360_pexels", "videos/v02_emotions_sad_to_laughing_640x360_pexels.mp4"},
	{"v04_eyeclosure_cheekpuff_smile_glasses_512x480", "videos/v04_eyeclosure_cheekpuff_smile_glasses_512x480.mp4"},
	{"v10_grid_talking_frontal_mpeg1_360x288", "videos/v10_grid_talking_frontal_mpeg1_360x288.mpg"},
	{"e01_neutral_to_smile_2.4s_mp3audio_640x360", "edge/e01_neutral_to_smile_2.4s_mp3audio_640x360.mp4"},
	{"e02_face_then_noface_hevc_vfr_audiofirst_960x540", "edge/e02_face_then_noface_hevc_vfr_audiofirst_960x540.mov"},
	{"e03_noface_animation_caminandes_960x540", "edge/e03_noface_animation_caminandes_960x540.mp4"},
	{"i01_single_face_smile_572x562", "images/i01_single_face_smile_572x562.jpg"},
	{"i03_posed_surprise_512x512", "images/i03_posed_surprise_512x512.jpg"},
	{"i06_astronaut_eileen_collins_512x512", "images/i06_astronaut_eileen_collins_512x512.png"},
}

// Tolerances against OpenFace's MTCNN. ONNX Runtime and OpenBLAS sum in
// different orders, so network outputs agree to about 1e-6, not bit for bit
// (reference/mtcnn/README.md); the box is a float function of them.
const (
	boxTolerance        = 1e-3 // px; measured at most 6.1e-5
	confidenceTolerance = 2e-6 // measured at most 4.8e-7, the CSV's %.6f rounding
)

// The detect requests, run through helper processes and a Pool, give the
// boxes OpenFace 2.2's MTCNN gave on every reference frame (72 frames of 7
// videos and 3 images), and no face where it found none.
func TestDetectMatchesOpenFace(t *testing.T) {
	useRealHelpers(t)
	ctx := testContext(t, 10*time.Minute)
	pool := helper.Config{EP: "cpu", Stderr: &testLog{t: t}}.NewPool(ctx, 2)
	defer pool.Close()

	type outcome struct {
		name    string
		frames  int
		maxBox  float64
		maxConf float64
		err     error
	}
	outcomes := make([]outcome, len(referenceMedia))
	var wg sync.WaitGroup
	for i, m := range referenceMedia {
		ref := readMTCNNReference(t, m.name)
		path := sharedtest.Media(t, m.file)
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := &outcomes[i]
			o.name = m.name
			var frames []int
			for f := range ref {
				frames = append(frames, f)
			}
			slices.Sort(frames)
			var got []helper.FrameFaces
			res, err := helper.Detect(ctx, pool, helper.DetectRequest{Path: path, Frames: frames}, func(f helper.FrameFaces) error {
				got = append(got, f)
				return nil
			})
			if err != nil {
				o.err = err
				return
			}
			if res.Analysed != len(frames) || len(res.Missing) > 0 || len(got) != len(frames) {
				o.err = fmt.Errorf("analysed %d, streamed %d, missing %v; want %d frames", res.Analysed, len(got), res.Missing, len(frames))
				return
			}
			var errs []error
			for k, f := range got {
				if f.Index != frames[k] {
					errs = append(errs, fmt.Errorf("event %d is frame %d, want %d (frames must stream in order)", k, f.Index, frames[k]))
					continue
				}
				r := ref[f.Index]
				face, ok := f.Face()
				if len(f.Faces) != r.faces || ok != (r.faces > 0) {
					errs = append(errs, fmt.Errorf("frame %d: %d faces, OpenFace %d", f.Index, len(f.Faces), r.faces))
					continue
				}
				if !ok {
					continue
				}
				o.frames++
				d := max(diff(face.Box.X, r.box.X), diff(face.Box.Y, r.box.Y), diff(face.Box.W, r.box.W), diff(face.Box.H, r.box.H))
				c := diff(face.Confidence, r.confidence)
				o.maxBox, o.maxConf = max(o.maxBox, d), max(o.maxConf, c)
				if d > boxTolerance || c > confidenceTolerance {
					errs = append(errs, fmt.Errorf("frame %d: box %+v confidence %.6f, OpenFace %+v %.6f", f.Index, face.Box, face.Confidence, r.box, r.confidence))
				}
			}
			o.err = errors.Join(errs...)
		}()
	}
	wg.Wait()
	total := 0
	for _, o := range outcomes {
		total += o.frames
		t.Logf("%-50s %2d faces  max |box diff| %.2g px  max |confidence diff| %.2g", o.name, o.frames, o.maxBox, o.maxConf)
		if o.err != nil {
			t.Errorf("%s: %v", o.name, o.err)
		}
	}
	if total != 63 {
		t.Errorf("compared %d faces, want the reference's 63", total)
	}
}

func diff(a, b float32) float64 { return math.Abs(float64(a) - float64(b)) }

func TestDetectRequests(t *testing.T) {
	useRealHelpers(t)
	ctx := testContext(t, 5*time.Minute)
	c, err := worker.Start(ctx, helper.Config{EP: "cpu", Stderr: &testLog{t: t}}.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v01 := sharedtest.Media(t, "videos/v01_talking_frontal_glasses_480x360.mp4")

	t.Run("info", func(t *testing.T) {
		info, err := helper.QueryRuntime(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if info.Version != onnxrt.ORTVersion || info.EP != onnxrt.EPCPU || !slices.Contains(info.Providers, onnxrt.EPCPU) || info.Library != ortLibrary(t) {
			t.Errorf("runtime %+v", info)
		}
	})

	t.Run("every k-th frame", func(t *testing.T) {
		var idx []int
		res, err := helper.Detect(ctx, c, helper.DetectRequest{Path: v01, Every: 100}, func(f helper.FrameFaces) error {
			idx = append(idx, f.Index)
			if want := time.Duration(math.Round(float64(f.Index) * 1e9 / 30)); f.Time != want {
				t.Errorf("frame %d at %v, want %v", f.Index, f.Time, want)
			}
			return nil
		})
		if err != nil || res.Analysed != 3 || fmt.Sprint(idx) != "[0 100 200]" || res.Missing != nil {
			t.Errorf("every 100: %v %+v frames %v", err, res, idx)
		}
	})

	t.Run("first frame and missing frames", func(t *testing.T) {
		res, err := helper.Detect(ctx, c, helper.DetectRequest{Path: v01}, nil)
		if err != nil || res.Analysed != 1 {
			t.Errorf("first frame: %v %+v", err, res)
		}
		res, err = helper.Detect(ctx, c, helper.DetectRequest{Path: v01, Frames: []int{1000, 299, 0, 300, 299}}, nil)
		if err != nil || res.Analysed != 2 || fmt.Sprint(res.Missing) != "[300 1000]" {
			t.Errorf("frames past the end: %v %+v", err, res)
		}
	})

	t.Run("file errors", func(t *testing.T) {
		cases := []struct {
			file, code, msg string
		}{
			{"bad/b07_tiny_32x32_real_face_3s.mp4", helper.CodeTooSmall, "video too small for face detection (32x32; the detector needs at least 60 px)"},
			{"bad/b01_zero_bytes.mp4", helper.CodeBadInput, "b01_zero_bytes.mp4: the file is empty (0 bytes)"},
			{"bad/b05_audio_only_sine_440hz_5s.mp4", helper.CodeBadInput, "b05_audio_only_sine_440hz_5s.mp4: contains audio but no video (MP4/MOV file with only a sound track)"},
		}
		for _, tc := range cases {
			_, err := helper.Detect(ctx, c, helper.DetectRequest{Path: sharedtest.Media(t, tc.file)}, nil)
			if worker.RemoteCode(err) != tc.code || err.Error() != tc.msg {
				t.Errorf("%s: %v (code %q), want %q (%s)", tc.file, err, worker.RemoteCode(err), tc.msg, tc.code)
			}
		}
		_, err := helper.Detect(ctx, c, helper.DetectRequest{Path: v01, Frames: []int{-1}}, nil)
		if worker.RemoteCode(err) != worker.CodeBadRequest {
			t.Errorf("negative frame: %v", err)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		n := 0
		began := time.Now()
		_, err := helper.Detect(cctx, c, helper.DetectRequest{Path: v01, Every: 1}, func(helper.FrameFaces) error {
			if n++; n == 2 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) || time.Since(began) > 10*time.Second {
			t.Errorf("cancelled detect: %v after %v", err, time.Since(began))
		}
		if _, err := helper.Detect(ctx, c, helper.DetectRequest{Path: v01}, nil); err != nil {
			t.Errorf("helper after a cancelled request: %v", err)
		}
	})

	if err := c.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// A helper that cannot load its runtime or models says so precisely, and
// lives on.
func TestDetectBrokenInstallation(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	v01 := sharedtest.Media(t, "videos/v01_talking_frontal_glasses_480x360.mp4")
	empty := t.TempDir()
	cases := []struct {
		name string
		cfg  helper.Config
		code string
		msg  string
	}{
		{"no library", helper.Config{ORTLibrary: filepath.Join(empty, "libonnxruntime.so.1"), ModelsDir: installedModels(t)}, helper.CodeRuntime, "ONNX Runtime library"},
		{"no models", helper.Config{ORTLibrary: ortLibrary(t), ModelsDir: empty}, helper.CodeModels, "model file onnx/mtcnn_pnet.onnx is missing"},
		{"unknown provider on this machine", helper.Config{EP: "coreml", ORTLibrary: ortLibrary(t), ModelsDir: installedModels(t)}, helper.CodeRuntime, "onnxrt: execution provider unavailable: coreml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Stderr = &testLog{t: t}
			c, err := worker.Start(ctx, tc.cfg.Options())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = helper.Detect(ctx, c, helper.DetectRequest{Path: v01}, nil)
			if worker.RemoteCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %v (code %q), want code %q containing %q", err, worker.RemoteCode(err), tc.code, tc.msg)
			}
			if c.Err() != nil {
				t.Errorf("the helper died: %v", c.Err())
			}
		})
	}
}
