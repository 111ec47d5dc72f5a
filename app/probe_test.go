package app

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"facemirror/app/helper"
	"facemirror/app/job"
	"facemirror/internal/sharedtest"
	"facemirror/pipeline/video"
)

func TestProbeDescribesFiles(t *testing.T) {
	cases := []struct {
		file string
		want ProbeReport // File and Error are not compared
	}{
		{"videos/v01_talking_frontal_glasses_480x360.mp4", ProbeReport{Kind: "video", Frames: 300, FPS: "30/1", FPSValue: 30, Duration: 10,
			Width: 480, Height: 360, StoredWidth: 480, StoredHeight: 360, Codec: "avc1"}},
		{"videos/v10_grid_talking_frontal_mpeg1_360x288.mpg", ProbeReport{Kind: "video", Frames: 75, FPS: "25/1", FPSValue: 25, Duration: 3,
			Width: 360, Height: 288, StoredWidth: 360, StoredHeight: 288, Codec: "mpeg"}},
		// A phone video stored sideways: reported upright, with the rotation.
		{"derived/d01_portrait_rot90_meta_h264_stored1280x720.mp4", ProbeReport{Kind: "video", Frames: 352, FPS: "30/1", FPSValue: 30, Duration: 11.733333333,
			Width: 720, Height: 1280, StoredWidth: 1280, StoredHeight: 720, Rotation: 270, Codec: "avc1"}},
		// Edit list: 98 packets, 95 frames shown.
		{"edge/e03_noface_animation_caminandes_960x540.mp4", ProbeReport{Kind: "video", Frames: 95, FPS: "150528/6359", FPSValue: 150528.0 / 6359, Duration: 3.931,
			Width: 960, Height: 540, StoredWidth: 960, StoredHeight: 540, Codec: "avc1"}},
		{"edge/e02_face_then_noface_hevc_vfr_audiofirst_960x540.mov", ProbeReport{Kind: "video", Frames: 169, FPS: "519168/19667", FPSValue: 519168.0 / 19667, Duration: 6.402,
			Width: 960, Height: 540, StoredWidth: 960, StoredHeight: 540, Codec: "hvc1"}},
		{"images/i01_single_face_smile_572x562.jpg", ProbeReport{Kind: "image", Frames: 1, FPS: "0/1", Width: 572, Height: 562, StoredWidth: 572, StoredHeight: 562, Codec: "jpeg"}},
		{"bad/b08 Gesicht Ünïcødé 顔テスト – café 😀 (1).mp4", ProbeReport{Kind: "video", Frames: 72, FPS: "30/1", FPSValue: 30, Duration: 2.4,
			Width: 640, Height: 360, StoredWidth: 640, StoredHeight: 360, Codec: "avc1"}},
	}
	var files []string
	for _, tc := range cases {
		files = append(files, sharedtest.Media(t, tc.file))
	}
	code, reps, stderr := probeJSON(t, testContext(t, 2*time.Minute), files...)
	if code != 0 || stderr != "" {
		t.Errorf("exit status %d, stderr %q", code, stderr)
	}
	if len(reps) != len(cases) {
		t.Fatalf("%d reports for %d files", len(reps), len(cases))
	}
	for i, tc := range cases {
		got := reps[i]
		if got.File != files[i] || got.Error != "" {
			t.Errorf("%s: report for %q, error %q", tc.file, got.File, got.Error)
		}
		got.File, tc.want.File = "", ""
		// Durations are exact to the millisecond of the container's clock.
		if d := got.Duration - tc.want.Duration; d > 0.0005 || d < -0.0005 {
			t.Errorf("%s: duration %.6f s, want %.6f s", tc.file, got.Duration, tc.want.Duration)
		}
		got.Duration = tc.want.Duration
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.file, got, tc.want)
		}
	}
}

