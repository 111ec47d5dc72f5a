package forkserver

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "forkserver.h"
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// replyTimeout bounds the wait for the server's answer; a fork takes
// milliseconds, so a server that takes longer is taken for broken.
const replyTimeout = 10 * time.Second

// Server is the fork server this process started before its Go runtime
// did. Its methods are safe for concurrent use.
type Server struct {
	pid   int
	start []string // this process's environment when it started

	mu     sync.Mutex
	fd     int   // the socket to the server; -1 once broken
	broken error // why the server can no longer be used
}

// defaultServer is the process's server: the constructor created at most
// one, and its socket is the process's to use once.
var defaultServer = sync.OnceValue(func() *Server {
	fd := int(C.fs_socket())
	if fd < 0 {
		return nil
	}
	return &Server{pid: int(C.fs_server_pid()), fd: fd, start: startEnv()}
})

// Default returns the fork server of this process, or nil when it has none
// (Reason says why).
func Default() *Server { return defaultServer() }

// Reason says why this process has no fork server; it is empty when it
// has one.
func Reason() string { return C.GoString(C.fs_reason()) }

func startEnv() []string {
	var out []string
	p := C.fs_start_env()
	if p == nil {
		return nil
	}
	for ; *p != nil; p = (**C.char)(unsafe.Add(unsafe.Pointer(p), unsafe.Sizeof(*p))) {
		out = append(out, C.GoString(*p))
	}
	return out
}

// Start starts a helper: a new process of this program that runs with
// args as its os.Args (args[0] being the program) and env as its
// environment, with files as its standard input, output and error, in a
// process group of its own and, when nice is positive, at that nice value.
// The process is a child of this one.
//
// The error wraps ErrUnavailable when the server cannot start this helper
// as executing the program would (no server, an environment it cannot
// reproduce, a broken server): the caller then executes the program.
func (s *Server) Start(args, env []string, nice int, files [3]*os.File) (*os.Process, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, Reason())
	}
	if err := checkEnv(s.start, env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req, err := encodeRequest(args, env, nice)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	fds := make([]int, len(files))
	for i, f := range files {
		if f == nil {
			return nil, fmt.Errorf("%w: standard file %d missing", ErrUnavailable, i)
		}
		fds[i] = int(f.Fd())
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, s.broken)
	}
	pid, err := s.exchange(req, unix.UnixRights(fds...))
	// The descriptors must stay open until the server has its copies.
	runtime.KeepAlive(files)
	if err != nil {
		s.breakDown(err)
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if pid < 0 {
		return nil, fmt.Errorf("%w: fork server: %v", ErrUnavailable, syscall.Errno(-pid))
	}
	return os.FindProcess(int(pid))
}

// exchange sends one request and reads the server's answer: a pid, or a
// negated errno.
func (s *Server) exchange(req, rights []byte) (int32, error) {
	if err := unix.Sendmsg(s.fd, req, rights, nil, unix.MSG_NOSIGNAL); err != nil {
		return 0, fmt.Errorf("send to fork server: %w", err)
	}
	deadline := time.Now().Add(replyTimeout)
	for {
		wait := time.Until(deadline)
		if wait <= 0 {
			return 0, fmt.Errorf("fork server did not answer within %v", replyTimeout)
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}, int(wait/time.Millisecond)+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("wait for fork server: %w", err)
		}
		if n == 0 {
			continue
		}
		var reply [4]byte
		k, err := unix.Read(s.fd, reply[:])
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, fmt.Errorf("read from fork server: %w", err)
		case k == 0:
			return 0, errors.New("fork server has exited")
		case k != len(reply):
			return 0, fmt.Errorf("fork server sent %d bytes instead of %d", k, len(reply))
		}
		return int32(binary.NativeEndian.Uint32(reply[:])), nil
	}
}

// breakDown stops using the server: closing the socket makes it exit,
// and it is reaped so that no zombie remains.
func (s *Server) breakDown(err error) {
	s.broken = err
	_ = unix.Close(s.fd)
	s.fd = -1
	if p, err := os.FindProcess(s.pid); err == nil {
		go func() { _, _ = p.Wait() }()
	}
}

// encodeRequest lays out a request as forkserver.h describes it.
func encodeRequest(args, env []string, nice int) ([]byte, error) {
	if len(args) == 0 {
		return nil, errors.New("no program name")
	}
	size := int(unsafe.Sizeof(C.struct_fs_request{}))
	for _, s := range append(args[:len(args):len(args)], env...) {
		if strings.IndexByte(s, 0) >= 0 {
			return nil, fmt.Errorf("%q contains a NUL byte", s)
		}
		size += len(s) + 1
	}
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("environment entry %q is not NAME=value", kv)
		}
	}
	if size > C.FS_MAX_REQUEST {
		return nil, fmt.Errorf("request of %d bytes is larger than the server takes (%d)", size, C.FS_MAX_REQUEST)
	}
	b := make([]byte, 0, size)
	b = binary.NativeEndian.AppendUint32(b, C.FS_VERSION)
	b = binary.NativeEndian.AppendUint32(b, uint32(int32(nice)))
	b = binary.NativeEndian.AppendUint32(b, uint32(len(args)))
	b = binary.NativeEndian.AppendUint32(b, uint32(len(env)))
	for _, s := range args {
		b = append(append(b, s...), 0)
	}
	for _, s := range env {
		b = append(append(b, s...), 0)
	}
	return b, nil
}

// init makes a forked helper what its request asked for, as far as the Go
// side goes (the C side has set up its files, group, priority, C
// environment and malloc): its os.Args, Go's copy of the environment, which
// the runtime read from the starting process's stack, and GOGC.
func init() {
	if C.fs_forked() == 0 {
		return
	}
	var n C.size_t
	var nargs, nenv C.uint32_t
	p := C.fs_block(&n, &nargs, &nenv)
	all := strings.Split(strings.TrimSuffix(C.GoStringN(p, C.int(n)), "\x00"), "\x00")
	os.Args = all[:nargs]
	os.Clearenv()
	for _, kv := range all[nargs:] {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	if v, ok := os.LookupEnv("GOGC"); ok {
		if pct, ok := parseGOGC(v); ok {
			debug.SetGCPercent(pct)
		}
	}
}

// Forked reports whether this process was started by a fork server.
func Forked() bool { return C.fs_forked() != 0 }

// cEnv returns a variable as the C library sees it, which in a forked
// helper the C side set before Go's copy existed (for tests).
func cEnv(name string) (string, bool) {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	v := C.getenv(cs)
	if v == nil {
		return "", false
	}
	return C.GoString(v), true
}
