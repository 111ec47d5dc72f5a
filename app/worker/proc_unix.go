//go:build unix

package worker

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// isolated puts an executed helper into a process group of its own, so
// that killing the group also takes down anything the helper started, and
// a terminal's Ctrl-C reaches the parent, which then shuts helpers down in
// order. (The fork server does the same for the helpers it starts.)
func isolated() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// lowerPriority sets the nice value of every thread in the helper's
// process group: Linux keeps a nice value per thread, and the helper's Go
// runtime has started threads of its own by now. Threads started later
// inherit it from the thread that starts them, and so do the encoders the
// helper runs. Failing to lower a priority costs responsiveness, never a
// result, so errors are ignored.
func lowerPriority(pid, nice int) {
	_ = syscall.Setpriority(syscall.PRIO_PGRP, pid, nice)
}

// killGroup kills the helper's process group and the helper itself.
func killGroup(p *os.Process) {
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
	_ = p.Kill()
}

// ReserveStdout keeps the process's standard output for the protocol and
// points file descriptor 1 at standard error, so that stray prints from C
// libraries (or fmt.Println) land in the log instead of corrupting frames. A
// helper calls it once, before anything else writes, and serves on the
// returned file.
func ReserveStdout() (*os.File, error) {
	fd, err := unix.Dup(1)
	if err != nil {
		return nil, &os.SyscallError{Syscall: "dup", Err: err}
	}
	unix.CloseOnExec(fd)
	if err := unix.Dup2(2, 1); err != nil {
		_ = unix.Close(fd)
		return nil, &os.SyscallError{Syscall: "dup2", Err: err}
	}
	return os.NewFile(uintptr(fd), "protocol-stdout"), nil
}
