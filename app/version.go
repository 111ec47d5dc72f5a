package app

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"

	"facemirror/app/helper"
	"facemirror/app/worker"
	"facemirror/models"

	"gocv.io/x/gocv"
)

const versionUsage = "version [--ep auto|cpu|coreml|cuda]"

// runVersion prints the versions of everything that decides FaceMirror's
// numbers. ONNX Runtime is asked from a helper, so a runtime that crashes
// on load costs one line, not the command; whatever fails is said on its
// line and the rest is still printed. The status is 0 unless the flags are
// wrong: it is a report, not a check (see "models verify").
func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", stderr, versionUsage)
	ep := fs.String("ep", "auto", "execution provider to ask the helper for: auto, cpu, coreml or cuda")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return usageStatus(err)
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "facemirror version: unexpected argument %q\n", rest[0])
		return 2
	}
	if err := helper.CheckEP(*ep); err != nil {
		fmt.Fprintln(stderr, "facemirror version:", err)
		return 2
	}

	line := func(key, format string, args ...any) {
		fmt.Fprintf(stdout, "%-13s %s\n", key, fmt.Sprintf(format, args...))
	}
	line("FaceMirror", "%s", Version)
	line("Go", "%s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	line("OpenCV", "%s (gocv %s)", gocv.OpenCVVersion(), gocv.Version())
	line("ONNX Runtime", "%s", runtimeLine(ctx, helper.Config{EP: *ep, Stderr: stderr}))

	dir, err := models.DefaultDir()
	if err != nil {
		line("Models", "unknown folder: %v", err)
		return 0
	}
	line("Models", "%s (%s)", dir, models.OpenFaceRelease)
	bad, err := writeModelChecks(ctx, stdout, dir)
	switch {
	case bad > 0:
		line("", "%d files unusable; %s", bad, models.RepairHint)
	case err != nil:
		line("", "cannot verify: %v", err)
	}
	return 0
}

// runtimeLine asks a helper for its ONNX Runtime and describes it in one
// line, or says why it could not.
func runtimeLine(ctx context.Context, h helper.Config) string {
	c, err := worker.Start(ctx, h.Options())
	if err != nil {
		return "unavailable: " + err.Error()
	}
	defer c.Close()
	info, err := helper.QueryRuntime(ctx, c)
	if err != nil {
		return "unavailable: " + err.Error()
	}
	return fmt.Sprintf("%s (%s, in helper process %d)", describeRuntime(info), info.Library, c.PID())
}

// describeRuntime says which ONNX Runtime a helper runs and on what.
func describeRuntime(info helper.RuntimeInfo) string {
	return fmt.Sprintf("%s; providers that load: %s; in use: %s", info.Version, strings.Join(info.Providers, ", "), info.EP)
}
