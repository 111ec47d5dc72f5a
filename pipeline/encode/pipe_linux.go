package encode

import (
	"os"
	"syscall"
)

// fSetPipeSize is Linux's F_SETPIPE_SZ.
const fSetPipeSize = 1031

// maxPipe is the largest pipe an unprivileged process may ask for by
// default (/proc/sys/fs/pipe-max-size).
const maxPipe = 1 << 20

// growPipe enlarges the pipe to ffmpeg from the default 64 KB to up to
// 1 MB, so that a frame crosses it in a few large writes instead of dozens
// of small ones, each waking ffmpeg: with three 1080p encoders the kernel
// time of the default size was about a sixth of the helper's. Failing is
// harmless: the pipe keeps its size.
func growPipe(f *os.File, frame int) {
	size := min(maxPipe, frame)
	if c, err := f.SyscallConn(); err == nil {
		c.Control(func(fd uintptr) {
			syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSize, uintptr(size))
		})
	}
}
