// Package onnxrt runs ONNX models (the converted MTCNN networks) with ONNX
// Runtime, loaded at run time from its shared library, and exposes them as
// cnn.Runner so the face detector can use them in place of the plain-Go
// forward pass.
//
// ONNX Runtime keeps one environment per process (onnxruntime_go holds it
// in package state). The first Open loads the library and creates that
// environment; it then lives until the process exits, because unloading and
// reloading ONNX Runtime is not reliable. Later Opens share it and must name
// the same library. Each Runtime carries its own execution-provider choice
// and thread count, which apply to the sessions it creates.
//
// Execution providers: "cpu" always works; "cuda" works when the library
// ships its CUDA provider and a GPU is usable; "coreml" exists only on
// macOS. "auto" takes the best one that loads and falls back to CPU,
// logging why. WebGPU is never used.
package onnxrt

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Execution providers accepted in Options.EP.
const (
	EPAuto   = "auto"
	EPCPU    = "cpu"
	EPCUDA   = "cuda"
	EPCoreML = "coreml"
)

// ErrProviderUnavailable is returned when an explicitly requested execution
// provider cannot be used.
var ErrProviderUnavailable = errors.New("execution provider unavailable")

// Options configure Open.
type Options struct {
	// Library is the path of the ONNX Runtime shared library; empty means
	// LibraryPath's search.
	Library string
	// EP is the execution provider: EPAuto (also the meaning of ""),
	// EPCPU, EPCUDA or EPCoreML.
	EP string
	// Threads is the number of intra-op threads per session; 0 means 1,
	// since FaceMirror parallelises with worker processes instead.
	Threads int
	// Logger receives provider choices and fallbacks; nil discards them.
	Logger *slog.Logger
}

// Runtime is an opened ONNX Runtime with a chosen execution provider. It is
// safe for concurrent use.
type Runtime struct {
	library   string
	version   string
	ep        string
	auto      bool
	threads   int
	providers []string
	log       *slog.Logger
}

// environment is the process-wide ONNX Runtime state behind every Runtime.
type environment struct {
	mu      sync.Mutex
	library string // what the environment was created from; "" before
}

var processEnv environment

// load creates the process environment from lib, or checks that the
// existing one came from the same library.
func (e *environment) load(lib string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.library != "" {
		if lib != "" && lib != e.library {
			return "", fmt.Errorf("ONNX Runtime is already loaded from %s in this process; cannot also load %s", e.library, lib)
		}
		return e.library, nil
	}
	if lib == "" {
		var err error
		if lib, err = LibraryPath(); err != nil {
			return "", err
		}
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelFatal()); err != nil {
		return "", loadError(lib, err)
	}
	e.library = lib
	return lib, nil
}

// loadError turns a dlopen failure into one line that says how to get the
// library.
func loadError(lib string, err error) error {
	// onnxruntime_go wraps the loader's message in two prefixes that only
	// repeat the path.
	if inner := errors.Unwrap(err); inner != nil {
		err = inner
	}
	msg, _ := strings.CutPrefix(err.Error(), fmt.Sprintf("Error loading ONNX shared library %q: ", lib))
	msg = strings.Join(strings.Fields(msg), " ")
	if filepath.Base(lib) == lib {
		return fmt.Errorf("%w: %s is not next to the executable, in the project's .ort folder or on the system library path (%s); %s",
			ErrLibraryUnavailable, lib, msg, howToGet())
	}
	return fmt.Errorf("%w: cannot load %s (%s); %s", ErrLibraryUnavailable, lib, msg, howToGet())
}

