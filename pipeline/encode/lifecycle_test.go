//go:build linux

package encode

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"facemirror/internal/sharedtest"
	"facemirror/pipeline/video"
)

// These tests need Linux: they prove ffmpeg was reaped through /proc and
// make the real ffmpeg fail with /dev/full.

var small = Options{Codec: FFV1, Width: 64, Height: 48, Rate: video.Rational{Num: 25, Den: 1}}

func withCodec(o Options, c Codec) Options { o.Codec = c; return o }

// checkNothingLeft fails unless dir holds exactly the names in keep and
// ffmpeg (pid) has been reaped.
func checkNothingLeft(t *testing.T, dir string, pid int, keep ...string) {
	t.Helper()
	got := dirEntries(t, dir)
	if strings.Join(got, ",") != strings.Join(keep, ",") {
		t.Errorf("folder holds %q, want %q", got, keep)
	}
	if pid != 0 && !processGone(pid) {
		t.Errorf("ffmpeg (pid %d) is still running or was not reaped", pid)
	}
}

func TestCommitReplacesOnlyOnCommit(t *testing.T) {
	for _, c := range codecs {
		t.Run(string(c), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "left"+c.Ext())
			if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			w, err := Create(context.Background(), path, withCodec(small, c))
			if err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				if err := w.Write(sharpFrame(64, 48, i), 0); err != nil {
					t.Fatal(err)
				}
			}
			names := dirEntries(t, dir)
			if len(names) != 2 || !strings.HasPrefix(names[0], ".left"+c.Ext()+".tmp-") || !strings.HasSuffix(names[0], c.Ext()) {
				t.Errorf("while writing, folder holds %q, want the old file and .left%s.tmp-*%s", names, c.Ext(), c.Ext())
			}
			if b, _ := os.ReadFile(path); string(b) != "old" {
				t.Errorf("the existing file changed before Commit")
			}
			if w.Frames() != 5 {
				t.Errorf("Frames() = %d, want 5", w.Frames())
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			checkNothingLeft(t, dir, w.cmd.Process.Pid, "left"+c.Ext())
			info, err := video.Probe(context.Background(), path)
			if err != nil || info.Frames != 5 {
				t.Fatalf("committed file: %d frames, %v", info.Frames, err)
			}

			w.Abort() // a no-op after Commit
			w.Abort()
			if _, err := os.Stat(path); err != nil {
				t.Errorf("Abort after Commit removed the file: %v", err)
			}
			if err := w.Write(sharpFrame(64, 48, 0), 0); err == nil || !strings.Contains(err.Error(), "Write after Commit") {
				t.Errorf("Write after Commit: %v", err)
			}
			if err := w.Commit(); err == nil || !strings.Contains(err.Error(), "Commit after Commit") {
				t.Errorf("second Commit: %v", err)
			}
		})
	}
}

func TestAbort(t *testing.T) {
	for _, c := range codecs {
		t.Run(string(c), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			w, err := Create(context.Background(), filepath.Join(dir, "x"+c.Ext()), withCodec(small, c))
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if err := w.Write(sharpFrame(64, 48, i), 0); err != nil {
					t.Fatal(err)
				}
			}
			w.Abort()
			checkNothingLeft(t, dir, w.cmd.Process.Pid)
			w.Abort()
			if err := w.Write(sharpFrame(64, 48, 3), 0); err == nil || !strings.Contains(err.Error(), "after Abort") {
				t.Errorf("Write after Abort: %v", err)
			}
			if err := w.Commit(); err == nil || !strings.Contains(err.Error(), "after Abort") {
				t.Errorf("Commit after Abort: %v", err)
			}
			checkNothingLeft(t, dir, 0)
		})
	}
}

