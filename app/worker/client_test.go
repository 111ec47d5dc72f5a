//go:build unix

package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the stderr forwarders.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// helperOptions returns Options that start this test binary as a helper
// in the given mode.
// forkedTestsEnv makes helperOptions start this test binary's helpers
// from its fork server instead of executing it (TestForkedHelpers).
const forkedTestsEnv = "WORKER_TEST_FORKED"

func helperOptions(t *testing.T, mode string) Options {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv(forkedTestsEnv) != "" {
		exe = "" // this program: from the fork server
	}
	// Generous: a loaded machine must not make a healthy helper look hung.
	// Tests about hangs shorten it.
	return Options{
		Exe:          exe,
		Env:          append(os.Environ(), helperModeEnv+"="+mode),
		Timeout:      10 * time.Second,
		StartTimeout: 10 * time.Second,
	}
}

// testContext bounds a test so that a hang fails it instead of the run.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func startServe(t *testing.T, ctx context.Context, opts Options) *Client {
	t.Helper()
	c, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("start helper: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// assertReaped checks that pid is neither running nor a zombie of ours.
func assertReaped(t *testing.T, c *Client) {
	t.Helper()
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("helper %d not reaped after 10s", c.pid)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(c.pid, &ws, syscall.WNOHANG, nil); !errors.Is(err, syscall.ECHILD) {
		t.Errorf("wait4(%d) = %v, want ECHILD (the helper must be reaped)", c.pid, err)
	}
}

// gone reports whether pid no longer runs (a zombie counts as gone: its
// parent, not the test, must reap it).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return runtime.GOOS == "linux"
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return strings.HasPrefix(rest, "Z")
}

func TestHelperFailures(t *testing.T) {
	type tc struct {
		name     string
		kind     string
		req      testRequest
		sentinel error
		want     string
	}
	cases := []tc{
		{"exit status", "exit", testRequest{Status: 3}, ErrExited, "helper exited: exit status 3"},
		{"exit zero mid-request", "exit", testRequest{Status: 0}, ErrExited, "helper exited: exit status 0"},
		{"segfault caught by the Go runtime", "segv-caught", testRequest{}, ErrExited, "helper exited: exit status 2 (SIGSEGV: segmentation violation)"},
		{"panic in a goroutine", "panic-goroutine", testRequest{}, ErrExited, "helper exited: exit status 2 (panic: boom in a helper goroutine)"},
		{"hang", "hang", testRequest{}, ErrStalled, "helper stopped answering for 400ms"},
		{"garbage", "garbage", testRequest{}, ErrGarbage, `helper sent garbage: frame payload "oops!" is not a message: invalid character 'o' looking for beginning of value`},
	}
	if runtime.GOOS == "linux" {
		cases = append(cases, tc{"killed by SIGSEGV", "segv", testRequest{}, ErrExited, "helper exited: signal: segmentation fault"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			opts := helperOptions(t, "serve")
			if tc.sentinel == ErrStalled {
				opts.Timeout = 400 * time.Millisecond
			}
			c := startServe(t, ctx, opts)
			began := time.Now()
			err := c.Call(ctx, tc.kind, tc.req, nil, nil)
			took := time.Since(began)
			if err == nil {
				t.Fatal("call succeeded, want a helper failure")
			}
			if err.Error() != tc.want {
				t.Errorf("error = %q\nwant    %q", err, tc.want)
			}
			if !errors.Is(err, tc.sentinel) || !IsHelperFailure(err) {
				t.Errorf("error %v: errors.Is(%v) = false or not a *HelperError", err, tc.sentinel)
			}
			if took > 5*time.Second {
				t.Errorf("failure took %v to surface", took)
			}
			if c.Err() == nil {
				t.Error("client still reports itself healthy")
			}
			if err := c.Call(ctx, "echo", testRequest{Text: "x"}, nil, nil); err == nil || err.Error() != tc.want {
				t.Errorf("call on the failed helper: %v, want %q", err, tc.want)
			}
			assertReaped(t, c)
		})
	}
}

