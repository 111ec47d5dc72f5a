//go:build linux

package worker

import (
	"context"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// osHandlers are test handlers that need Linux.
func osHandlers() map[string]Handler {
	return map[string]Handler{
		// segv dies of SIGSEGV with the default action, as a process does
		// whose crash the Go runtime does not intercept.
		"segv": func(ctx context.Context, call *Call) (any, error) {
			// struct sigaction, all zero: handler SIG_DFL, no flags, empty mask.
			var act [4]uint64
			if _, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGSEGV), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0); errno != 0 {
				return nil, errno
			}
			_ = syscall.Kill(os.Getpid(), syscall.SIGSEGV)
			time.Sleep(time.Minute)
			return nil, nil
		},
	}
}
