package job

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"facemirror/app/helper"
	"facemirror/app/internal/faultinject"
	"facemirror/internal/sharedtest"
)

// The fault tests' inputs: faults strike the first; the second must finish
// whatever happens to it. Both are short, so that every mode and fault
// fits in CI.
const (
	faultVideo = "edge/e01_neutral_to_smile_2.4s_mp3audio_640x360.mp4"
	otherVideo = "videos/v10_grid_talking_frontal_mpeg1_360x288.mpg"
	// faultFrame is the frame result before which the fault strikes.
	faultFrame = 20
	// faultTimeout is how long the coordinator waits for a sign of life
	// from a helper in these tests (30 s in the program), so that a hung
	// or stalled helper is caught quickly.
	faultTimeout = 5 * time.Second
)

// faultRun is one run of the fault tests: its report, its helpers'
// stderr, and every file it left in its output folder.
type faultRun struct {
	report Report
	stderr string
	files  map[string][]byte
}

// faultMode is a mode of the fault tests: a Mode, and for mode aus
// whether each video is split over the helpers (then the struck input is
// v01, long enough to be cut into two chunks).
type faultMode struct {
	mode  Mode
	split bool
}

// struck is the input the faults strike in this mode.
func (m faultMode) struck() string {
	if m.split {
		return processVideos[0]
	}
	return faultVideo
}

func (m faultMode) String() string {
	if m.split {
		return string(m.mode) + "-split"
	}
	return string(m.mode)
}

// faultModes are the modes the fault tests run.
var faultModes = []faultMode{{mode: ModeAUs}, {mode: ModeAUs, split: true}, {mode: ModeMirror}, {mode: ModeFull}}

// runFaulted runs mode with two helpers over faultVideo and otherVideo,
// with the fault of plan armed in the helpers (none for nil), and checks
// what must hold after any run: no helper or encoder left running, no
// temporary file left in the output folder. The helpers run the CPU
// execution provider, or the plan's EP when it names one.
func runFaulted(t *testing.T, mode faultMode, plan *faultinject.Plan) faultRun {
	t.Helper()
	useRealHelpers(t)
	ep := "cpu"
	if plan != nil {
		if plan.EP != "" {
			ep = plan.EP
		}
		plan.State = t.TempDir()
		env, err := plan.Env()
		if err != nil {
			t.Fatal(err)
		}
		name, value, _ := strings.Cut(env, "=")
		t.Setenv(name, value)
	}
	dir := t.TempDir()
	var stderr lockedBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep := Run(ctx, []string{sharedtest.Media(t, mode.struck()), sharedtest.Media(t, otherVideo)}, Options{
		Mode:    mode.mode,
		Split:   mode.split,
		Workers: 2,
		OutDir:  dir,
		Version: "test",
		Helpers: helper.Config{EP: ep, Stderr: &stderr, Timeout: faultTimeout},
	})
	checkNoProcessLeft(t, dir)
	run := faultRun{report: rep, stderr: stderr.String(), files: map[string][]byte{}}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if strings.HasPrefix(d.Name(), ".") || strings.Contains(d.Name(), ".tmp") || strings.Contains(d.Name(), ".partial") {
			t.Errorf("%s left behind", rel)
		}
		b, err := os.ReadFile(path)
		run.files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if plan != nil {
		n, err := faultinject.Strikes(plan.State)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("the %s fault never struck; helpers' stderr:\n%s", plan.Kind, run.stderr)
		}
	}
	return run
}