// TestAbortUnblocksWrite: Abort from another goroutine ends a Write that
// waits on a full pipe, here because ffmpeg is stopped (SIGSTOP).
func TestAbortUnblocksWrite(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Codec: FFV1, Width: 640, Height: 480, Rate: video.Rational{Num: 25, Den: 1}}
	w, err := Create(context.Background(), filepath.Join(dir, "x.mkv"), opts)
	if err != nil {
		t.Fatal(err)
	}
	pid := w.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		frame := sharpFrame(640, 480, 0)
		for {
			if err := w.Write(frame, 0); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond) // let the pipe fill
	w.Abort()
	select {
	case err := <-done:
		if !strings.Contains(err.Error(), "abort") {
			t.Errorf("blocked Write returned %v, want an error saying it was aborted", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Write still blocked 10 s after Abort")
	}
	checkNothingLeft(t, dir, pid)
}

func TestContextCancel(t *testing.T) {
	for _, c := range codecs {
		t.Run(string(c), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w, err := Create(ctx, filepath.Join(dir, "x"+c.Ext()), withCodec(small, c))
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if err := w.Write(sharpFrame(64, 48, i), 0); err != nil {
					t.Fatal(err)
				}
			}
			pid := w.cmd.Process.Pid
			cancel()
			// Nothing more is called on the Writer: cancellation alone
			// must kill ffmpeg and remove the temporary file.
			if !waitFor(func() bool { return len(dirEntries(t, dir)) == 0 && processGone(pid) }) {
				checkNothingLeft(t, dir, pid)
			}
			if err := w.Write(sharpFrame(64, 48, 3), 0); !errors.Is(err, context.Canceled) {
				t.Errorf("Write after cancel: %v, want context.Canceled", err)
			}
			if err := w.Commit(); !errors.Is(err, context.Canceled) {
				t.Errorf("Commit after cancel: %v, want context.Canceled", err)
			}
			w.Abort()
			checkNothingLeft(t, dir, pid)
		})
	}
	t.Run("before Create", func(t *testing.T) {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Create(ctx, filepath.Join(dir, "x.mkv"), small)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Create with a cancelled context: %v", err)
		}
		checkNothingLeft(t, dir, 0)
	})
}

// TestFFmpegFails makes the real ffmpeg fail: at start (its output is a
// folder) and in the middle of the video (its output is /dev/full, so the
// disk is "full"). The error carries ffmpeg's own message, and nothing
// is left behind.
func TestFFmpegFails(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, tmp string)
		want  string
	}{
		{"output is a folder", func(t *testing.T, tmp string) {
			if err := os.Remove(tmp); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(tmp, 0o755); err != nil {
				t.Fatal(err)
			}
		}, "Is a directory"},
		{"disk full", func(t *testing.T, tmp string) {
			if err := os.Remove(tmp); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/dev/full", tmp); err != nil {
				t.Fatal(err)
			}
		}, "No space left on device"},
	}
	for _, c := range cases {
		for _, codec := range codecs {
			t.Run(c.name+"/"+string(codec), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				opts := Options{Codec: codec, Width: 320, Height: 240, Rate: video.Rational{Num: 25, Den: 1}}
				w, err := create(context.Background(), filepath.Join(dir, "left"+codec.Ext()), opts, func(tmp string) { c.setup(t, tmp) })
				if err != nil {
					// ffmpeg may already have died while the stream header
					// was written.
					checkError(t, err, c.want)
					checkNothingLeft(t, dir, 0)
					return
				}
				var werr error
				for i := 0; i < 500 && werr == nil; i++ {
					werr = w.Write(sharpFrame(320, 240, i), 0)
				}
				if werr == nil {
					werr = w.Commit()
				} else if !errors.Is(werr, syscall.EPIPE) && !errors.Is(werr, os.ErrClosed) {
					// Which one depends on whether exec had already closed
					// its end of the pipe after reaping ffmpeg.
					t.Errorf("Write error %v wraps neither the broken pipe nor the closed pipe", werr)
				}
				checkError(t, werr, c.want)
				checkNothingLeft(t, dir, w.cmd.Process.Pid)
				if err := w.Write(sharpFrame(320, 240, 0), 0); err == nil || err.Error() != werr.Error() {
					t.Errorf("Write after the failure: %v, want the same error again", err)
				}
				if err := w.Commit(); err == nil || err.Error() != werr.Error() {
					t.Errorf("Commit after the failure: %v, want the same error again", err)
				}
				w.Abort()
			})
		}
	}
}

func checkError(t *testing.T, err error, want string) {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		t.Error("no error")
	case !strings.HasPrefix(err.Error(), "encode left.") || !strings.Contains(err.Error(), "ffmpeg exited with status 1") || !strings.Contains(err.Error(), want):
		t.Errorf("error %q, want \"encode left.*: ffmpeg exited with status 1 ... %s\"", err, want)
	case !errors.As(err, &ee):
		t.Errorf("error %q does not wrap the *exec.ExitError", err)
	}
	t.Log(err)
}

