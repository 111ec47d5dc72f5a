package worker

import (
	"errors"
	"fmt"
)

// Sentinels for the ways a helper can fail; a *HelperError wraps one of them,
// so errors.Is tells the cases apart.
var (
	// ErrStart means the helper process could not be started.
	ErrStart = errors.New("helper did not start")
	// ErrExited means the helper process exited or was killed by a signal.
	ErrExited = errors.New("helper exited")
	// ErrStalled means a request in flight saw nothing from the helper for
	// the timeout, or the handshake did not complete in time.
	ErrStalled = errors.New("helper stopped answering")
	// ErrGarbage means the helper wrote something that is not the protocol.
	ErrGarbage = errors.New("helper sent garbage")
	// ErrVersion means the helper speaks another protocol version.
	ErrVersion = errors.New("helper speaks another protocol version")
	// ErrClosed means the helper was shut down by its owner.
	ErrClosed = errors.New("helper closed")
)

// HelperError reports that a helper process failed as a whole. Every request
// in flight on that helper gets it, and the helper is gone (killed and
// reaped). A Pool retries a request that failed this way once.
type HelperError struct {
	// Err is one of the sentinels above.
	Err error
	// Msg is the complete message, for example
	// "helper exited: signal: segmentation fault".
	Msg string
	// PID is the helper's process id, 0 if it never started.
	PID int
	// Stderr holds the helper's last lines of standard error, which often
	// say why it died (a Go panic, a library's message).
	Stderr []string
}

func (e *HelperError) Error() string { return e.Msg }

// Unwrap returns the sentinel.
func (e *HelperError) Unwrap() error { return e.Err }

func helperErr(sentinel error, format string, args ...any) *HelperError {
	return &HelperError{Err: sentinel, Msg: fmt.Sprintf(format, args...)}
}

// RemoteError is a request's failure as reported by its handler in the
// helper. The helper is fine; the request is not retried.
type RemoteError struct {
	// Kind is the request kind.
	Kind string
	// Code is machine-readable: one of the Code constants or a code the
	// handler chose with Coded.
	Code string
	// Message is the handler's error text.
	Message string
}

func (e *RemoteError) Error() string { return e.Message }

// Coded attaches a machine-readable code to a handler's error; the client
// sees it as RemoteError.Code. Codes let callers tell expected outcomes (a
// video too small for the detector) from failures without parsing text.
func Coded(code string, err error) error {
	if err == nil {
		return nil
	}
	return &codedError{code: code, err: err}
}

type codedError struct {
	code string
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// IsHelperFailure reports whether err means the helper failed as a whole
// (as opposed to the request failing or being cancelled).
func IsHelperFailure(err error) bool {
	var he *HelperError
	return errors.As(err, &he)
}

// RemoteCode returns the code of a *RemoteError in err's chain, or "".
func RemoteCode(err error) string {
	var re *RemoteError
	if errors.As(err, &re) {
		return re.Code
	}
	return ""
}
