package app

import (
	"bytes"
	"context"
	"errors"
	"facemirror/app/job"
	"facemirror/internal/sharedtest"
	"facemirror/pipeline/fhog"
	"facemirror/pipeline/openfacecsv"
	"facemirror/pipeline/video"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// Every broken or face-less file of media/bad in one command, with the
// HOG file and the aligned faces asked for: a specific error and no output
// for files that cannot be read, a CSV whose rows all say success 0 (a
// HOG frame flagged -1 for each, an empty aligned folder) for valid videos
// without a usable face, all three with the face for the awkward but
// valid ones, and exit status 1.
func TestProcessBadInputs(t *testing.T) {
	useRealHelpers(t)
	bad := sharedtest.Media(t, "bad")
	entries, err := os.ReadDir(bad)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		files = append(files, filepath.Join(bad, e.Name()))
	}
	// What each file must give: a video error, or a CSV without or with
	// a face.
	const noFace, face = "no face", "face"
	want := map[string]any{
		"b01": video.ErrEmpty,
		"b02": video.ErrTruncated,
		"b03": video.ErrNotMedia,
		"b04": video.ErrNotMedia,
		"b05": video.ErrNoVideoStream,
		"b06": noFace,
		"b07": noFace,
		"b08": face,
		"b09": face,
		"b10": face,
		"b12": video.ErrTruncated,
		"b13": video.ErrEmpty,
		"b14": video.ErrNotMedia,
	}
	if len(files) != len(want) {
		t.Fatalf("media/bad holds %d files, the test knows %d", len(files), len(want))
	}
	dir := t.TempDir()
	ctx := testContext(t, 5*time.Minute)
	code, stdout, stderr := runCLI(t, ctx, append([]string{"process", "--mode", "aus", "--hog", "--aligned", "--out", dir, "--workers", "2"}, files...)...)
	if code != job.ExitFailed {
		t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, job.ExitFailed, stdout, stderr)
	}
	var csvs []string
	for _, f := range files {
		short := filepath.Base(f)[:3]
		csvPath := job.CSVPath(f, dir)
		_, statErr := os.Stat(csvPath)
		switch w := want[short].(type) {
		case error:
			probeErr := probeError(t, f)
			if !errors.Is(probeErr, w) {
				t.Errorf("%s: probe error %v, want %v", short, probeErr, w)
			}
			if line := "facemirror process: " + probeErr.Error() + " (nothing written)"; !strings.Contains(stderr, line) {
				t.Errorf("%s: stderr lacks %q", short, line)
			}
			if statErr == nil {
				t.Errorf("%s: a CSV was written for a file that cannot be read", short)
			}
		case string:
			if statErr != nil {
				t.Errorf("%s: no CSV: %v\nstderr:\n%s", short, statErr, stderr)
				continue
			}
			csvs = append(csvs, filepath.Base(csvPath))
			got, err := openfacecsv.ReadFile(csvPath)
			if err != nil {
				t.Fatal(err)
			}
			info, err := video.Probe(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			faces := 0
			for _, row := range got.Rows {
				if row.Success {
					faces++
				}
			}
			if len(got.Rows) != info.Frames {
				t.Errorf("%s: %d rows for %d frames", short, len(got.Rows), info.Frames)
			}
			if (w == noFace) != (faces == 0) || (w == face && faces < len(got.Rows)/2) {
				t.Errorf("%s: face in %d of %d frames, want %s", short, faces, len(got.Rows), w)
			}
			stem := strings.TrimSuffix(csvPath, ".csv")
			hf, err := os.Open(stem + ".hog")
			if err != nil {
				t.Fatal(err)
			}
			hogs, err := fhog.ReadHOGFile(hf)
			hf.Close()
			if err != nil {
				t.Fatalf("%s: %v", short, err)
			}
			tracked := 0
			for i, h := range hogs {
				if h.Success {
					tracked++
				}
				if i < len(got.Rows) && h.Success != got.Rows[i].Success {
					t.Errorf("%s: HOG frame %d flagged %v, the CSV says success %v", short, i+1, h.Success, got.Rows[i].Success)
				}
			}
			faceFiles, err := os.ReadDir(stem + "_aligned")
			if err != nil {
				t.Fatal(err)
			}
			if len(hogs) != len(got.Rows) || tracked != faces || len(faceFiles) != faces {
				t.Errorf("%s: %d HOG frames (%d tracked) and %d aligned faces for %d rows, %d with a face",
					short, len(hogs), tracked, len(faceFiles), len(got.Rows), faces)
			}
			if line := fmt.Sprintf("%s: %d frames, %v", f, info.Frames, job.ErrNoFace); w == noFace && !strings.Contains(stdout, line) {
				t.Errorf("%s: stdout lacks %q:\n%s", short, line, stdout)
			}
		}
	}
	// Only the finished CSVs and their manifests: no temporary or
	// partial files.
	for _, c := range append([]string(nil), csvs...) {
		stem := strings.TrimSuffix(c, ".csv")
		csvs = append(csvs, stem+"_facemirror.json", stem+".hog", stem+"_aligned")
	}
	var names []string
	left, _ := os.ReadDir(dir)
	for _, e := range left {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	sort.Strings(csvs)
	if strings.Join(names, "|") != strings.Join(csvs, "|") {
		t.Errorf("output folder holds %q, want exactly %q", names, csvs)
	}
	if !strings.Contains(stdout, "13 files: 3 with a face, 2 without a face in any frame, 8 failed") {
		t.Errorf("no summary on stdout:\n%s", stdout)
	}
}

// The exit status tells a clean run (0) from one where some file has no
// face at all (3) and one where frames of some file could not be decoded
// (4, which outranks 3); the same output named twice is refused for the
// second.
func TestProcessExitStatuses(t *testing.T) {
	useRealHelpers(t)
	oneFrame := sharedtest.Media(t, "bad/b10_one_frame_real_face_480x360.mp4")
	tiny := sharedtest.Media(t, "bad/b07_tiny_32x32_real_face_3s.mp4")
	cut := cutOffCopy(t)
	ctx := testContext(t, 5*time.Minute)
	cases := []struct {
		files  []string
		status int
		stdout []string
		stderr []string
	}{
		{[]string{oneFrame}, 0,
			[]string{oneFrame + ": 1 frames, face tracked in 1 -> "}, nil},
		{[]string{tiny}, job.ExitNoFace,
			[]string{tiny + ": 90 frames, no face found in any frame (every row has success 0) -> "}, nil},
		{[]string{cut, tiny}, job.ExitDamaged,
			[]string{cut + ": 139 of 472 frames decoded (damaged file), face tracked in ",
				"2 files: 1 with a face, 1 without a face in any frame, 0 failed, 1 damaged (frames missing)"},
			[]string{"facemirror process: " + cut + ": the file is cut off: frames 140-472 (5.80-19.68 s) that its container lists are missing"}},
		{[]string{oneFrame, oneFrame}, job.ExitFailed,
			[]string{"2 files: 1 with a face, 0 without a face in any frame, 1 failed"},
			[]string{"facemirror process: b10_one_frame_real_face_480x360.mp4: " + job.ErrDuplicateOutput.Error()}},
	}
	for _, tc := range cases {
		dir := t.TempDir()
		code, stdout, stderr := runCLI(t, ctx, append([]string{"process", "--out", dir, "--workers", "1"}, tc.files...)...)
		if code != tc.status {
			t.Errorf("%v: exit status %d, want %d\nstderr:\n%s", tc.files, code, tc.status, stderr)
		}
		for _, s := range tc.stdout {
			if !strings.Contains(stdout, s) {
				t.Errorf("%v: stdout lacks %q:\n%s", tc.files, s, stdout)
			}
		}
		for _, s := range tc.stderr {
			if !strings.Contains(stderr, s) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.files, s, stderr)
			}
		}
	}
}