// Open loads ONNX Runtime (once per process) and selects the execution
// provider. A missing library gives a one-line error wrapping
// ErrLibraryUnavailable that says how to get it; an unusable explicit provider
// gives ErrProviderUnavailable.
func Open(opts Options) (*Runtime, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	threads := opts.Threads
	if threads == 0 {
		threads = 1
	}
	if threads < 0 {
		return nil, fmt.Errorf("onnxrt: %d threads", threads)
	}
	ep := strings.ToLower(opts.EP)
	if ep == "" {
		ep = EPAuto
	}
	switch ep {
	case EPAuto, EPCPU, EPCUDA, EPCoreML:
	default:
		return nil, fmt.Errorf("onnxrt: unknown execution provider %q (want %s, %s, %s or %s)", opts.EP, EPAuto, EPCPU, EPCUDA, EPCoreML)
	}
	lib, err := processEnv.load(opts.Library)
	if err != nil {
		return nil, err
	}
	r := &Runtime{library: lib, version: ort.GetVersion(), threads: threads, log: log, auto: ep == EPAuto}
	sameMinor := ORTVersion[:strings.LastIndex(ORTVersion, ".")+1] // "1.24."
	if !strings.HasPrefix(r.version, sameMinor) {
		log.Warn("onnxrt: unexpected ONNX Runtime version", "version", r.version, "want", ORTVersion, "library", lib)
	}
	reasons := map[string]error{}
	r.providers = []string{EPCPU}
	for _, p := range []string{EPCoreML, EPCUDA} {
		if err := r.probe(p); err != nil {
			reasons[p] = err
		} else {
			r.providers = append(r.providers, p)
		}
	}
	switch ep {
	case EPAuto:
		r.ep = EPCPU
		for _, p := range []string{EPCoreML, EPCUDA} {
			if reasons[p] == nil {
				r.ep = p
				break
			}
		}
		if r.ep == EPCPU {
			log.Info("onnxrt: using the CPU execution provider", "coreml", reasons[EPCoreML], "cuda", reasons[EPCUDA])
		} else {
			log.Info("onnxrt: using execution provider "+r.ep, "library", lib)
		}
	case EPCPU:
		r.ep = EPCPU
	default:
		if reasons[ep] != nil {
			return nil, fmt.Errorf("onnxrt: %w: %s: %v", ErrProviderUnavailable, ep, reasons[ep])
		}
		r.ep = ep
	}
	return r, nil
}

// probe reports why provider p cannot be added to session options, or nil.
func (r *Runtime) probe(p string) error {
	// Official CPU builds lack the CUDA provider library; checking for it
	// first avoids asking ONNX Runtime to load what is not there. A bare
	// library name gives no folder to look in, so then only the attempt
	// tells.
	if p == EPCUDA && filepath.Base(r.library) != r.library {
		if !isFile(filepath.Join(filepath.Dir(r.library), cudaProviderName())) {
			return fmt.Errorf("%s has no CUDA provider (%s is not next to it)", r.library, cudaProviderName())
		}
	}
	o, err := ort.NewSessionOptions()
	if err != nil {
		return err
	}
	defer o.Destroy()
	return appendProvider(o, p)
}

func cudaProviderName() string {
	if strings.HasSuffix(LibraryName(), ".dll") {
		return "onnxruntime_providers_cuda.dll"
	}
	return "libonnxruntime_providers_cuda.so"
}

// appendProvider adds execution provider p (other than the CPU, which ONNX
// Runtime always has) to the session options.
func appendProvider(o *ort.SessionOptions, p string) error {
	switch p {
	case EPCPU:
		return nil
	case EPCoreML:
		return appendCoreML(o)
	case EPCUDA:
		c, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return err
		}
		defer c.Destroy()
		return o.AppendExecutionProviderCUDA(c)
	}
	return fmt.Errorf("unknown execution provider %q", p)
}

// Version returns the loaded ONNX Runtime version, e.g. "1.24.3".
func (r *Runtime) Version() string { return r.version }

// Library returns the path (or bare name) the library was loaded from.
func (r *Runtime) Library() string { return r.library }

// Providers lists the execution providers that load in this process, CPU
// first.
func (r *Runtime) Providers() []string { return append([]string(nil), r.providers...) }

// EP returns the execution provider new sessions use.
func (r *Runtime) EP() string { return r.ep }

// Threads returns the intra-op thread count of new sessions.
func (r *Runtime) Threads() int { return r.threads }