func TestHandshakeFailures(t *testing.T) {
	cases := []struct {
		mode     string
		exe      string
		sentinel error
		want     string
	}{
		{"version99", "", ErrVersion, "helper speaks protocol 99, this program speaks protocol 2"},
		{"silent", "", ErrStalled, "helper did not answer the handshake within 300ms"},
		{"quit", "", ErrExited, "helper exited: exit status 0"},
		{"garbage-hello", "", ErrGarbage, `helper sent garbage: frame header "this" announces 1952999795 bytes (limit 67108864)`},
		{"serve", "/nonexistent/facemirror", ErrStart, "start helper /nonexistent/facemirror: fork/exec /nonexistent/facemirror: no such file or directory"},
	}
	for _, tc := range cases {
		t.Run(tc.mode+tc.exe, func(t *testing.T) {
			ctx := testContext(t)
			opts := helperOptions(t, tc.mode)
			if tc.sentinel == ErrStalled {
				opts.StartTimeout = 300 * time.Millisecond
			}
			if tc.exe != "" {
				opts.Exe = tc.exe
			}
			began := time.Now()
			c, err := Start(ctx, opts)
			if err == nil {
				c.Close()
				t.Fatal("start succeeded")
			}
			if err.Error() != tc.want {
				t.Errorf("error = %q\nwant    %q", err, tc.want)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.sentinel)
			}
			if took := time.Since(began); took > 5*time.Second {
				t.Errorf("start failure took %v", took)
			}
		})
	}
}

func TestCallStreamsEventsInOrder(t *testing.T) {
	ctx := testContext(t)
	c := startServe(t, ctx, helperOptions(t, "serve"))
	if h := c.Hello(); h.Protocol != ProtocolVersion || h.PID != c.PID() || h.Version != "test" {
		t.Errorf("hello = %+v", h)
	}
	var ticks []int
	var res testResult
	err := c.Call(ctx, "echo", testRequest{Text: "hi", N: 5, Every: time.Millisecond}, &res, func(e Event) error {
		var i int
		if err := e.Decode(&i); err != nil {
			return err
		}
		if e.Kind != "tick" || e.Attempt != 1 {
			t.Errorf("event %+v", e)
		}
		ticks = append(ticks, i)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ticks) != "[0 1 2 3 4]" || res.Text != "hi" || res.PID != c.PID() {
		t.Errorf("ticks %v, result %+v", ticks, res)
	}
}

// Binary events reach the caller as the handler's bytes, in order, marked
// binary; they have no JSON to decode.
func TestCallStreamsBinaryEvents(t *testing.T) {
	ctx := testContext(t)
	c := startServe(t, ctx, helperOptions(t, "serve"))
	n := 0
	err := c.Call(ctx, "bulk", testRequest{N: 5, Size: 100, Binary: true}, nil, func(e Event) error {
		if !e.Binary || e.Kind != "bulk" || len(e.Data) != 100 || e.Data[0] != byte(n) || e.Data[1] != 7 || e.Data[99] != byte(99*7%256) {
			t.Errorf("event %d: kind %q, binary %v, %d bytes starting %v", n, e.Kind, e.Binary, len(e.Data), e.Data[:min(len(e.Data), 2)])
		}
		var v any
		if err := e.Decode(&v); err == nil || err.Error() != "decode bulk event: a binary event has no JSON" {
			t.Errorf("Decode of a binary event: %v", err)
		}
		n++
		return nil
	})
	if err != nil || n != 5 {
		t.Errorf("%d events, error %v", n, err)
	}
}

func TestConcurrentCallsOnOneHelper(t *testing.T) {
	ctx := testContext(t)
	c := startServe(t, ctx, helperOptions(t, "serve"))
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var res testResult
			want := fmt.Sprintf("call %d", i)
			n := 0
			err := c.Call(ctx, "echo", testRequest{Text: want, N: 3 + i, Every: 2 * time.Millisecond}, &res, func(Event) error { n++; return nil })
			if err == nil && (res.Text != want || n != 3+i) {
				err = fmt.Errorf("got %q after %d events, want %q after %d", res.Text, n, want, 3+i)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// A request that keeps reporting (events or heartbeats) may take far longer
// than the timeout.
func TestSlowButAliveIsNotAHang(t *testing.T) {
	ctx := testContext(t)
	opts := helperOptions(t, "serve")
	opts.Timeout = 500 * time.Millisecond
	c := startServe(t, ctx, opts)
	for _, kind := range []string{"echo", "quiet"} {
		began := time.Now()
		if err := c.Call(ctx, kind, testRequest{N: 10, Every: 100 * time.Millisecond}, nil, nil); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if took := time.Since(began); took < 2*opts.Timeout {
			t.Errorf("%s took %v, want at least twice the timeout", kind, took)
		}
	}
}

func TestRequestErrorsKeepTheHelper(t *testing.T) {
	ctx := testContext(t)
	c := startServe(t, ctx, helperOptions(t, "serve"))
	cases := []struct {
		kind string
		req  any
		want RemoteError
	}{
		{"panic", testRequest{}, RemoteError{"panic", CodePanic, "panic: panic: boom in a handler"}},
		{"fail", testRequest{Text: "no face found"}, RemoteError{"fail", "no_face", "no face found"}},
		{"nope", testRequest{}, RemoteError{"nope", CodeUnknownKind, `this helper has no "nope" handler`}},
		{"echo", "not an object", RemoteError{"echo", CodeBadRequest, "decode echo request: json: cannot unmarshal string into Go value of type worker.testRequest"}},
	}
	for _, tc := range cases {
		err := c.Call(ctx, tc.kind, tc.req, nil, nil)
		var re *RemoteError
		if !errors.As(err, &re) || *re != tc.want {
			t.Errorf("%s: error %#v, want %#v", tc.kind, err, tc.want)
		}
		if RemoteCode(err) != tc.want.Code || IsHelperFailure(err) {
			t.Errorf("%s: RemoteCode %q, IsHelperFailure %v", tc.kind, RemoteCode(err), IsHelperFailure(err))
		}
	}
	var res testResult
	if err := c.Call(ctx, "echo", testRequest{Text: "still here"}, &res, nil); err != nil || res.Text != "still here" {
		t.Fatalf("helper after request errors: %v %+v", err, res)
	}
}

func TestCancelRequest(t *testing.T) {
	ctx := testContext(t)
	c := startServe(t, ctx, helperOptions(t, "serve"))
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	err := c.Call(cctx, "wait", testRequest{}, nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("cancel took %v", took)
	}
	// The helper saw the cancellation and is still usable. The cancelled
	// handler finishes asynchronously, so poll.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var res testResult
		if err := c.Call(ctx, "last-canceled", nil, &res, nil); err != nil {
			t.Fatal(err)
		}
		if res.Text == "true" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the handler never saw the cancellation")
		}
		time.Sleep(10 * time.Millisecond)
	}

	stop := errors.New("enough")
	n := 0
	err = c.Call(ctx, "echo", testRequest{N: 1000, Every: 5 * time.Millisecond}, nil, func(Event) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("error %v after %d events, want %v after 3", err, n, stop)
	}
	if err := c.Call(ctx, "echo", testRequest{}, nil, nil); err != nil {
		t.Fatalf("helper after an abandoned stream: %v", err)
	}
}

func TestStderrForwardingAndStrayStdout(t *testing.T) {
	ctx := testContext(t)
	var logs syncBuffer
	opts := helperOptions(t, "serve")
	opts.Stderr = &logs
	opts.Name = "detector"
	c := startServe(t, ctx, opts)
	var res testResult
	if err := c.Call(ctx, "stray", nil, &res, nil); err != nil || res.Text != "ok" {
		t.Fatalf("stray print broke the protocol: %v %+v", err, res)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf("detector[%d]: a stray line on stdout\n", c.PID()),
		fmt.Sprintf("detector[%d]: a line on stderr\n", c.PID()),
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("stderr forwarding lacks %q; got:\n%s", want, logs.String())
		}
	}
}