func TestProbeHumanOutput(t *testing.T) {
	v01 := sharedtest.Media(t, "videos/v01_talking_frontal_glasses_480x360.mp4")
	d01 := sharedtest.Media(t, "derived/d01_portrait_rot90_meta_h264_stored1280x720.mp4")
	b01 := sharedtest.Media(t, "bad/b01_zero_bytes.mp4")
	code, out, stderr := runCLI(t, testContext(t, time.Minute), "probe", v01, d01, b01)
	want := v01 + `
  kind      video
  frames    300
  fps       30/1 (30.000)
  duration  10.000 s
  size      480x360
  rotation  0°
  codec     avc1

` + d01 + `
  kind      video
  frames    352
  fps       30/1 (30.000)
  duration  11.733 s
  size      720x1280
  rotation  270° (stored 1280x720)
  codec     avc1

` + b01 + `
  error     b01_zero_bytes.mp4: the file is empty (0 bytes)

3 files: 2 fine, 1 failed
`
	if code != 1 || out != want || stderr != "" {
		t.Errorf("exit status %d, stderr %q, output:\n%s\nwant:\n%s", code, stderr, out, want)
	}
}

// Every file of media/bad gets its specific message, the valid ones are
// described, one failure never stops the others, and the status says some
// failed.
func TestProbeBadFiles(t *testing.T) {
	want := map[string]struct {
		code string
		err  error // the sentinel whose text follows the file name; nil: fine
	}{
		"b01_zero_bytes.mp4":                        {"empty", video.ErrEmpty},
		"b02a_truncated_30pct_moov_at_end.mp4":      {"truncated", video.ErrTruncated},
		"b03_random_bytes_1MiB.mp4":                 {"not_media", video.ErrNotMedia},
		"b04_text_file.mov":                         {"not_media", video.ErrNotMedia},
		"b05_audio_only_sine_440hz_5s.mp4":          {"no_video_stream", video.ErrNoVideoStream},
		"b06_valid_no_face_testsrc_640x480_5s.mp4":  {},
		"b07_tiny_32x32_real_face_3s.mp4":           {},
		"b08 Gesicht Ünïcødé 顔テスト – café 😀 (1).mp4": {},
		"b09_vfr_real_face_30_10_15_30fps.mp4":      {},
		"b10_one_frame_real_face_480x360.mp4":       {},
		"b12_truncated_jpeg_skimage_400B.jpg":       {"truncated", video.ErrTruncated},
		"b13_zero_bytes.jpg":                        {"empty", video.ErrEmpty},
		"b14_text_named.png":                        {"not_media", video.ErrNotMedia},
	}
	dir := sharedtest.Media(t, "bad")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		if _, ok := want[e.Name()]; !ok {
			t.Errorf("media/bad/%s has no expectation in this test", e.Name())
			continue
		}
		files = append(files, filepath.Join(dir, e.Name()))
	}
	files = append(files, filepath.Join(dir, "no such file.mp4"))

	code, reps, _ := probeJSON(t, testContext(t, 2*time.Minute), files...)
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if len(reps) != len(files) {
		t.Fatalf("%d reports for %d files", len(reps), len(files))
	}
	for i, r := range reps {
		name := filepath.Base(files[i])
		if r.File != files[i] {
			t.Errorf("report %d is for %s, want %s", i, r.File, files[i])
		}
		w, known := want[name]
		switch {
		case !known: // the missing file
			if r.ErrorCode != "not_found" || !strings.HasPrefix(r.Error, name+": ") {
				t.Errorf("%s: %q (%s)", name, r.Error, r.ErrorCode)
			}
		case w.err == nil:
			if r.Error != "" || r.Frames == 0 || r.Kind != "video" {
				t.Errorf("%s: valid video reported as %+v", name, r)
			}
		default:
			if r.ErrorCode != w.code || !strings.HasPrefix(r.Error, name+": "+w.err.Error()) || r.Kind != "" {
				t.Errorf("%s: error %q (%s), want %q... (%s)", name, r.Error, r.ErrorCode, name+": "+w.err.Error(), w.code)
			}
		}
	}
}

