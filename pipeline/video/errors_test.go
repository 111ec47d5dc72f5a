package video

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"facemirror/internal/sharedtest"
)

func TestMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gone.mp4")
	for name, call := range map[string]func() error{
		"Probe":       func() error { _, err := Probe(context.Background(), path); return err },
		"ProbeHeader": func() error { _, err := ProbeHeader(context.Background(), path); return err },
		"Open":        func() error { _, err := Open(context.Background(), path); return err },
	} {
		err := call()
		if !errors.Is(err, os.ErrNotExist) || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %v, want os.ErrNotExist", name, err)
		}
		if err != nil && err.Error() != "gone.mp4: no such file or directory" {
			t.Errorf("%s: message %q", name, err)
		}
	}
}

func TestNotAFile(t *testing.T) {
	for _, path := range []string{t.TempDir(), os.DevNull} {
		_, err := Probe(context.Background(), path)
		if !errors.Is(err, ErrNotFile) {
			t.Errorf("%s: %v, want ErrNotFile", path, err)
		}
	}
}

// TestRelativePathWithColon guards against FFmpeg reading "clip:1.mp4" as
// the URL of a protocol named "clip".
func TestRelativePathWithColon(t *testing.T) {
	src := sharedtest.Media(t, "bad/b10_one_frame_real_face_480x360.mp4")
	dir := t.TempDir()
	if err := os.Symlink(src, filepath.Join(dir, "clip:1.mp4")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	info, err := Probe(context.Background(), "clip:1.mp4")
	if err != nil || info.Frames != 1 {
		t.Fatalf("Probe(clip:1.mp4): %v, %d frames", err, info.Frames)
	}
}

// writeCut writes the first keep bytes of a shared media file to dir.
func writeCut(t *testing.T, rel, dir string, keep int64) string {
	t.Helper()
	data, err := os.ReadFile(sharedtest.Media(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, filepath.Base(rel))
	if err := os.WriteFile(path, data[:keep], 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCutVideoWithIndex cuts v02, whose moov box comes first: the index
// survives, so frames decode up to the cut and Info says Truncated; cut
// right after the index, nothing decodes and it is ErrTruncated.
func TestCutVideoWithIndex(t *testing.T) {
	const rel = "videos/v02_emotions_sad_to_laughing_640x360_pexels.mp4"
	st, err := os.Stat(sharedtest.Media(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := writeCut(t, rel, dir, st.Size()/2)
	info, err := Probe(context.Background(), path)
	if err != nil {
		t.Fatalf("half of v02: %v", err)
	}
	if !info.Truncated || info.Frames <= 100 || info.Frames >= 472 {
		t.Errorf("half of v02: Truncated=%v with %d frames; want true and between 100 and 472", info.Truncated, info.Frames)
	}
	t.Logf("half of v02 decodes %d of 472 frames", info.Frames)
	if h, _ := ProbeHeader(context.Background(), path); !h.Truncated {
		t.Error("ProbeHeader misses the cut")
	}

	// v02's moov box is the second box; keep ftyp, moov and mdat's header.
	iso := mustReadISO(t, path)
	if !iso.hasMoov {
		t.Fatal("no moov in the first half of v02")
	}
	path = writeCut(t, rel, dir, moovEnd(t, path)+16)
	_, err = Probe(context.Background(), path)
	if !errors.Is(err, ErrTruncated) {
		t.Errorf("v02 cut after its index: %v, want ErrTruncated", err)
	}
	r, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open of v02 cut after its index: %v (the index alone opens)", err)
	}
	defer r.Close()
	if _, err := r.Read(); !errors.Is(err, ErrTruncated) {
		t.Errorf("first Read of v02 cut after its index: %v, want ErrTruncated", err)
	}
}

func mustReadISO(t *testing.T, path string) *isoFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	iso, ok, err := readISO(f, st.Size())
	if err != nil || !ok {
		t.Fatalf("readISO(%s): %v %v", path, ok, err)
	}
	return iso
}

// moovEnd returns the offset just past the moov box.
func moovEnd(t *testing.T, path string) int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(data), "moov")
	if i < 4 {
		t.Fatal("no moov box")
	}
	size := int64(data[i-4])<<24 | int64(data[i-3])<<16 | int64(data[i-2])<<8 | int64(data[i-1])
	return int64(i-4) + size
}

// TestCancellation checks that a cancelled or expiring context stops
// Probe, Read and Seek promptly with the context's error.
func TestCancellation(t *testing.T) {
	path := sharedtest.Media(t, "derived/d04_emotions_upscaled_1920x1080_19.7s.mp4")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Probe(ctx, path); !errors.Is(err, context.Canceled) {
		t.Errorf("Probe with a cancelled context: %v", err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Probe(ctx, path)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Probe of d04 with a 100 ms deadline: %v", err)
	}
	// One 1080p frame decodes in a few ms; allow generous slack on a
	// loaded machine.
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Probe took %v to notice the deadline", el)
	}

	ctx, cancel = context.WithCancel(context.Background())
	r, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	f.Mat.Close()
	cancel()
	if _, err := r.Read(); !errors.Is(err, context.Canceled) {
		t.Errorf("Read after cancel: %v", err)
	}
	if err := r.Seek(200); !errors.Is(err, context.Canceled) {
		t.Errorf("Seek after cancel: %v", err)
	}
	if _, err := r.Read(); err == io.EOF || err == nil {
		t.Errorf("Read after cancel returned %v", err)
	}
}

func TestUseAfterClose(t *testing.T) {
	r, err := Open(context.Background(), sharedtest.Media(t, "bad/b10_one_frame_real_face_480x360.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	r.Close()
	if _, err := r.Read(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Read after Close: %v, want os.ErrClosed", err)
	}
	if err := r.Seek(0); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Seek after Close: %v, want os.ErrClosed", err)
	}
}

// noiseChildEnv marks the child process of TestNoLibraryNoise.
const noiseChildEnv = "FACEMIRROR_VIDEO_NOISE_CHILD"

// TestNoLibraryNoise runs Probe on every bad file and a good video in a
// fresh process whose environment has no OPENCV_* settings, and checks that
// FFmpeg and OpenCV printed nothing on stderr: the package's own
// initialisation must silence them before the first capture.
func TestNoLibraryNoise(t *testing.T) {
	files := []string{"videos/v01_talking_frontal_glasses_480x360.mp4", "edge/e02_face_then_noface_hevc_vfr_audiofirst_960x540.mov"}
	for rel, want := range mediaExpectations {
		if want.err != nil {
			files = append(files, rel)
		}
	}
	if os.Getenv(noiseChildEnv) == "1" {
		for _, rel := range files {
			Probe(context.Background(), sharedtest.Media(t, rel))
		}
		return
	}
	for _, rel := range files {
		sharedtest.Media(t, rel) // fail here, not in the child, when material is missing
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoLibraryNoise$", "-test.count=1")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPENCV_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, noiseChildEnv+"=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%s", err, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("FFmpeg/OpenCV wrote to stderr:\n%s", stderr.String())
	}
}

// TestClassifyByContent checks the wording for files FFmpeg refuses, from
// synthetic files whose first bytes name what they are.
func TestClassifyByContent(t *testing.T) {
	dir := t.TempDir()
	ftyp := func(brand string) []byte {
		b := []byte{0, 0, 0, 24, 'f', 't', 'y', 'p'}
		b = append(b, brand...)
		b = append(b, 0, 0, 0, 0)
		return append(b, "mif1"+brand...)
	}
	mp3 := append([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"), make([]byte, 2000)...)
	mkv := append([]byte("\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01"), make([]byte, 500)...)
	for _, tc := range []struct {
		name   string
		data   []byte
		want   error
		detail string
	}{
		{"photo.heic", ftyp("heic"), ErrUnreadable, "HEIC/AVIF"},
		{"only-ftyp.mp4", ftyp("isom"), ErrTruncated, "moov atom not found"},
		{"song.mp4", mp3, ErrNoVideoStream, "a sound file"},
		{"broken.mkv", mkv, ErrUnreadable, "Matroska/WebM"},
		{"words.avi", []byte("just some words, not a video at all\n"), ErrNotMedia, ""},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Probe(context.Background(), path)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.detail) {
			t.Errorf("%s: %v, want %v mentioning %q", tc.name, err, tc.want, tc.detail)
		}
	}
}