func TestProcessUsageErrors(t *testing.T) {
	ctx := testContext(t, time.Minute)
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"process"}, "usage: facemirror process"},
		{[]string{"process", "--mode", "gaze", "a.mp4"}, `--mode "gaze": want aus, mirror, full`},
		{[]string{"process", "--video-codec", "vp9", "a.mp4"}, `--video-codec: unknown video codec "vp9": use one of h264, ffv1`},
		{[]string{"process", "--workers", "0", "a.mp4"}, "--workers 0: want at least 1"},
		{[]string{"process", "--ep", "cpu", "a.mp4"}, "--ep: process has no execution provider to choose"},
		{[]string{"process", "--mode", "full", "-ep=cuda", "a.mp4"}, "every number it writes comes from exact CPU code"},
		{[]string{"process", "--epoch", "a.mp4"}, "flag provided but not defined: -epoch"},
		{[]string{"process", "--whole-videos=maybe", "a.mp4"}, `invalid boolean value "maybe" for -whole-videos`},
		{[]string{"process", "--split", "--whole-videos", "a.mp4"}, "--split and --whole-videos contradict each other"},
		{[]string{"process", "--mode", "mirror", "--hog", "a.mp4"}, "--hog and --aligned write OpenFace's files for the source, in mode aus only (not mirror)"},
		{[]string{"process", "--mode", "full", "--aligned", "a.mp4"}, "in mode aus only (not full)"},
		{[]string{"process", "--bogus", "a.mp4"}, "flag provided but not defined: -bogus"},
	}
	for _, tc := range cases {
		code, _, stderr := runCLI(t, ctx, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: status %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.msg)
		}
	}
	// An output folder that cannot be made fails the command at once.
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, ctx, "process", "--out", notDir, "a.mp4"); code != job.ExitFailed || !strings.Contains(stderr, "create the output folder") {
		t.Errorf("--out naming a file: status %d, stderr %q", code, stderr)
	}
	if !IsCommand("process") {
		t.Error(`IsCommand("process") is false`)
	}
	var usage bytes.Buffer
	Usage(&usage)
	if !strings.Contains(usage.String(), "facemirror "+processUsage) {
		t.Errorf("usage lacks the process command:\n%s", usage.String())
	}
}

