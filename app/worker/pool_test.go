//go:build unix

package worker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// newTestPool returns a pool of "serve" helpers.
func newTestPool(t *testing.T, ctx context.Context, size int, log *syncBuffer) *Pool {
	return newTestPoolTimeout(t, ctx, size, log, 10*time.Second)
}

func newTestPoolTimeout(t *testing.T, ctx context.Context, size int, log *syncBuffer, timeout time.Duration) *Pool {
	t.Helper()
	opts := helperOptions(t, "serve")
	opts.Timeout = timeout
	popts := PoolOptions{Size: size, Helper: opts}
	if log != nil {
		popts.Log = log
	}
	p := NewPool(ctx, popts)
	t.Cleanup(func() { p.Close() })
	return p
}

// startedHelpers returns how many helpers the pool has started.
func startedHelpers(p *Pool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}

// attempts returns the pids that ran a handler which logs to path.
func attempts(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

func TestPoolRetriesOnceOnAFreshHelper(t *testing.T) {
	ctx := testContext(t)
	var log syncBuffer
	p := newTestPool(t, ctx, 1, &log)
	file := filepath.Join(t.TempDir(), "attempts")

	var res testResult
	if err := p.Call(ctx, "exit-once", testRequest{File: file}, &res, nil); err != nil {
		t.Fatalf("a helper that crashes once: %v", err)
	}
	if res.Text != "second try" {
		t.Errorf("result %+v", res)
	}
	runs := attempts(t, file)
	if len(runs) != 1 || runs[0] == "" {
		t.Errorf("crashing attempts %v, want 1", runs)
	}
	if want := "exit-once request: helper exited: exit status 3; retrying once on a fresh helper\n"; log.String() != want {
		t.Errorf("log %q, want %q", log.String(), want)
	}
}

func TestPoolSurfacesTheSecondFailure(t *testing.T) {
	cases := []struct {
		kind string
		req  testRequest
		want string
	}{
		{"exit", testRequest{Status: 3}, "helper exited: exit status 3"},
		{"hang", testRequest{}, "helper stopped answering for 300ms"},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			ctx := testContext(t)
			var log syncBuffer
			p := newTestPoolTimeout(t, ctx, 2, &log, 300*time.Millisecond)
			tc.req.File = filepath.Join(t.TempDir(), "attempts")
			err := p.Call(ctx, tc.kind, tc.req, nil, nil)
			if err == nil || err.Error() != tc.want || !IsHelperFailure(err) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if n := strings.Count(log.String(), "retrying once"); n != 1 {
				t.Errorf("%d retries logged, want 1:\n%s", n, log.String())
			}
			if tc.kind == "exit" {
				runs := attempts(t, tc.req.File)
				if len(runs) != 2 || runs[0] == runs[1] {
					t.Errorf("attempts ran in helpers %v, want 2 different ones", runs)
				}
			}
		})
	}
}

func TestPoolDoesNotRetryRequestErrors(t *testing.T) {
	ctx := testContext(t)
	var log syncBuffer
	p := newTestPool(t, ctx, 1, &log)
	file := filepath.Join(t.TempDir(), "attempts")
	err := p.Call(ctx, "fail", testRequest{Text: "no face found", File: file}, nil, nil)
	if RemoteCode(err) != "no_face" || err.Error() != "no face found" {
		t.Fatalf("error %v", err)
	}
	if runs := attempts(t, file); len(runs) != 1 {
		t.Errorf("ran %d times, want 1", len(runs))
	}
	if log.String() != "" {
		t.Errorf("unexpected log %q", log.String())
	}
}

func TestPoolStartsLazilyAndBoundsHelpers(t *testing.T) {
	ctx := testContext(t)
	p := newTestPool(t, ctx, 2, nil)
	if n := startedHelpers(p); n != 0 {
		t.Fatalf("%d helpers started before any request", n)
	}
	var (
		mu   sync.Mutex
		pids = map[int]bool{}
		wg   sync.WaitGroup
		errs = make([]error, 6)
	)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var res testResult
			errs[i] = p.Call(ctx, "echo", testRequest{N: 3, Every: 20 * time.Millisecond}, &res, nil)
			mu.Lock()
			pids[res.PID] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := startedHelpers(p); len(pids) != 2 || n != 2 {
		t.Errorf("requests ran in %d helpers (%d started), want 2", len(pids), n)
	}
}

