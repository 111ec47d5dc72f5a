// Package app holds FaceMirror's commands: probe, process, version, models
// and worker (RunCLI), and the window's service (Desktop).
//
// It is the top of three packages, one idea each: app/job runs a mode over
// a list of files (the process command and the window both use it),
// app/helper is what runs in the helper processes and the requests they
// take, and this package parses command lines and prints. Neither the
// command line nor the window ever loads ONNX Runtime: that happens only in
// helpers, which are this same binary started as "facemirror worker".
package app

import (
	"context"
	"errors"
	"facemirror/app/helper"
	"flag"
	"fmt"
	"io"
	"os"
)

// Version is the application version. Builds set it with
// -ldflags "-X facemirror/app.Version=..." (the Makefile uses git describe);
// "dev" marks a build that did not.
var Version = "dev"

// commands are the subcommands RunCLI knows, with their usage and what
// they do.
var commands = []struct{ name, usage, help string }{
	{"probe", probeUsage, "describe videos; with --faces find the face on sampled frames"},
	{"process", processUsage, "write OpenFace 2.2 FeatureExtraction's CSV (gaze, pose, landmarks, AUs) or the mirrored videos for each file"},
	{"version", versionUsage, "versions of the app, Go, OpenCV and ONNX Runtime; model file hashes"},
	{"models", modelsUsage, "install or check the model files"},
	{"report", reportUsage, "which inputs of a study (all its shards) are done, failed or missing"},
	{"worker", helper.Usage, "helper process (FaceMirror starts it itself)"},
}

// IsCommand reports whether name is a subcommand RunCLI handles, so that
// main can tell "facemirror probe x.mp4" from "facemirror x.mp4" (open the
// window with a file).
func IsCommand(name string) bool {
	for _, c := range commands {
		if c.name == name {
			return true
		}
	}
	return name == "help" || name == "-h" || name == "--help"
}

// Usage writes the command-line summary to w.
func Usage(w io.Writer) {
	fmt.Fprintln(w, "usage:")
	fmt.Fprintln(w, "  facemirror [FILE...]")
	fmt.Fprintln(w, "      open the window, with these videos added")
	for _, c := range commands {
		fmt.Fprintf(w, "  facemirror %s\n      %s\n", c.usage, c.help)
	}
}

// RunCLI runs the subcommand args[0] with the remaining arguments and
// returns the process exit status: 0 on success, 1 when the work failed
// (for probe and process: any file failed), 2 for a usage error; process
// adds ExitNoFace and ExitInterrupted (see ProcessReport.ExitStatus). The
// "worker" subcommand serves the helper protocol on the process's standard
// input and output (see RunWorker).
func RunCLI(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		Usage(stderr)
		return 2
	}
	rest := args[1:]
	switch args[0] {
	case "probe":
		return runProbe(ctx, rest, stdout, stderr)
	case "process":
		return runProcess(ctx, rest, stdout, stderr)
	case "version":
		return runVersion(ctx, rest, stdout, stderr)
	case "models":
		return runModels(ctx, rest, stdout, stderr)
	case "report":
		return runReport(ctx, rest, stdout, stderr)
	case "worker":
		return helper.Main(ctx, rest, Version, os.Stdin, stdout, stderr)
	case "help", "-h", "--help":
		Usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "facemirror: unknown command %q\n", args[0])
	Usage(stderr)
	return 2
}

// parseArgs parses flags that may come before, between or after the
// positional arguments ("probe a.mp4 --faces b.mp4"); "--" ends the flags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		consumed := len(args) - fs.NArg()
		rest := fs.Args()
		if consumed > 0 && args[consumed-1] == "--" {
			// flag.Parse consumed a "--": everything after it is positional.
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// newFlags returns a flag set for a subcommand whose errors go to stderr.
func newFlags(name string, stderr io.Writer, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: facemirror "+usage)
		fs.PrintDefaults()
	}
	return fs
}

// usageStatus maps a flag parsing error to an exit status: 0 for -h, 2
// otherwise.
func usageStatus(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