// checkNoProcessLeft fails the test if a helper of this test binary, or an
// encoder writing into dir, is still running once the run has returned.
// A process killed a moment ago may take a moment to go.
func checkNoProcessLeft(t *testing.T, dir string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		left = left[:0]
		cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range cmdlines {
			b, err := os.ReadFile(p)
			if err != nil || len(b) == 0 {
				continue // gone, or a zombie
			}
			args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
			helperOfOurs := len(args) > 1 && args[1] == "worker" && sameFile(args[0], exe)
			if helperOfOurs || strings.Contains(string(b), dir) {
				left = append(left, filepath.Base(filepath.Dir(p))+": "+strings.Join(args, " "))
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("processes left running after the run:\n%s", strings.Join(left, "\n"))
	}
}

func sameFile(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// outputs are a run's files but the manifests, whose timings differ from
// run to run; manifests are compared by manifestsAgree.
func (r faultRun) outputs() map[string][]byte {
	out := map[string][]byte{}
	for name, b := range r.files {
		if !strings.HasSuffix(name, "_facemirror.json") {
			out[name] = b
		}
	}
	return out
}

// manifestsAgree checks that the faulted run's manifest of each input
// lists the clean run's outputs with the same sizes and outcome.
func manifestsAgree(t *testing.T, clean, got faultRun) {
	t.Helper()
	for name, b := range clean.files {
		if !strings.HasSuffix(name, "_facemirror.json") {
			continue
		}
		var a, c Manifest
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got.files[name], &c); err != nil {
			t.Errorf("%s after the fault: %v", name, err)
			continue
		}
		if a.Outcome != c.Outcome || !slices.Equal(a.Outputs, c.Outputs) {
			t.Errorf("%s: outcome %q and outputs %v after the fault, %q and %v in a clean run", name, c.Outcome, c.Outputs, a.Outcome, a.Outputs)
		}
	}
}

// Every fault a helper can meet in the field, injected at frame 20 of a
// video in each mode (mode aus also with each video split over the two
// helpers): struck once, it costs a retry on a fresh helper,
// and the outputs are the bytes of a clean run; struck in every helper, the
// video fails with an error naming it, the frames and the cause, and the
// other video of the command is written as in a clean run. No helper or
// encoder is left running and no temporary file is left behind (checked
// by runFaulted), and the coordinator ends each run with the goroutines
// and file descriptors it had before, and its live heap no larger.
func TestHelperFaults(t *testing.T) {
	for _, mode := range faultModes {
		t.Run(mode.String(), func(t *testing.T) {
			clean := runFaulted(t, mode, nil)
			for _, f := range clean.report.Files {
				if f.Err != nil {
					t.Fatalf("clean run: %s: %v", f.File, f.Err)
				}
			}
			goroutines, fds, heap := runtime.NumGoroutine(), openFDs(t), liveHeap()
			for _, kind := range faultinject.Kinds() {
				t.Run(string(kind), func(t *testing.T) {
					plan := faultinject.Plan{Kind: kind, Frame: faultFrame, Video: filepath.Base(mode.struck()), Times: 1}
					checkFaulted(t, clean, runFaulted(t, mode, &plan), plan)
				})
			}
			t.Run("every-helper", func(t *testing.T) {
				plan := faultinject.Plan{Kind: faultinject.Segfault, Frame: faultFrame, Video: filepath.Base(mode.struck())}
				checkFaulted(t, clean, runFaulted(t, mode, &plan), plan)
			})
			// Helpers' goroutines end with the run; give the last ones a
			// moment.
			for deadline := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > goroutines && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > goroutines {
				t.Errorf("%d goroutines after the faulted runs, %d after the clean one", n, goroutines)
			}
			if n := openFDs(t); n > fds {
				t.Errorf("%d open file descriptors after the faulted runs, %d after the clean one", n, fds)
			}
			// Eight runs, each holding about 20 MB of AU models while it
			// lasted: a leak of one run's state would show.
			if h := liveHeap(); h > heap+8<<20 {
				t.Errorf("live heap %d MB after the faulted runs, %d MB after the clean one", h>>20, heap>>20)
			} else {
				t.Logf("live heap %.1f MB after the faulted runs, %.1f MB after the clean one", float64(h)/(1<<20), float64(heap)/(1<<20))
			}
		})
	}
}

// A helper that crashes while it runs an accelerated execution provider
// ("auto", made to crash by a fault that strikes only helpers started with
// it) costs a retry on a CPU helper: the outputs are the bytes of a clean
// run, and the report and the manifest say that the video was processed
// again with the CPU provider.
func TestAcceleratedHelperRetriedOnCPU(t *testing.T) {
	mode := faultMode{mode: ModeAUs}
	clean := runFaulted(t, mode, nil)
	plan := faultinject.Plan{Kind: faultinject.Segfault, Frame: faultFrame, Video: filepath.Base(mode.struck()), EP: "auto"}
	got := runFaulted(t, mode, &plan)
	if n, _ := faultinject.Strikes(plan.State); n != 1 {
		t.Errorf("the crash struck %d times, want once: the retry should have run on the CPU", n)
	}
	const want = `processed again by a fresh helper with the CPU provider instead of "auto"`
	for _, f := range got.report.Files {
		if f.Err != nil {
			t.Fatalf("%s: %v; helpers' stderr:\n%s", f.File, f.Err, got.stderr)
		}
		if filepath.Base(f.File) != plan.Video {
			continue
		}
		if len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0], want) {
			t.Errorf("warnings %q, want one saying %q", f.Warnings, want)
		}
		name := strings.TrimSuffix(plan.Video, filepath.Ext(plan.Video)) + "_facemirror.json"
		var m Manifest
		if err := json.Unmarshal(got.files[name], &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.ContainsFunc(m.Warnings, func(w string) bool { return strings.Contains(w, want) }) {
			t.Errorf("%s: warnings %q, want one saying %q", name, m.Warnings, want)
		}
	}
	sameOutputs(t, clean.outputs(), got.outputs())
}