// Warm starts helpers ahead of the requests, which then run in them; it
// never starts more than Size.
func TestPoolWarm(t *testing.T) {
	ctx := testContext(t)
	p := newTestPool(t, ctx, 2, nil)
	p.Warm(5)
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.mu.Lock()
		idle := len(p.idle)
		p.mu.Unlock()
		if idle == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d warm helpers idle after 10 s, want 2", idle)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var res testResult
	if err := p.Call(ctx, "echo", nil, &res, nil); err != nil {
		t.Fatal(err)
	}
	if n := startedHelpers(p); n != 2 {
		t.Errorf("%d helpers started, want the 2 warmed", n)
	}
}

// A request made while a helper is being warmed waits for it instead of
// starting another, even with a slot free.
func TestPoolRequestTakesTheWarmingHelper(t *testing.T) {
	ctx := testContext(t)
	p := newTestPool(t, ctx, 2, nil)
	p.Warm(1)
	var res testResult
	if err := p.Call(ctx, "echo", nil, &res, nil); err != nil {
		t.Fatal(err)
	}
	if n := startedHelpers(p); n != 1 {
		t.Errorf("%d helpers started, want the one warmed", n)
	}
}

// Close waits for the helpers Warm is still starting and shuts them down.
func TestPoolCloseWhileWarming(t *testing.T) {
	ctx := testContext(t)
	p := newTestPool(t, ctx, 2, nil)
	p.Warm(2)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	states := p.ExitStates()
	if started := startedHelpers(p); len(states) != started {
		t.Errorf("%d of %d started helpers have exited after Close", len(states), started)
	}
}

// A helper that dies between requests is replaced without using up the
// request's retry.
func TestPoolReplacesAHelperThatDiedIdle(t *testing.T) {
	ctx := testContext(t)
	var log syncBuffer
	p := newTestPool(t, ctx, 1, &log)
	var first, second testResult
	if err := p.Call(ctx, "echo", nil, &first, nil); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	idle := p.idle[0]
	p.mu.Unlock()
	syscall.Kill(first.PID, syscall.SIGKILL)
	<-idle.Done()
	if err := p.Call(ctx, "echo", nil, &second, nil); err != nil {
		t.Fatal(err)
	}
	if second.PID == first.PID || second.PID == 0 {
		t.Errorf("second request ran in pid %d, first in %d", second.PID, first.PID)
	}
	if log.String() != "" {
		t.Errorf("a retry was logged: %q", log.String())
	}
}

func TestPoolWaitsForAFreeHelperUntilCancelled(t *testing.T) {
	ctx := testContext(t)
	p := newTestPool(t, ctx, 1, nil)
	busy, release := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Call(busy, "wait", nil, nil, nil) }()
	time.Sleep(100 * time.Millisecond)

	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := p.Call(wctx, "echo", nil, nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("call without a free helper: %v, want deadline exceeded", err)
	}
	release()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call: %v", err)
	}
	if err := p.Call(ctx, "echo", nil, nil, nil); err != nil {
		t.Errorf("call after the helper freed up: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := p.Call(ctx, "echo", nil, nil, nil); !errors.Is(err, ErrPoolClosed) {
		t.Errorf("call on a closed pool: %v", err)
	}
}

// Every helper the pool started, the crashed one included, is reaped by
// Close and reports how it ended, so callers can add up their resource use.
func TestPoolExitStates(t *testing.T) {
	ctx := testContext(t)
	p := newTestPool(t, ctx, 1, nil)
	file := filepath.Join(t.TempDir(), "attempts")
	if err := p.Call(ctx, "exit-once", testRequest{File: file}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	states := p.ExitStates()
	if len(states) != 2 {
		t.Fatalf("%d exit states, want 2 (the crashed helper and its replacement)", len(states))
	}
	if got := states[0].ExitCode(); got != 3 {
		t.Errorf("crashed helper exit code %d, want 3", got)
	}
	if !states[1].Success() {
		t.Errorf("replacement helper ended with %v, want a clean exit", states[1])
	}
	for i, st := range states {
		if ru, ok := st.SysUsage().(*syscall.Rusage); !ok || ru.Maxrss <= 0 {
			t.Errorf("helper %d: no peak memory in its exit usage (%v)", i+1, st.SysUsage())
		}
	}
}