// probeError returns the error video.Probe gives for a file.
func probeError(t *testing.T, path string) error {
	t.Helper()
	_, err := video.Probe(context.Background(), path)
	if err == nil {
		t.Fatalf("%s probes fine", path)
	}
	return err
}

// Every file of media/bad and media/edge through modes mirror and full in
// one command each: the files that cannot be read get their specific
// error and leave nothing behind, the valid ones without a usable face get
// no mirrored videos and say so, and the others get every output.
func TestMirrorModesBadAndEdgeInputs(t *testing.T) {
	useRealHelpers(t)
	var files []string
	for _, sub := range []string{"bad", "edge"} {
		d := sharedtest.Media(t, sub)
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			files = append(files, filepath.Join(d, e.Name()))
		}
	}
	const noFace, face = "no face", "face"
	want := map[string]any{
		"b01": video.ErrEmpty, "b02": video.ErrTruncated, "b03": video.ErrNotMedia, "b04": video.ErrNotMedia,
		"b05": video.ErrNoVideoStream, "b06": noFace, "b07": noFace, "b08": face, "b09": face, "b10": face,
		"b12": video.ErrTruncated, "b13": video.ErrEmpty, "b14": video.ErrNotMedia,
		"e01": face, "e02": face, "e03": noFace,
	}
	if len(files) != len(want) {
		t.Fatalf("media/bad and media/edge hold %d files, the test knows %d", len(files), len(want))
	}
	for _, mode := range []string{"mirror", "full"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			ctx := testContext(t, 10*time.Minute)
			code, stdout, stderr := runCLI(t, ctx, append([]string{"process", "--mode", mode, "--out", dir, "--workers", "2"}, files...)...)
			if code != job.ExitFailed {
				t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, job.ExitFailed, stdout, stderr)
			}
			for _, f := range files {
				short := filepath.Base(f)[:3]
				stem := filepath.Join(dir, strings.TrimSuffix(filepath.Base(f), filepath.Ext(f)))
				videos := 0
				for _, kind := range []string{"right_mirrored", "left_mirrored", "debug"} {
					if _, err := os.Stat(stem + "_" + kind + ".mp4"); err == nil {
						videos++
					}
				}
				_, manifestErr := os.Stat(stem + "_facemirror.json")
				switch w := want[short].(type) {
				case error:
					if line := "facemirror process: " + probeError(t, f).Error() + " (nothing written)"; !strings.Contains(stderr, line) {
						t.Errorf("%s: stderr lacks %q:\n%s", short, line, stderr)
					}
					if videos > 0 || manifestErr == nil {
						t.Errorf("%s: outputs written for an unreadable file", short)
					}
				case string:
					if manifestErr != nil || (w == face && videos != 3) || (w == noFace && videos != 0) {
						t.Errorf("%s (%s): %d mirrored videos, manifest %v", short, w, videos, manifestErr)
					}
					if w == noFace && !strings.Contains(stdout, filepath.Base(f)+": ") {
						t.Errorf("%s: stdout does not report it:\n%s", short, stdout)
					}
				}
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("left behind: %s", e.Name())
				}
			}
			if !strings.Contains(stdout, "16 files: 5 with a face, 3 without a face in any frame, 8 failed") {
				t.Errorf("no summary on stdout:\n%s", stdout)
			}
		})
	}
}
