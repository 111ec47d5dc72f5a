// Package faultinject makes a test binary's helper fail on purpose, in the
// ways helpers fail in the field: a segmentation fault in native code (as
// an accelerated execution provider crashes), an exit or a kill in the
// middle of a video (the kernel's OOM killer sends SIGKILL), a process
// that stops, a frame that never finishes, garbage or a cut-off frame on
// the protocol pipe.
//
// Only test binaries import this package (through app/internal/helpertest,
// whose Main serves as the test binary's helper): the program itself has
// no way to be made to fail like this.
//
// A Plan reaches the helpers in the environment variable EnvPlan. Its fault
// strikes as a helper is about to send the Frame-th frame result (counted
// from 1; an analysed frame, or a detect request's faces) of a request
// whose input is named Video, in at most Times helpers (and only in those
// started with the execution provider EP, when set); Times 0 makes it strike in every helper, a fault that repeats
// on every retry. Helpers count the strikes across processes with marker
// files in the State folder, which is also how a test learns how often
// its fault struck (Strikes).
package faultinject

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// EnvPlan is the environment variable that carries a Plan, as JSON, to the
// helpers of a test binary.
const EnvPlan = "FACEMIRROR_TEST_FAULT"

// Kind is a way for a helper to fail.
type Kind string

// The faults a Plan can inject.
const (
	// Segfault writes through a null pointer in C code: the Go runtime
	// reports the SIGSEGV and ends the helper with status 2.
	Segfault Kind = "segv"
	// Exit ends the helper with status 0 in the middle of its request.
	Exit Kind = "exit"
	// Kill sends the helper SIGKILL, as the kernel's OOM killer does.
	Kill Kind = "kill"
	// Hang stops the whole helper (SIGSTOP): no event and no heartbeat
	// comes any more.
	Hang Kind = "hang"
	// Stall keeps the frame from ever being sent while the rest of the
	// helper lives on.
	Stall Kind = "stall"
	// Garbage sends bytes that are not a frame instead of the frame.
	Garbage Kind = "garbage"
	// Truncate sends the first half of the frame, then ends the helper
	// with status 0.
	Truncate Kind = "truncate"
)

// Kinds lists every Kind.
func Kinds() []Kind { return []Kind{Segfault, Exit, Kill, Hang, Stall, Garbage, Truncate} }

// Plan says which fault strikes where.
type Plan struct {
	Kind Kind `json:"kind"`
	// Frame is the frame result (from 1) before whose sending the fault
	// strikes.
	Frame int `json:"frame"`
	// Video is the base name of the input whose requests the fault
	// strikes; empty means any input.
	Video string `json:"video,omitempty"`
	// Times is how many helpers the fault strikes; 0 means every one.
	Times int `json:"times"`
	// EP, if set, limits the fault to helpers started with that execution
	// provider (their --ep argument; none is "auto"): a crash that only
	// an accelerated provider causes.
	EP string `json:"ep,omitempty"`
	// State is a folder the helpers count their strikes in; it must
	// exist.
	State string `json:"state"`
}

// Env returns the EnvPlan=... entry that arms p in the helpers.
func (p Plan) Env() (string, error) {
	if err := p.check(); err != nil {
		return "", err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("fault plan: %w", err)
	}
	return EnvPlan + "=" + string(b), nil
}

func (p Plan) check() error {
	switch {
	case !slices.Contains(Kinds(), p.Kind):
		return fmt.Errorf("fault plan: unknown fault %q", p.Kind)
	case p.Frame < 1:
		return fmt.Errorf("fault plan: frame %d: frames count from 1", p.Frame)
	case p.Times < 0:
		return fmt.Errorf("fault plan: times %d: want 0 (every helper) or more", p.Times)
	case p.State == "":
		return errors.New("fault plan: no state folder")
	}
	return nil
}

// FromEnv returns the Plan in EnvPlan; armed is false when the variable is
// not set.
func FromEnv() (p Plan, armed bool, err error) {
	v, ok := os.LookupEnv(EnvPlan)
	if !ok {
		return Plan{}, false, nil
	}
	if err := json.Unmarshal([]byte(v), &p); err != nil {
		return Plan{}, false, fmt.Errorf("%s: %w", EnvPlan, err)
	}
	if err := p.check(); err != nil {
		return Plan{}, false, fmt.Errorf("%s: %w", EnvPlan, err)
	}
	return p, true, nil
}

// Strikes is how many times the fault of the plan whose state folder is
// dir has struck.
func Strikes(dir string) (int, error) {
	names, err := filepath.Glob(filepath.Join(dir, "strike-*"))
	if err != nil {
		return 0, err
	}
	return len(names), nil
}

// claim records a strike and reports whether this helper may strike: the
// marker files strike-1, strike-2, ... are created exclusively, so that
// concurrent helpers never both take the same one.
func (p Plan) claim() bool {
	for n := 1; p.Times == 0 || n <= p.Times; n++ {
		f, err := os.OpenFile(filepath.Join(p.State, fmt.Sprintf("strike-%d", n)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			f.Close()
			return true
		}
		if !errors.Is(err, os.ErrExist) {
			return false
		}
	}
	return false
}