func TestCreateErrors(t *testing.T) {
	dir := t.TempDir()
	text := sharedtest.Media(t, "bad/b04_text_file.mov")
	cases := []struct {
		name   string
		path   string
		opts   Options
		want   string
		target error
	}{
		{"codec", "x.mp4", Options{Codec: "vp9", Width: 64, Height: 48, Rate: small.Rate}, `unknown video codec "vp9": use one of h264, ffv1`, nil},
		{"size", "x.mkv", Options{Codec: FFV1, Width: 0, Height: 48, Rate: small.Rate}, "invalid frame size 0x48", nil},
		{"huge", "x.mkv", Options{Codec: FFV1, Width: 1 << 16, Height: 48, Rate: small.Rate}, "larger than", nil},
		{"rate", "x.mkv", Options{Codec: FFV1, Width: 64, Height: 48}, "invalid frame rate 0/1", nil},
		{"negative rate", "x.mkv", Options{Codec: FFV1, Width: 64, Height: 48, Rate: video.Rational{Num: -30, Den: 1}}, "invalid frame rate -30/1", nil},
		{"ffmpeg path", "x.mkv", Options{Codec: FFV1, Width: 64, Height: 48, Rate: small.Rate, FFmpeg: "/nonexistent/bin/ffmpeg"},
			"encode x.mkv: ffmpeg not found at /nonexistent/bin/ffmpeg (no such file or directory)", exec.ErrNotFound},
		{"folder", "no/such/folder/x.mkv", small, "encode x.mkv: cannot write in " + filepath.Join(dir, "no/such/folder") + ": no such file or directory", fs.ErrNotExist},
		{"audio missing", "x.mkv", Options{Codec: FFV1, Width: 64, Height: 48, Rate: small.Rate, AudioFrom: filepath.Join(dir, "gone.mp4")},
			"encode x.mkv: reading the audio of gone.mp4: ffprobe: No such file or directory", nil},
		{"audio not media", "x.mkv", Options{Codec: FFV1, Width: 64, Height: 48, Rate: small.Rate, AudioFrom: text},
			"encode x.mkv: reading the audio of b04_text_file.mov: ffprobe: Invalid data found when processing input", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Create(context.Background(), filepath.Join(dir, c.path), c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want it to contain %q", err, c.want)
			}
			if c.target != nil && !errors.Is(err, c.target) {
				t.Errorf("error %v does not match %v", err, c.target)
			}
			checkNothingLeft(t, dir, 0)
		})
	}
	t.Run("ffmpeg not on PATH", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		_, err := Create(context.Background(), filepath.Join(dir, "x.mkv"), small)
		if err == nil || !strings.HasPrefix(err.Error(), "encode x.mkv: ffmpeg not found: install it (apt-get install ffmpeg)") || !errors.Is(err, exec.ErrNotFound) {
			t.Errorf("error %v", err)
		}
		checkNothingLeft(t, dir, 0)
	})
	if os.Geteuid() != 0 {
		t.Run("read-only folder", func(t *testing.T) {
			ro := t.TempDir()
			if err := os.Chmod(ro, 0o555); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(ro, 0o755)
			_, err := Create(context.Background(), filepath.Join(ro, "x.mkv"), small)
			if !errors.Is(err, fs.ErrPermission) {
				t.Errorf("error %v, want permission denied", err)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	cases := []struct {
		name  string
		opts  Options
		write func(w *Writer) error
		want  string
	}{
		{"short frame", small, func(w *Writer) error { return w.Write(make([]byte, 5), 0) },
			"encode x.mkv: frame 1 has 5 bytes, want 9216 (64x48 BGR, 3 bytes per pixel)"},
		{"time goes back", Options{Codec: FFV1, Width: 64, Height: 48, Rate: small.Rate, VariableRate: true},
			func(w *Writer) error { return w.Write(sharpFrame(64, 48, 1), 0) },
			"encode x.mkv: frame 1 at 0s is not after frame 0 at 0s: times must increase"},
		{"commit empty", small, nil, "encode x.mkv: no frames were written"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			w, err := Create(context.Background(), filepath.Join(dir, "x.mkv"), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if c.write == nil {
				err = w.Commit()
			} else {
				if err := w.Write(sharpFrame(64, 48, 0), 0); err != nil {
					t.Fatal(err)
				}
				err = c.write(w)
			}
			if err == nil || err.Error() != c.want {
				t.Errorf("error %v, want %q", err, c.want)
			}
			// Every Write error is final and cleans up.
			checkNothingLeft(t, dir, w.cmd.Process.Pid)
			if err2 := w.Commit(); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("Commit after the error: %v", err2)
			}
		})
	}
}
