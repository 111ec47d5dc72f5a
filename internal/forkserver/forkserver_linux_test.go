package forkserver

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// innerEnv marks the test process that has a fork server: the outer test
// runs this test binary again with FACEMIRROR_FORKSERVER=1 and it set.
const innerEnv = "FORKSERVER_TEST_INNER"

func TestMain(m *testing.M) {
	// A forked helper: the package's init has given it the requested
	// arguments.
	if len(os.Args) > 1 && os.Args[1] == "report" {
		os.Exit(report())
	}
	os.Exit(m.Run())
}

// helperReport is what a forked helper says about itself.
type helperReport struct {
	Args          []string
	Env           []string
	CDisplay      string
	CFoo          string
	Pid, Ppid     int
	Pgrp          int
	Nice          int
	GCPercent     int
	Sockets       []string // open descriptors that are sockets
	Cmdline       string
	Forked        bool
	ServerPresent bool
}

func report() int {
	r := helperReport{
		Args: os.Args, Env: os.Environ(),
		Pid: os.Getpid(), Ppid: os.Getppid(), Pgrp: syscall.Getpgrp(),
		Forked: Forked(), ServerPresent: Default() != nil,
	}
	r.CDisplay, _ = cEnv("DISPLAY")
	r.CFoo, _ = cEnv("FOO")
	r.GCPercent = debug.SetGCPercent(100)
	debug.SetGCPercent(r.GCPercent)
	if b, err := os.ReadFile("/proc/self/stat"); err == nil {
		_, rest, _ := strings.Cut(string(b), ") ")
		r.Nice, _ = strconv.Atoi(strings.Fields(rest)[16])
	}
	if b, err := os.ReadFile("/proc/self/cmdline"); err == nil {
		r.Cmdline = strings.TrimRight(string(b), "\x00")
	}
	fds, _ := filepath.Glob("/proc/self/fd/*")
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err == nil && strings.HasPrefix(target, "socket:") {
			r.Sockets = append(r.Sockets, filepath.Base(fd)+" "+target)
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		return 1
	}
	io.Copy(io.Discard, os.Stdin) // until the test closes it
	code, _ := strconv.Atoi(os.Getenv("EXIT_CODE"))
	return code
}

// runInner runs test name in a fresh copy of this test binary that has a
// fork server, and returns that process's output. The copy starts with its
// standard input closed, so that the server's socket would take its number
// if the constructor let it.
func runInner(t *testing.T, name string) string {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", `exec "$0" "$@" 0<&-`, os.Args[0], "-test.run=^"+name+"$", "-test.v")
	cmd.Env = append(os.Environ(), innerEnv+"=1", "FACEMIRROR_FORKSERVER=1", "DISPLAY=:99")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s with a fork server: %v\n%s", name, err, out)
	}
	return string(out)
}

// serverPidLine is how the inner test tells the outer its server's pid.
const serverPidLine = "fork server pid "

