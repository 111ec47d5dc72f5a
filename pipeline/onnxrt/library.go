package onnxrt

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// LibraryEnv names the environment variable that overrides where the ONNX
// Runtime shared library is loaded from.
const LibraryEnv = "FACEMIRROR_ORT_LIB"

// ORTVersion is the ONNX Runtime release the project is built and tested
// against (`make deps` installs it into the project's .ort folder).
const ORTVersion = "1.24.3"

// projectModule is the module name that identifies a FaceMirror checkout.
const projectModule = "facemirror"

// ErrLibraryUnavailable is wrapped by errors about a missing or unloadable
// ONNX Runtime library.
var ErrLibraryUnavailable = errors.New("ONNX Runtime library unavailable")

// LibraryName returns the file name of the ONNX Runtime shared library on
// this operating system.
func LibraryName() string {
	switch runtime.GOOS {
	case "darwin":
		return "libonnxruntime.dylib"
	case "windows":
		return "onnxruntime.dll"
	}
	return "libonnxruntime.so.1"
}

// howToGet is the advice every library error ends with.
func howToGet() string {
	return fmt.Sprintf("run `make deps`, or set %s to the path of %s (ONNX Runtime %s)", LibraryEnv, LibraryName(), ORTVersion)
}

// LibraryPath finds the ONNX Runtime library for this process, in this
// order: the file named by $FACEMIRROR_ORT_LIB; the library next to the
// executable (symbolic links resolved); the .ort folder of the FaceMirror
// checkout that holds the executable or the working directory (found by
// walking up to the go.mod of module facemirror); and finally the bare
// library name, which leaves the search to the system's dynamic loader.
func LibraryPath() (string, error) {
	exeDir := ""
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		exeDir = filepath.Dir(exe)
	}
	wd, _ := os.Getwd()
	return FindLibrary(os.Getenv(LibraryEnv), exeDir, wd)
}

// FindLibrary is LibraryPath with its inputs given: env is the value of
// $FACEMIRROR_ORT_LIB, exeDir the executable's folder and workDir the
// working directory (either may be empty). It fails only when env names a
// file that does not exist.
func FindLibrary(env, exeDir, workDir string) (string, error) {
	if env != "" {
		if _, err := os.Stat(env); err != nil {
			return "", fmt.Errorf("%w: %s=%s does not exist; %s", ErrLibraryUnavailable, LibraryEnv, env, howToGet())
		}
		return env, nil
	}
	if exeDir != "" {
		if p := filepath.Join(exeDir, LibraryName()); isFile(p) {
			return p, nil
		}
	}
	for _, start := range []string{exeDir, workDir} {
		if root := projectRoot(start); root != "" {
			if p := filepath.Join(root, ".ort", LibraryName()); isFile(p) {
				return p, nil
			}
		}
	}
	return LibraryName(), nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// projectRoot walks up from dir to the nearest folder with a go.mod and
// returns it if that go.mod declares the FaceMirror module.
func projectRoot(dir string) string {
	if dir == "" {
		return ""
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			module := moduleName(f)
			f.Close()
			if module == projectModule {
				return dir
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

func moduleName(f *os.File) string {
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
