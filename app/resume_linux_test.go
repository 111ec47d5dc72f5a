package app

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"facemirror/internal/sharedtest"
)

// A batch whose whole command (this process and its helpers) is killed
// with SIGKILL in the middle of its second video, then run again the same
// way: the first video is not redone (its files are untouched), the
// interrupted one starts afresh with the leftovers of the killed run
// removed, and every output is the bytes of an uninterrupted run. No
// helper or encoder outlives the kill.
func TestResumeAfterKill(t *testing.T) {
	useRealHelpers(t)
	inputs := []string{
		sharedtest.Media(t, "videos/v10_grid_talking_frontal_mpeg1_360x288.mpg"),
		sharedtest.Media(t, "videos/v01_talking_frontal_glasses_480x360.mp4"),
		sharedtest.Media(t, "edge/e01_neutral_to_smile_2.4s_mp3audio_640x360.mp4"),
	}
	command := func(dir string) []string {
		return append([]string{"process", "--mode", "full", "--workers", "1", "--skip-existing", "--quiet", "--out", dir}, inputs...)
	}
	ctx := testContext(t, 10*time.Minute)

	clean := t.TempDir()
	if code, _, stderr := runCLI(t, ctx, command(clean)...); code != 0 {
		t.Fatalf("uninterrupted run: exit status %d\n%s", code, stderr)
	}

	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, exe, command(dir)...)
	cmd.Env = append(os.Environ(), envRunCLI+"=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once the first video is complete and the second is being
	// written.
	first := filepath.Join(dir, "v10_grid_talking_frontal_mpeg1_360x288_facemirror.json")
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the first video was not complete and the second not begun after 2 minutes:\n%s", out.String())
		}
		if _, err := os.Stat(first); err == nil && hiddenFiles(t, dir, "v01_") > 0 {
			break
		}
	}
	helpers := childrenOf(cmd.Process.Pid)
	for _, pid := range append(helpers, cmd.Process.Pid) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	cmd.Wait()
	if len(helpers) == 0 {
		t.Errorf("no helper of the killed command was found")
	}
	// Helpers are gone with the kill; their encoders end on their own
	// once their input closes.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		left := processesWriting(dir)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes still writing into the output folder after the kill:\n%s", strings.Join(left, "\n"))
		}
	}
	if hiddenFiles(t, dir, "v01_") == 0 {
		t.Fatalf("the killed run left nothing half-written; the kill came too late to test a resumption")
	}
	before := modTimes(t, dir, "v10_")

	code, _, stderr := runCLI(t, ctx, command(dir)...)
	if code != 0 {
		t.Fatalf("the run after the kill: exit status %d\n%s", code, stderr)
	}
	if after := modTimes(t, dir, "v10_"); !mapsEqual(before, after) {
		t.Errorf("the first video's files were rewritten: %v, then %v", before, after)
	}
	if n := hiddenFiles(t, dir, ""); n > 0 {
		t.Errorf("%d hidden files left in the output folder", n)
	}
	want, got := readOutputs(t, clean), readOutputs(t, dir)
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("%s: %d bytes, %d in an uninterrupted run", name, len(got[name]), len(b))
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d outputs, %d in an uninterrupted run", len(got), len(want))
	}
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	var kids []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, stat := range stats {
		b, err := os.ReadFile(stat)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces.
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			if kid, err := strconv.Atoi(filepath.Base(filepath.Dir(stat))); err == nil {
				kids = append(kids, kid)
			}
		}
	}
	return kids
}

// processesWriting lists the processes whose command line names dir.
func processesWriting(dir string) []string {
	var left []string
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range cmdlines {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(dir)) {
			left = append(left, filepath.Base(filepath.Dir(p))+": "+string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
		}
	}
	return left
}