func TestServedHelpers(t *testing.T) {
	if os.Getenv(innerEnv) == "" {
		out := runInner(t, t.Name())
		_, rest, ok := strings.Cut(out, serverPidLine)
		if !ok {
			t.Fatalf("inner test did not report its server:\n%s", out)
		}
		pid, _ := strconv.Atoi(strings.Fields(rest)[0])
		// The server dies with the process that started it.
		if alive(pid, 3*time.Second) {
			t.Errorf("fork server %d still runs after the process that started it exited", pid)
		}
		return
	}
	s := Default()
	if s == nil {
		t.Fatalf("no fork server: %s", Reason())
	}
	fmt.Println(serverPidLine + strconv.Itoa(s.pid))
	if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeSocket != 0 {
		t.Errorf("standard input is a socket: the server's socket took the closed descriptor 0")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("as asked", func(t *testing.T) {
		env := append(withoutDisplay(os.Environ()), "FOO=bar", "GOGC=37", "MALLOC_ARENA_MAX=2")
		h := start(t, s, []string{exe, "report", "two words"}, env, 5)
		r := h.report(t)
		h.finish(t, 0)
		if want := []string{exe, "report", "two words"}; !slices.Equal(r.Args, want) {
			t.Errorf("os.Args = %q, want %q", r.Args, want)
		}
		if !slices.Contains(r.Env, "FOO=bar") || slices.ContainsFunc(r.Env, func(kv string) bool { return strings.HasPrefix(kv, "DISPLAY=") }) {
			t.Errorf("Go's environment has no FOO=bar or still has DISPLAY: %q", r.Env)
		}
		if r.CFoo != "bar" || r.CDisplay != "" {
			t.Errorf("C library's FOO=%q DISPLAY=%q, want bar and unset", r.CFoo, r.CDisplay)
		}
		if r.Ppid != os.Getpid() {
			t.Errorf("helper's parent is %d, want this process %d", r.Ppid, os.Getpid())
		}
		if r.Pgrp != r.Pid {
			t.Errorf("helper's process group is %d, want its own (%d)", r.Pgrp, r.Pid)
		}
		if r.Nice != 5 {
			t.Errorf("nice %d, want 5", r.Nice)
		}
		if r.GCPercent != 37 {
			t.Errorf("GC percent %d, want 37 from GOGC", r.GCPercent)
		}
		if len(r.Sockets) > 0 {
			t.Errorf("helper inherited sockets: %q", r.Sockets)
		}
		if !strings.Contains(r.Cmdline, "report\x00two words") {
			t.Errorf("command line %q does not show the helper's arguments", r.Cmdline)
		}
		if !r.Forked || r.ServerPresent {
			t.Errorf("Forked() = %v and a server present = %v in the helper, want true and false", r.Forked, r.ServerPresent)
		}
		if u, ok := h.state.SysUsage().(*syscall.Rusage); !ok || u.Maxrss <= 0 {
			t.Errorf("no resource usage from the helper's wait: %v", h.state.SysUsage())
		}
	})

	t.Run("exit status and signals", func(t *testing.T) {
		env := append(os.Environ(), "EXIT_CODE=3")
		h := start(t, s, []string{exe, "report"}, env, 0)
		h.report(t)
		h.finish(t, 3)

		h = start(t, s, []string{exe, "report"}, os.Environ(), 0)
		h.report(t)
		if err := h.proc.Signal(syscall.SIGSEGV); err != nil {
			t.Fatal(err)
		}
		st, err := h.proc.Wait()
		h.in.Close()
		if err != nil {
			t.Fatal(err)
		}
		if ws := st.Sys().(syscall.WaitStatus); !ws.Signaled() && ws.ExitStatus() != 2 {
			t.Errorf("helper sent SIGSEGV ended with %v", st)
		}
	})

	t.Run("many at once", func(t *testing.T) {
		var wg sync.WaitGroup
		pids := make([]int, 8)
		for i := range pids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h := start(t, s, []string{exe, "report", strconv.Itoa(i)}, os.Environ(), 0)
				r := h.report(t)
				h.finish(t, 0)
				if r.Args[2] != strconv.Itoa(i) {
					t.Errorf("helper %d got arguments %q", i, r.Args)
				}
				pids[i] = r.Pid
			}()
		}
		wg.Wait()
		slices.Sort(pids)
		if len(slices.Compact(pids)) != 8 {
			t.Errorf("pids %v are not 8 distinct processes", pids)
		}
	})

	t.Run("environment it cannot reproduce", func(t *testing.T) {
		r, w, _ := os.Pipe()
		defer r.Close()
		defer w.Close()
		_, err := s.Start([]string{exe, "report"}, append(os.Environ(), "LD_PRELOAD=/nonexistent.so"), 0, [3]*os.File{r, w, w})
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "LD_PRELOAD") {
			t.Errorf("Start with LD_PRELOAD: %v, want ErrUnavailable naming it", err)
		}
	})
}

func TestServerDeath(t *testing.T) {
	if os.Getenv(innerEnv) == "" {
		runInner(t, t.Name())
		return
	}
	s := Default()
	if s == nil {
		t.Fatalf("no fork server: %s", Reason())
	}
	if err := syscall.Kill(s.pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	_, err := s.Start([]string{exe, "report"}, os.Environ(), 0, [3]*os.File{r, w, w})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Start after the server was killed: %v, want ErrUnavailable", err)
	}
	_, err = s.Start([]string{exe, "report"}, os.Environ(), 0, [3]*os.File{r, w, w})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("second Start: %v, want ErrUnavailable", err)
	}
	// Reaped, not left a zombie.
	if alive(s.pid, 3*time.Second) {
		t.Errorf("killed fork server %d was not reaped", s.pid)
	}
}

// alive reports whether process pid still exists (a zombie counts) after
// waiting up to d for it to go.
func alive(pid int, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			return false
		}
	}
	return true
}

func withoutDisplay(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "DISPLAY=") })
}

// served is a helper started by a test, with our ends of its files.
type served struct {
	proc  *os.Process
	in    *os.File
	out   *bufio.Reader
	state *os.ProcessState
}

func start(t *testing.T, s *Server, args, env []string, nice int) *served {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	p, err := s.Start(args, env, nice, [3]*os.File{inR, outW, null})
	inR.Close()
	outW.Close()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { p.Kill(); outR.Close(); inW.Close() })
	return &served{proc: p, in: inW, out: bufio.NewReader(outR)}
}

func (h *served) report(t *testing.T) helperReport {
	t.Helper()
	var r helperReport
	line, err := h.out.ReadBytes('\n')
	if err != nil {
		t.Fatalf("read helper's report: %v", err)
	}
	if err := json.Unmarshal(line, &r); err != nil {
		t.Fatalf("helper's report %q: %v", line, err)
	}
	return r
}

// finish closes the helper's input and checks its exit status.
func (h *served) finish(t *testing.T, code int) {
	t.Helper()
	h.in.Close()
	st, err := h.proc.Wait()
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	h.state = st
	if st.ExitCode() != code {
		t.Errorf("helper ended with %v, want exit status %d", st, code)
	}
}
