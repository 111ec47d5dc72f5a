package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"facemirror/app/helper"
	"facemirror/models"
)

const modelsUsage = "models install [--from DIR] [--dir DIR] | models verify [--dir DIR]"

func runModels(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: facemirror "+modelsUsage)
		return 2
	}
	switch args[0] {
	case "install":
		return runModelsInstall(ctx, args[1:], stdout, stderr)
	case "verify":
		return runModelsVerify(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "facemirror models: unknown subcommand %q\nusage: facemirror %s\n", args[0], modelsUsage)
	return 2
}

// modelsDirFlag adds --dir to fs: the model folder, models.DefaultDir() by
// default.
func modelsDirFlag(fs *flag.FlagSet) *string {
	return fs.String("dir", "", "model folder (default $"+models.EnvDir+" or the user cache folder)")
}

func resolveModelsDir(dir string) (string, error) {
	if dir != "" {
		return filepath.Abs(dir)
	}
	return models.DefaultDir()
}

func runModelsInstall(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("models install", stderr, "models install [--from DIR] [--dir DIR]")
	from := fs.String("from", "", "copy the files from this OpenFace model folder (default: shared/openface-models beside the project folder, when it exists); files it lacks are downloaded")
	dirFlag := modelsDirFlag(fs)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return usageStatus(err)
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "facemirror models install: unexpected argument %q\n", rest[0])
		return 2
	}
	dir, err := resolveModelsDir(*dirFlag)
	if err != nil {
		fmt.Fprintln(stderr, "facemirror models install:", err)
		return 1
	}
	mirror := *from
	if mirror != "" {
		if fi, err := os.Stat(mirror); err != nil || !fi.IsDir() {
			fmt.Fprintf(stderr, "facemirror models install: --from %s is not a folder\n", mirror)
			return 2
		}
	} else {
		mirror = defaultMirror()
	}
	if mirror != "" {
		fmt.Fprintf(stdout, "installing into %s from %s\n", dir, mirror)
	} else {
		fmt.Fprintf(stdout, "installing into %s from %s\n", dir, models.DefaultBaseURL)
	}

	counts := map[models.Action]int{}
	err = models.Install(ctx, dir, models.InstallOptions{
		Mirror: mirror,
		Progress: func(e models.Event) {
			counts[e.Action]++
			// Copies come from the mirror named above; downloads say where.
			if e.Action == models.Downloaded {
				fmt.Fprintf(stdout, "  %-10s %s  (from %s)\n", e.Action, e.Name, e.From)
			} else {
				fmt.Fprintf(stdout, "  %-10s %s\n", e.Action, e.Name)
			}
		},
	})
	if err != nil {
		fmt.Fprintln(stderr, "facemirror models install:", err)
		return 1
	}
	fmt.Fprintf(stdout, "done: %d copied, %d downloaded, %d converted, %d already in place\n",
		counts[models.Copied], counts[models.Downloaded], counts[models.Converted], counts[models.Kept])
	if err := helper.WriteTables(ctx, dir); err != nil {
		fmt.Fprintln(stderr, "facemirror models install:", err)
		return 1
	}
	fmt.Fprintf(stdout, "landmark detector's prepared tables (Sigmas, weight panels) ready in %s\n", filepath.Join(dir, helper.TablesDir))
	return 0
}

// defaultMirror returns the shared/openface-models folder beside the
// project folder ($FACEMIRROR_SHARED/openface-models when that variable is
// set), or "" when there is none. The project folder is the one holding the
// binary (make builds it there) or the FaceMirror checkout around the
// binary or the working folder.
func defaultMirror() string {
	if shared := os.Getenv("FACEMIRROR_SHARED"); shared != "" {
		return existingDir(filepath.Join(shared, "openface-models"))
	}
	var roots []string
	wd, _ := os.Getwd()
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		roots = append(roots, filepath.Dir(exe), projectRoot(filepath.Dir(exe)))
	}
	roots = append(roots, projectRoot(wd))
	for _, root := range roots {
		if root == "" {
			continue
		}
		if m := existingDir(filepath.Join(filepath.Dir(root), "shared", "openface-models")); m != "" {
			return m
		}
	}
	return ""
}

func existingDir(p string) string {
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return p
	}
	return ""
}

// projectRoot walks up from dir to the nearest go.mod and returns its
// folder if it declares the facemirror module, else "".
func projectRoot(dir string) string {
	if dir == "" {
		return ""
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
					if strings.Trim(strings.TrimSpace(rest), `"`) == "facemirror" {
						return dir
					}
					break
				}
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func runModelsVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("models verify", stderr, "models verify [--dir DIR]")
	dirFlag := modelsDirFlag(fs)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return usageStatus(err)
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "facemirror models verify: unexpected argument %q\n", rest[0])
		return 2
	}
	dir, err := resolveModelsDir(*dirFlag)
	if err != nil {
		fmt.Fprintln(stderr, "facemirror models verify:", err)
		return 1
	}
	fmt.Fprintf(stdout, "model folder %s\n", dir)
	bad, err := writeModelChecks(ctx, stdout, dir)
	if err != nil && bad == 0 {
		fmt.Fprintln(stderr, "facemirror models verify:", err)
		return 1
	}
	if bad > 0 {
		fmt.Fprintf(stderr, "facemirror models verify: %d model files unusable; %s\n", bad, models.RepairHint)
		return 1
	}
	return 0
}

// writeModelChecks verifies the model folder and prints one aligned line
// per file: status, SHA-256 it must have, name. It returns how many files
// are unusable and Verify's error.
func writeModelChecks(ctx context.Context, w io.Writer, dir string) (bad int, err error) {
	checks, err := models.Open(dir).Verify(ctx)
	for _, c := range checks {
		status := modelStatus(c.Err)
		if c.Err != nil {
			bad++
		}
		hash := c.SHA256
		if hash == "" {
			hash = "(no registered hash)"
		}
		fmt.Fprintf(w, "  %-11s %s  %s\n", status, hash, c.Name)
	}
	return bad, err
}

// modelStatus names a verified file's state.
func modelStatus(err error) string {
	switch {
	case err == nil:
		return "OK"
	case errors.Is(err, models.ErrMissing):
		return "missing"
	case errors.Is(err, models.ErrAltered):
		return "altered"
	case errors.Is(err, models.ErrStale):
		return "out-of-date"
	}
	return "unreadable"
}
