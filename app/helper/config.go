package helper

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"facemirror/app/worker"
)

// Config says how the window and the commands start helpers.
type Config struct {
	// EP is the execution provider: auto, cpu, coreml or cuda; empty means
	// auto.
	EP string
	// Threads is ONNX Runtime's intra-op thread count per helper; zero
	// lets the helper choose.
	Threads int
	// ModelsDir and ORTLibrary override the helper's model folder and
	// ONNX Runtime library; empty means the helper's own lookup
	// ($FACEMIRROR_MODELS, $FACEMIRROR_ORT_LIB, ...).
	ModelsDir, ORTLibrary string
	// Exe is the binary to start; empty means this program.
	Exe string
	// Stderr receives the helpers' log lines, prefixed with their names.
	Stderr io.Writer
	// Verbose makes helpers log informational messages too.
	Verbose bool
	// Timeout is how long a request may go without a sign of life from its
	// helper; zero means worker.DefaultTimeout.
	Timeout time.Duration
	// Nice lowers the helpers' CPU priority (worker.Options.Nice).
	Nice int
	// Preload makes helpers load the landmark and analysis models as soon
	// as they start rather than on their first analyse or mirror request,
	// for callers that will send one: the loading, about 0.2 s, then
	// overlaps the caller's own start.
	Preload bool
}

// Options returns the worker.Options for one helper.
func (h Config) Options() worker.Options {
	args := []string{"worker"}
	if h.EP != "" {
		args = append(args, "--ep", h.EP)
	}
	if h.Threads > 0 {
		args = append(args, "--threads", strconv.Itoa(h.Threads))
	}
	if h.ModelsDir != "" {
		args = append(args, "--models", h.ModelsDir)
	}
	if h.ORTLibrary != "" {
		args = append(args, "--ort", h.ORTLibrary)
	}
	if h.Verbose {
		args = append(args, "--verbose")
	}
	if h.Preload {
		args = append(args, "--preload")
	}
	return worker.Options{
		Exe:     h.Exe,
		Args:    args,
		Env:     helperEnv(os.Environ()),
		Stderr:  h.Stderr,
		Timeout: h.Timeout,
		Nice:    h.Nice,
	}
}

// helperEnv is the helpers' environment: this process's without a display,
// and with memory settings for a long-running analysis process unless the
// user set them.
//
// The binary links the native file dialog, whose library connects to the
// display when any process of it starts; a helper shows no window and must
// not hold a connection to the user's session.
//
// A helper's live Go heap is small (about 40 MB of model data; the big
// tables are mapped files), so a tighter garbage-collection target (GOGC=50)
// saves 15-30 MB for a 2-3 % of time. Decoding and the detector's OpenCV
// calls run on many threads, and glibc's malloc would give each its own
// arena and keep their freed memory: two arenas (MALLOC_ARENA_MAX=2) save
// about 50 MB at 1080p, and a fixed 1 MB threshold above which blocks are
// mapped and unmapped on their own (MALLOC_MMAP_THRESHOLD_) gives back
// the detector's 25 MB float copy of a 1080p frame after each detection
// (another 20-40 MB); neither costs measurable time.
func helperEnv(env []string) []string {
	out := make([]string, 0, len(env)+3)
	set := map[string]bool{}
	for _, kv := range env {
		if strings.HasPrefix(kv, "DISPLAY=") || strings.HasPrefix(kv, "WAYLAND_DISPLAY=") {
			continue
		}
		name, _, _ := strings.Cut(kv, "=")
		set[name] = true
		out = append(out, kv)
	}
	var added []string
	for _, kv := range []string{"GOGC=50", "MALLOC_ARENA_MAX=2", "MALLOC_MMAP_THRESHOLD_=1048576"} {
		if name, _, _ := strings.Cut(kv, "="); !set[name] {
			out = append(out, kv)
			added = append(added, name)
		}
	}
	if len(added) > 0 {
		out = append(out, helperOnlyEnv+"="+strings.Join(added, ","))
	}
	return out
}

// helperOnlyEnv names the variables helperEnv set for the helper alone.
// The helper's runtime and C library read them when it starts; the helper
// then removes them (forgetHelperEnv), so that the encoders it runs do not
// inherit them: ffmpeg under MALLOC_MMAP_THRESHOLD_=1 MB maps and unmaps
// every 6 MB 1080p frame, which made it 2.5 times slower (measured: 100
// frames in 4.2 s instead of 1.6 s, most of it in the kernel).
const helperOnlyEnv = "FACEMIRROR_HELPER_ONLY_ENV"

// forgetHelperEnv removes the variables listed in helperOnlyEnv from this
// process's environment, and that variable itself.
func forgetHelperEnv() {
	if names := os.Getenv(helperOnlyEnv); names != "" {
		for _, name := range strings.Split(names, ",") {
			os.Unsetenv(name)
		}
	}
	os.Unsetenv(helperOnlyEnv)
}

// NewPool returns a pool of up to size helpers configured by h, living at
// most as long as ctx. Unless h asks for the CPU provider, a helper that
// fails as a whole (crash, hang) is replaced by one on the CPU, and so are
// all later ones (worker.PoolOptions.Fallback): an accelerated provider
// that crashed once is not trusted again in this run.
func (h Config) NewPool(ctx context.Context, size int) *worker.Pool {
	opts := worker.PoolOptions{Size: size, Helper: h.Options()}
	if h.EP != "cpu" {
		cpu := h
		cpu.EP = "cpu"
		opts.Fallback = &worker.Fallback{Helper: cpu.Options(), Why: fmt.Sprintf("with the CPU provider instead of %q", cmp.Or(h.EP, "auto"))}
	}
	return worker.NewPool(ctx, opts)
}
