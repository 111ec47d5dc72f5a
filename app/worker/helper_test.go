//go:build unix

package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests run real helper processes: the test binary re-executes itself
// with helperModeEnv set, and TestMain then plays the helper instead of
// running tests.
const helperModeEnv = "FACEMIRROR_WORKER_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode, ok := os.LookupEnv(helperModeEnv); ok {
		os.Exit(runTestHelper(mode))
	}
	os.Exit(m.Run())
}

// runTestHelper is the helper side. Mode "serve" is a well-behaved server
// with the test handlers; the other modes misbehave before or during the
// handshake.
func runTestHelper(mode string) int {
	out, err := ReserveStdout()
	if err != nil {
		fmt.Fprintln(os.Stderr, "reserve stdout:", err)
		return 1
	}
	switch mode {
	case "serve":
		err := Serve(context.Background(), os.Stdin, out, ServerOptions{
			Handlers: testHandlers(out),
			Program:  "worker.test",
			Version:  "test",
			Log:      os.Stderr,
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "serve:", err)
			return 1
		}
		return 0
	case "version99":
		if _, err := readFrame(os.Stdin); err != nil {
			return 1
		}
		data, _ := json.Marshal(Hello{Protocol: 99, PID: os.Getpid()})
		buf, _ := encodeFrame(&message{Type: typeHello, Data: data})
		out.Write(buf)
		time.Sleep(time.Minute)
		return 0
	case "silent":
		time.Sleep(time.Minute)
		return 0
	case "quit":
		return 0
	case "garbage-hello":
		fmt.Fprint(out, "this is not a frame\n")
		time.Sleep(time.Minute)
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	return 1
}

// testRequest is the request of every test handler; each uses what it needs.
type testRequest struct {
	Text   string        `json:"text,omitempty"`
	N      int           `json:"n,omitempty"`
	Every  time.Duration `json:"every,omitempty"`
	File   string        `json:"file,omitempty"`
	Status int           `json:"status,omitempty"`
	Size   int           `json:"size,omitempty"`
	Binary bool          `json:"binary,omitempty"`
}

// bulkEvent is the event of the "bulk" handler: binary data, base64 in
// the JSON.
type bulkEvent struct {
	Index int    `json:"index"`
	Data  []byte `json:"data"`
}

type testResult struct {
	Text string `json:"text"`
	PID  int    `json:"pid"`
}

// testHandlers are the request kinds of the "serve" helper. out is the
// protocol stream, for the handler that corrupts it.
func testHandlers(out *os.File) map[string]Handler {
	var mu sync.Mutex
	lastCanceled := false
	decode := func(call *Call) (testRequest, error) {
		var r testRequest
		err := call.Decode(&r)
		return r, err
	}
	// appendLine records that a handler ran, for counting attempts.
	appendLine := func(path string) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintln(f, os.Getpid())
			f.Close()
		}
	}
	handlers := map[string]Handler{
		// echo emits N "tick" events Every apart, then returns Text.
		"echo": func(ctx context.Context, call *Call) (any, error) {
			r, err := decode(call)
			if err != nil {
				return nil, err
			}
			for i := 0; i < r.N; i++ {
				if err := call.Emit("tick", i); err != nil {
					return nil, err
				}
				select {
				case <-time.After(r.Every):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			return testResult{Text: r.Text, PID: os.Getpid()}, nil
		},
		// bulk emits N events carrying Size bytes each, as binary events
		// with Binary.
		"bulk": func(ctx context.Context, call *Call) (any, error) {
			r, err := decode(call)
			if err != nil {
				return nil, err
			}
			data := make([]byte, r.Size)
			for i := range data {
				data[i] = byte(i * 7)
			}
			for i := 0; i < r.N; i++ {
				if r.Binary {
					// The index in the first byte, the data after it.
					data[0] = byte(i)
					if err := call.EmitBytes("bulk", data); err != nil {
						return nil, err
					}
					continue
				}
				if err := call.Emit("bulk", bulkEvent{Index: i, Data: data}); err != nil {
					return nil, err
				}
			}
			return testResult{PID: os.Getpid()}, nil
		},
		// quiet works for N×Every without events, calling Alive.
		"quiet": func(ctx context.Context, call *Call) (any, error) {
			r, err := decode(call)
			if err != nil {
				return nil, err
			}
			for i := 0; i < r.N; i++ {
				time.Sleep(r.Every)
				if err := call.Alive(); err != nil {
					return nil, err
				}
			}
			return testResult{Text: "done", PID: os.Getpid()}, nil
		},
		"exit": func(ctx context.Context, call *Call) (any, error) {
			r, _ := decode(call)
			if r.File != "" {
				appendLine(r.File)
			}
			os.Exit(r.Status)
			return nil, nil
		},
		// exit-once crashes when File does not exist yet (creating it), and
		// succeeds otherwise: a helper that fails once.
		"exit-once": func(ctx context.Context, call *Call) (any, error) {
			r, _ := decode(call)
			if _, err := os.Stat(r.File); err != nil {
				appendLine(r.File)
				os.Exit(3)
			}
			return testResult{Text: "second try", PID: os.Getpid()}, nil
		},
		// segv-caught raises SIGSEGV with the Go runtime's handler in
		// place, as a crash inside C code does.
		"segv-caught": func(ctx context.Context, call *Call) (any, error) {
			_ = syscall.Kill(os.Getpid(), syscall.SIGSEGV)
			time.Sleep(time.Minute)
			return nil, nil
		},
		"panic-goroutine": func(ctx context.Context, call *Call) (any, error) {
			go panic("boom in a helper goroutine")
			time.Sleep(time.Minute)
			return nil, nil
		},
		"panic": func(ctx context.Context, call *Call) (any, error) {
			panic("boom in a handler")
		},
		// hang neither reports nor listens to cancellation.
		"hang": func(ctx context.Context, call *Call) (any, error) {
			select {}
		},
		"garbage": func(ctx context.Context, call *Call) (any, error) {
			fmt.Fprint(out, "\x00\x00\x00\x05oops!")
			select {}
		},
		"stray": func(ctx context.Context, call *Call) (any, error) {
			fmt.Println("a stray line on stdout")
			fmt.Fprintln(os.Stderr, "a line on stderr")
			return testResult{Text: "ok", PID: os.Getpid()}, nil
		},
		"fail": func(ctx context.Context, call *Call) (any, error) {
			r, _ := decode(call)
			if r.File != "" {
				appendLine(r.File)
			}
			return nil, Coded("no_face", errors.New(r.Text))
		},
		// wait blocks until cancelled and remembers that it was.
		"wait": func(ctx context.Context, call *Call) (any, error) {
			<-ctx.Done()
			mu.Lock()
			lastCanceled = true
			mu.Unlock()
			return nil, ctx.Err()
		},
		"last-canceled": func(ctx context.Context, call *Call) (any, error) {
			mu.Lock()
			defer mu.Unlock()
			return testResult{Text: strconv.FormatBool(lastCanceled)}, nil
		},
		// spawn starts a long-lived grandchild in the helper's process
		// group and returns its pid.
		"spawn": func(ctx context.Context, call *Call) (any, error) {
			cmd := exec.Command("sleep", "60")
			if err := cmd.Start(); err != nil {
				return nil, err
			}
			return testResult{PID: cmd.Process.Pid}, nil
		},
	}
	for k, h := range osHandlers() {
		handlers[k] = h
	}
	return handlers
}