// probe --faces runs the detector in helpers: v01's box is OpenFace's, a
// video without a face and one too small for the detector fail with their
// own messages, and the others are unaffected.
func TestProbeFaces(t *testing.T) {
	useRealHelpers(t)
	v01 := sharedtest.Media(t, "videos/v01_talking_frontal_glasses_480x360.mp4")
	b06 := sharedtest.Media(t, "bad/b06_valid_no_face_testsrc_640x480_5s.mp4")
	b07 := sharedtest.Media(t, "bad/b07_tiny_32x32_real_face_3s.mp4")
	b10 := sharedtest.Media(t, "bad/b10_one_frame_real_face_480x360.mp4")
	b03 := sharedtest.Media(t, "bad/b03_random_bytes_1MiB.mp4")
	ctx := testContext(t, 5*time.Minute)
	code, reps, stderr := probeJSON(t, ctx, "--faces", "--ep", "cpu", v01, b06, b07, b10, b03)
	if code != 1 {
		t.Errorf("exit status %d, want 1; stderr:\n%s", code, stderr)
	}
	if len(reps) != 5 {
		t.Fatalf("%d reports", len(reps))
	}

	ref := readMTCNNReference(t, "v01_talking_frontal_glasses_480x360")
	v := reps[0]
	if v.Error != "" || len(v.Faces) != 5 || v.Runtime == nil || v.Runtime.EP != "cpu" {
		t.Fatalf("v01: %+v", v)
	}
	for i, wantFrame := range []int{0, 75, 150, 224, 299} {
		f := v.Faces[i]
		if f.Frame != wantFrame || !f.Found || f.Count != 1 {
			t.Errorf("v01 sample %d: %+v, want a face on frame %d", i, f, wantFrame)
			continue
		}
		r, ok := ref[f.Frame]
		if !ok {
			continue // the reference samples every 30th frame and the last
		}
		d := max(diff(f.Box.X, r.box.X), diff(f.Box.Y, r.box.Y), diff(f.Box.W, r.box.W), diff(f.Box.H, r.box.H))
		if d > boxTolerance || diff(f.Confidence, r.confidence) > confidenceTolerance {
			t.Errorf("v01 frame %d: box %+v (%.6f), OpenFace %+v (%.6f)", f.Frame, *f.Box, f.Confidence, r.box, r.confidence)
		}
	}

	checks := []struct {
		rep        ProbeReport
		code, text string
	}{
		{reps[1], "no_face", "no face found (looked at 5 frames: 0, 37, 75, 112, 149)"},
		{reps[2], helper.CodeTooSmall, "video too small for face detection (32x32; the detector needs at least 60 px)"},
		{reps[4], "not_media", "b03_random_bytes_1MiB.mp4: not a video or image file"},
	}
	for _, c := range checks {
		if c.rep.ErrorCode != c.code || c.rep.Error != c.text {
			t.Errorf("%s: %q (%s), want %q (%s)", filepath.Base(c.rep.File), c.rep.Error, c.rep.ErrorCode, c.text, c.code)
		}
	}
	if f := reps[1].Faces; len(f) != 5 || f[0].Found {
		t.Errorf("b06 samples %+v", f)
	}
	if b := reps[3]; b.Error != "" || len(b.Faces) != 1 || !b.Faces[0].Found {
		t.Errorf("one-frame video: %+v", b)
	}
}

