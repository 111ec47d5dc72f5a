//go:build !linux

package forkserver

import (
	"fmt"
	"os"
)

// Server is a fork server; there is none on this system.
type Server struct{}

// Default returns nil: fork servers exist on Linux only.
func Default() *Server { return nil }

// Reason says why this process has no fork server.
func Reason() string { return "fork servers exist on Linux only" }

// Start returns an error wrapping ErrUnavailable.
func (s *Server) Start(args, env []string, nice int, files [3]*os.File) (*os.Process, error) {
	return nil, fmt.Errorf("%w: %s", ErrUnavailable, Reason())
}

// Forked reports false: no process here comes from a fork server.
func Forked() bool { return false }