// checkFaulted checks a run with plan's fault against the clean run of
// the same mode. A fault that struck once cost a retry: every input
// succeeded, the struck one with a warning, and the outputs are the clean
// run's bytes. A fault that struck every helper failed the struck input
// with an error naming it, its frames and the cause (for the faults
// that crash: the signal), wrote nothing for it, and the other input's
// outputs are the clean run's bytes.
func checkFaulted(t *testing.T, clean, got faultRun, plan faultinject.Plan) {
	t.Helper()
	struck := slices.IndexFunc(got.report.Files, func(f FileReport) bool { return filepath.Base(f.File) == plan.Video })
	if struck < 0 {
		t.Fatalf("%s is not an input", plan.Video)
	}
	if plan.Times > 0 {
		for _, f := range got.report.Files {
			if f.Err != nil {
				t.Fatalf("%s: %v; helpers' stderr:\n%s", f.File, f.Err, got.stderr)
			}
		}
		if w := got.report.Files[struck].Warnings; len(w) != 1 || !strings.Contains(w[0], "processed again by a fresh helper") {
			t.Errorf("warnings %q, want one about the retry", w)
		}
		sameOutputs(t, clean.outputs(), got.outputs())
		manifestsAgree(t, clean, got)
		return
	}
	f := got.report.Files[struck]
	if f.Err == nil {
		t.Fatalf("%s: no error although every helper failed on it", f.File)
	}
	t.Logf("the error: %v", f.Err)
	wants := []string{plan.Video, "frames ", "its helper failed twice"}
	if plan.Kind == faultinject.Segfault {
		wants = append(wants, "SIGSEGV")
	}
	for _, want := range wants {
		if !strings.Contains(f.Err.Error(), want) {
			t.Errorf("error %q does not name %q", f.Err, want)
		}
	}
	stem := func(name string) string { return strings.TrimSuffix(name, filepath.Ext(name)) }
	want := map[string][]byte{}
	for name, b := range clean.outputs() {
		if !strings.HasPrefix(name, stem(plan.Video)) {
			want[name] = b
		}
	}
	for i, f := range got.report.Files {
		if i != struck && f.Err != nil {
			t.Fatalf("the other input failed too: %v", f.Err)
		}
	}
	sameOutputs(t, want, got.outputs())
	for name := range got.files {
		if strings.HasPrefix(name, stem(plan.Video)) {
			t.Errorf("%s written for the input that failed", name)
		}
	}
}

// sameOutputs checks that got holds exactly want's files with want's bytes.
func sameOutputs(t *testing.T, want, got map[string][]byte) {
	t.Helper()
	for name, b := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s missing", name)
		case !bytes.Equal(g, b):
			t.Errorf("%s: %d bytes differ from a clean run's %d", name, len(g), len(b))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s written, not in a clean run", name)
		}
	}
}

// liveHeap is the bytes of this process's heap that survive a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// A helper that cannot start fails every input with a specific error, at
// once and without leaving anything; a helper without ONNX Runtime is no
// fault at all for these modes, whose face detector is plain Go.
func TestHelperCannotStart(t *testing.T) {
	useRealHelpers(t)
	inputs := []string{sharedtest.Media(t, faultVideo), sharedtest.Media(t, otherVideo)}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	notExecutable := filepath.Join(t.TempDir(), "facemirror")
	if err := os.WriteFile(notExecutable, b, 0o644); err != nil {
		t.Fatal(err)
	}
	clean := runFaulted(t, faultMode{mode: ModeAUs}, nil)
	for _, tc := range []struct {
		name    string
		exe     string
		env     string
		wantErr string // "": the clean run's outputs
	}{
		{name: "not executable", exe: notExecutable, wantErr: "permission denied"},
		{name: "no ONNX Runtime", env: filepath.Join(t.TempDir(), "libonnxruntime.so.1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("FACEMIRROR_ORT_LIB", tc.env)
			}
			dir := t.TempDir()
			var stderr lockedBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			rep := Run(ctx, inputs, Options{
				Mode: ModeAUs, Workers: 2, OutDir: dir, Version: "test",
				Helpers: helper.Config{EP: "cpu", Stderr: &stderr, Timeout: faultTimeout, Exe: tc.exe},
			})
			checkNoProcessLeft(t, dir)
			entries, _ := os.ReadDir(dir)
			if tc.wantErr == "" {
				for _, f := range rep.Files {
					if f.Err != nil {
						t.Fatalf("%s: %v", f.File, f.Err)
					}
				}
				got := map[string][]byte{}
				for _, e := range entries {
					if !strings.HasSuffix(e.Name(), "_facemirror.json") {
						got[e.Name()] = readFile(t, filepath.Join(dir, e.Name()))
					}
				}
				sameOutputs(t, clean.outputs(), got)
				return
			}
			for _, f := range rep.Files {
				if f.Err == nil || !strings.Contains(f.Err.Error(), tc.wantErr) || !strings.Contains(f.Err.Error(), filepath.Base(f.File)) {
					t.Errorf("%s: error %v, want one naming the file and %q", f.File, f.Err, tc.wantErr)
				}
			}
			if rep.ExitStatus() != ExitFailed {
				t.Errorf("exit status %d, want %d", rep.ExitStatus(), ExitFailed)
			}
			if len(entries) > 0 {
				t.Errorf("%d files written, want none", len(entries))
			}
			t.Logf("the error: %v", rep.Files[0].Err)
		})
	}
}
