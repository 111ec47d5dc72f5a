package job

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"facemirror/internal/sharedtest"
)

// mountTmpfs mounts a tmpfs of the given options on a fresh folder for the
// test (root only: the test is skipped otherwise, as on a developer's
// machine; CI runs as root).
func mountTmpfs(t *testing.T, options string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", options, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs on %s: %v: %s", dir, err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

// An output folder that cannot be written, a disk that fills up in the
// middle of a video and an input deleted while it is processed each fail
// the input they hit with a specific error and leave nothing of it, and
// the other inputs go on where they can.
func TestOutputFolderAndInputProblems(t *testing.T) {
	useRealHelpers(t)
	v10 := sharedtest.Media(t, "videos/v10_grid_talking_frontal_mpeg1_360x288.mpg")
	b10 := sharedtest.Media(t, "bad/b10_one_frame_real_face_480x360.mp4")

	t.Run("read-only folder", func(t *testing.T) {
		dir := mountTmpfs(t, "size=1m,ro")
		run := runMode(t, dir, Options{Workers: 2}, v10, b10)
		for _, f := range run.report.Files {
			want := filepath.Base(f.File) + ": cannot write its outputs: create a file in " + dir + ": read-only file system"
			if f.Err == nil || f.Err.Error() != want {
				t.Errorf("error %v, want %q", f.Err, want)
			}
		}
	})

	t.Run("disk full", func(t *testing.T) {
		// v01's three videos need about 8 MB; b10's outputs fit once
		// v01's half-written ones are gone.
		dir := mountTmpfs(t, "size=4m")
		v01 := sharedtest.Media(t, processVideos[0])
		run := runMode(t, dir, Options{Mode: ModeFull, Workers: 1}, v01, b10)
		f := run.file(t, v01)
		if f.Err == nil || !strings.Contains(f.Err.Error(), "No space left on device") || !strings.HasPrefix(f.Err.Error(), filepath.Base(v01)+": ") {
			t.Errorf("v01: error %v, want one naming the file and the full disk", f.Err)
		}
		if err := run.file(t, b10).Err; err != nil {
			t.Errorf("b10 after the disk filled up: %v", err)
		}
		onlyFilesOf(t, dir, "b10_")
	})

	t.Run("input deleted", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "v01_copy.mp4")
		data, err := os.ReadFile(sharedtest.Media(t, processVideos[0]))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(src, data, 0o644); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		deleted := false
		run := runMode(t, dir, Options{Workers: 1, Progress: func(p Progress) {
			if !deleted && p.FramesDone > 50 {
				deleted = true
				os.Remove(src)
			}
		}}, src, v10)
		if !deleted {
			t.Fatal("the input was never deleted")
		}
		want := "v01_copy.mp4: the file was deleted while it was being processed"
		if err := run.file(t, src).Err; err == nil || err.Error() != want {
			t.Errorf("error %v, want %q", err, want)
		}
		if err := run.file(t, v10).Err; err != nil {
			t.Errorf("v10: %v", err)
		}
		onlyFilesOf(t, dir, "v10_")
	})
}

// onlyFilesOf fails the test for every entry of dir not named with prefix.
func onlyFilesOf(t *testing.T, dir, prefix string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) {
			t.Errorf("%s left in the output folder", e.Name())
		}
	}
}