func TestCloseIsOrderly(t *testing.T) {
	ctx := testContext(t)
	c := startServe(t, ctx, helperOptions(t, "serve"))
	if err := c.Call(ctx, "echo", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if !c.state.Success() {
		t.Errorf("helper ended with %v, want exit status 0", c.state)
	}
	assertReaped(t, c)
	if err := c.Call(ctx, "echo", nil, nil, nil); !errors.Is(err, ErrClosed) || err.Error() != "helper closed" {
		t.Errorf("call after close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

// Cancelling Start's context kills the helper's whole process group, also
// what the helper started, and fails the call in flight.
func TestStartContextKillsProcessGroup(t *testing.T) {
	ctx := testContext(t)
	hctx, kill := context.WithCancel(ctx)
	c := startServe(t, hctx, helperOptions(t, "serve"))
	var res testResult
	if err := c.Call(ctx, "spawn", nil, &res, nil); err != nil {
		t.Fatal(err)
	}
	grandchild := res.PID
	errc := make(chan error, 1)
	go func() { errc <- c.Call(ctx, "hang", nil, nil, nil) }()
	time.Sleep(50 * time.Millisecond)
	kill()
	err := <-errc
	if err == nil || err.Error() != "helper killed: context canceled" || !errors.Is(err, ErrClosed) {
		t.Errorf("call in flight: %v", err)
	}
	assertReaped(t, c)
	deadline := time.Now().Add(5 * time.Second)
	for !gone(grandchild) {
		if time.Now().After(deadline) {
			syscall.Kill(grandchild, syscall.SIGKILL)
			t.Fatalf("grandchild %d survived its helper's process group being killed", grandchild)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