func TestProbeFacesHumanOutput(t *testing.T) {
	useRealHelpers(t)
	b10 := sharedtest.Media(t, "bad/b10_one_frame_real_face_480x360.mp4")
	b07 := sharedtest.Media(t, "bad/b07_tiny_32x32_real_face_3s.mp4")
	code, out, stderr := runCLI(t, testContext(t, 2*time.Minute), "probe", "--faces", b10, "--ep=cpu", b07)
	want := b10 + `
  kind      video
  frames    1
  fps       30/1 (30.000)
  duration  0.033 s
  size      480x360
  rotation  0°
  codec     avc1
  faces      frame       time        x        y    width   height  confidence
                 0    0.000 s    214.5    111.9     86.8     84.8    0.999998
  detector  MTCNN on ONNX Runtime 1.24.3 (cpu)

` + b07 + `
  kind      video
  frames    90
  fps       30/1 (30.000)
  duration  3.000 s
  size      32x32
  rotation  0°
  codec     avc1
  error     video too small for face detection (32x32; the detector needs at least 60 px)

2 files: 1 fine, 1 failed
`
	if code != 1 || out != want || stderr != "" {
		t.Errorf("exit status %d, stderr %q, output:\n%s\nwant:\n%s", code, stderr, out, want)
	}
}

func TestProbeUsageErrors(t *testing.T) {
	ctx := testContext(t, time.Minute)
	cases := []struct {
		args   []string
		stderr string
	}{
		{[]string{"probe"}, "usage: facemirror " + probeUsage + "\n"},
		{[]string{"probe", "--ep", "webgpu", "x.mp4"}, `facemirror probe: --ep "webgpu": want one of auto, cpu, coreml, cuda` + "\n"},
		{[]string{"probe", "--nope", "x.mp4"}, "flag provided but not defined: -nope\n"},
		{[]string{"frobnicate"}, `facemirror: unknown command "frobnicate"` + "\n"},
		{[]string{"worker", "--ep", "webgpu"}, `facemirror worker: --ep "webgpu": want one of auto, cpu, coreml, cuda` + "\n"},
		{[]string{"version", "extra"}, `facemirror version: unexpected argument "extra"` + "\n"},
	}
	for _, tc := range cases {
		code, out, stderr := runCLI(t, ctx, tc.args...)
		if code != 2 || out != "" || !strings.HasPrefix(stderr, tc.stderr) {
			t.Errorf("%v: status %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, out, stderr, tc.stderr)
		}
	}
}

func TestIsCommand(t *testing.T) {
	for name, want := range map[string]bool{
		"probe": true, "version": true, "models": true, "worker": true, "help": true,
		"video.mp4": false, "": false, "ui": false,
	} {
		if IsCommand(name) != want {
			t.Errorf("IsCommand(%q) = %v", name, !want)
		}
	}
}

// A damaged copy is probed like process reads it: the frames that decode
// against those its container lists, which are lost and when, and exit
// status 4 (job.ExitDamaged).
func TestProbeDamagedFile(t *testing.T) {
	cut := cutOffCopy(t)
	ctx := testContext(t, time.Minute)
	code, reps, stderr := probeJSON(t, ctx, cut)
	if code != job.ExitDamaged {
		t.Errorf("exit status %d, want %d; stderr:\n%s", code, job.ExitDamaged, stderr)
	}
	want := []ProbeLost{{First: 140, Last: 472, Start: 5.797458333, End: 19.685, Tail: true}}
	if r := reps[0]; r.Frames != 139 || r.Listed != 472 || !slices.Equal(r.Lost, want) {
		t.Errorf("frames %d of %d listed, lost %+v; want 139 of 472, %+v", r.Frames, r.Listed, r.Lost, want)
	}
	code, out, _ := runCLI(t, ctx, "probe", cut)
	for _, s := range []string{"frames    139 of the 472 listed decode", "lost      frames 140-472 (5.797 s-19.685 s): missing: the file is cut off"} {
		if !strings.Contains(out, s) {
			t.Errorf("probe's report lacks %q:\n%s", s, out)
		}
	}
	if code != job.ExitDamaged {
		t.Errorf("exit status %d without --json, want %d", code, job.ExitDamaged)
	}
}
