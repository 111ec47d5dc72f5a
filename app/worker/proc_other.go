//go:build !unix

package worker

import (
	"os"
	"syscall"
)

// isolated returns nothing where process groups do not exist.
func isolated() *syscall.SysProcAttr { return nil }

// lowerPriority leaves the helper's priority alone where there are no
// process groups.
func lowerPriority(pid, nice int) {}

// killGroup kills the helper.
func killGroup(p *os.Process) { _ = p.Kill() }

// ReserveStdout returns the standard output unchanged where file descriptors
// cannot be rearranged; stray prints there would corrupt the protocol.
func ReserveStdout() (*os.File, error) { return os.Stdout, nil }
