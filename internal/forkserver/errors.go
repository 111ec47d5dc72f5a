package forkserver

import "errors"

// ErrUnavailable means the fork server cannot start a helper as executing
// the program would; execute it instead.
var ErrUnavailable = errors.New("fork server unavailable")
