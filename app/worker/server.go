package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"sync"
)

// Handler serves one request kind in a helper. It decodes the request with
// call.Decode, may stream events with call.Emit, and returns the final result
// (encoded as JSON) or an error. ctx is cancelled when the client cancels the
// request or the helper shuts down. A handler that works for longer than the
// client's Options.Timeout without emitting anything must call call.Alive, or
// the client will take the helper for hung.
type Handler func(ctx context.Context, call *Call) (any, error)

// ServerOptions configures Serve.
type ServerOptions struct {
	// Handlers maps request kinds to their handlers.
	Handlers map[string]Handler
	// Program and Version name this binary in the hello message.
	Program, Version string
	// Log receives the stacks of recovered handler panics; nil discards them.
	Log io.Writer
}

// Call is one request as a handler sees it.
type Call struct {
	// ID is the request id the client chose.
	ID uint64
	// Kind is the request kind.
	Kind string
	// Data is the request's JSON.
	Data json.RawMessage

	send func(*message) error
}

// Decode unmarshals the request's JSON into v; a request without data
// leaves v as it is. Its error carries the code CodeBadRequest, so a handler
// can return it as is.
func (c *Call) Decode(v any) error {
	if len(c.Data) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.Data, v); err != nil {
		return Coded(CodeBadRequest, fmt.Errorf("decode %s request: %w", c.Kind, err))
	}
	return nil
}

// Emit streams an event of the given kind with v as its JSON data.
func (c *Call) Emit(kind string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", kind, err)
	}
	return c.send(&message{Type: typeEvent, ID: c.ID, Kind: kind, Data: data})
}

// EmitBytes streams an event of the given kind whose data are bytes in the
// handler's own encoding, passed to the client as they are (Event.Binary):
// for large payloads such as analysed frames, which JSON would carry as
// base64. The data are the parts one after another, copied once into the
// frame. The kind has at most 255 bytes.
func (c *Call) EmitBytes(kind string, parts ...[]byte) error {
	return c.send(&message{Type: typeEvent, ID: c.ID, Kind: kind, parts: parts, bin: true})
}

// Alive tells the client the handler is still working, without an event.
func (c *Call) Alive() error {
	return c.send(&message{Type: typeHeartbeat, ID: c.ID})
}

// Serve speaks the helper side of the protocol on in and out until the
// client shuts it down, closes in, or ctx is cancelled. Requests run
// concurrently, each in its own goroutine. It returns nil after an orderly
// end and an error when the connection broke or the client speaks another
// protocol version.
func Serve(ctx context.Context, in io.Reader, out io.Writer, opts ServerOptions) error {
	var wmu sync.Mutex
	send := func(m *message) error {
		buf, err := encodeFrame(m)
		if err != nil {
			return err
		}
		wmu.Lock()
		defer wmu.Unlock()
		_, err = out.Write(buf)
		return err
	}

	first, err := readFrame(in)
	if err != nil {
		return fmt.Errorf("read hello: %w", err)
	}
	if first.Type != typeHello {
		_ = send(&message{Type: typeError, Error: &wireError{Code: CodeBadRequest, Message: "expected hello, got " + first.Type}})
		return fmt.Errorf("expected hello, got %q", first.Type)
	}
	var theirs Hello
	if err := json.Unmarshal(first.Data, &theirs); err != nil {
		return fmt.Errorf("decode hello: %w", err)
	}
	kinds := make([]string, 0, len(opts.Handlers))
	for k := range opts.Handlers {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	mine, _ := json.Marshal(Hello{Protocol: ProtocolVersion, Program: opts.Program, Version: opts.Version, PID: os.Getpid(), Kinds: kinds})
	if err := send(&message{Type: typeHello, Data: mine}); err != nil {
		return fmt.Errorf("send hello: %w", err)
	}
	if theirs.Protocol != ProtocolVersion {
		return fmt.Errorf("client speaks protocol %d, this helper speaks protocol %d", theirs.Protocol, ProtocolVersion)
	}

	ctx, stop := context.WithCancel(ctx)
	defer stop()

	msgs := make(chan *message)
	readErr := make(chan error, 1)
	go func() {
		for {
			m, err := readFrame(in)
			if err != nil {
				readErr <- err
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()

	var (
		mu      sync.Mutex
		running = map[uint64]context.CancelFunc{}
		wg      sync.WaitGroup
	)
	defer func() {
		stop()
		wg.Wait()
	}()

	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read request: %w", err)
		case m := <-msgs:
			switch m.Type {
			case typeShutdown:
				return nil
			case typeCancel:
				mu.Lock()
				if cancel, ok := running[m.ID]; ok {
					cancel()
				}
				mu.Unlock()
			case typeRequest:
				mu.Lock()
				_, dup := running[m.ID]
				mu.Unlock()
				if m.ID == 0 || dup {
					_ = send(&message{Type: typeError, Error: &wireError{Code: CodeBadRequest, Message: fmt.Sprintf("request id %d is zero or already in use", m.ID)}})
					return fmt.Errorf("bad request id %d", m.ID)
				}
				h, ok := opts.Handlers[m.Kind]
				if !ok {
					_ = send(&message{Type: typeError, ID: m.ID, Error: &wireError{Code: CodeUnknownKind, Message: fmt.Sprintf("this helper has no %q handler", m.Kind)}})
					continue
				}
				rctx, cancel := context.WithCancel(ctx)
				mu.Lock()
				running[m.ID] = cancel
				mu.Unlock()
				wg.Add(1)
				go func() {
					defer wg.Done()
					final := runHandler(rctx, h, &Call{ID: m.ID, Kind: m.Kind, Data: m.Data, send: send}, opts.Log)
					mu.Lock()
					delete(running, m.ID)
					mu.Unlock()
					cancel()
					_ = send(final)
				}()
			default:
				_ = send(&message{Type: typeError, Error: &wireError{Code: CodeBadRequest, Message: fmt.Sprintf("unexpected %q message", m.Type)}})
				return fmt.Errorf("unexpected %q message", m.Type)
			}
		}
	}
}

// runHandler runs h and turns its outcome, including a panic, into the
// request's final message.
func runHandler(ctx context.Context, h Handler, call *Call, log io.Writer) (final *message) {
	fail := func(code string, err error) *message {
		return &message{Type: typeError, ID: call.ID, Error: &wireError{Code: code, Message: err.Error()}}
	}
	defer func() {
		if r := recover(); r != nil {
			if log != nil {
				fmt.Fprintf(log, "%s request %d panicked: %v\n%s", call.Kind, call.ID, r, debug.Stack())
			}
			final = fail(CodePanic, fmt.Errorf("%s: panic: %v", call.Kind, r))
		}
	}()
	res, err := h(ctx, call)
	if err != nil {
		var ce *codedError
		switch {
		case errors.As(err, &ce):
			return fail(ce.code, err)
		case ctx.Err() != nil && errors.Is(err, context.Canceled):
			return fail(CodeCanceled, err)
		default:
			return fail(CodeFailed, err)
		}
	}
	data, err := json.Marshal(res)
	if err != nil {
		return fail(CodeFailed, fmt.Errorf("encode %s result: %w", call.Kind, err))
	}
	return &message{Type: typeResult, ID: call.ID, Data: data}
}
