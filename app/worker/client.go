package worker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Defaults for Options.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultCloseTimeout = 5 * time.Second
)

// exitGrace is how long a helper that closed its output gets to exit before
// it is killed; a crashed process is reaped well within it.
const exitGrace = 2 * time.Second

// stderrTailLines is how many of a helper's last stderr lines a HelperError
// keeps.
const stderrTailLines = 20

// Options configures one helper process.
type Options struct {
	// Exe is the helper binary; empty means this program (os.Executable).
	Exe string
	// Args are the arguments after Exe, for example {"worker", "--ep", "cpu"}.
	Args []string
	// Env is the helper's environment; nil inherits this process's.
	Env []string
	// Dir is the helper's working directory; empty inherits.
	Dir string
	// Stderr receives the helper's standard error line by line, each line
	// prefixed with "Name[pid]: ". Nil discards it (the last lines are still
	// kept for HelperError.Stderr). It may be shared by several helpers if
	// it is safe for concurrent use; Pool makes it so.
	Stderr io.Writer
	// Name prefixes the helper's stderr lines; empty means "helper".
	Name string
	// Timeout is how long a request in flight may go without any message
	// from the helper before the helper is declared hung and killed. Zero
	// means DefaultTimeout.
	Timeout time.Duration
	// StartTimeout bounds the handshake; zero means Timeout.
	StartTimeout time.Duration
	// CloseTimeout is how long Close waits for an orderly exit before it
	// kills the helper; zero means DefaultCloseTimeout.
	CloseTimeout time.Duration
	// Nice, when positive, is the nice value the helper and the programs
	// it starts run at (Unix: lower CPU priority), so that a window
	// sharing the cores with them stays responsive. Zero leaves the
	// helper at this process's priority.
	Nice int
}

func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = "helper"
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = o.Timeout
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = DefaultCloseTimeout
	}
	return o
}

// Event is one streamed event of a request.
type Event struct {
	// Kind names the event, as chosen by the handler.
	Kind string
	// Data is the event's JSON, or with Binary its bytes as the handler
	// passed them to Call.EmitBytes.
	Data json.RawMessage
	// Binary tells that the handler sent Data with EmitBytes.
	Binary bool
	// Attempt is 1, or 2 when a Pool retries the request on a fresh helper
	// (the retry's events start again from the beginning).
	Attempt int
}

// Decode unmarshals the event's JSON into v. A binary event has no JSON:
// read its Data.
func (e Event) Decode(v any) error {
	if e.Binary {
		return fmt.Errorf("decode %s event: a binary event has no JSON", e.Kind)
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("decode %s event: %w", e.Kind, err)
	}
	return nil
}

// Client is a running helper process and the client side of its protocol.
// Its methods are safe for concurrent use; several calls may be in flight.
type Client struct {
	opts  Options
	proc  *os.Process
	pid   int
	hello Hello

	in  *os.File // our end of the helper's stdin
	out *os.File // our end of the helper's stdout
	wmu sync.Mutex

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]*pending
	failure *HelperError
	closing bool

	dead       chan struct{}    // closed when failure is set
	exited     chan struct{}    // closed when the process has been reaped
	waitErr    error            // valid after exited
	state      *os.ProcessState // valid after exited
	stderrDone chan struct{}
	tail       lineTail
}

// pending is a request in flight.
type pending struct {
	kind     string
	last     time.Time // last message for it; guarded by Client.mu
	canceled bool      // guarded by Client.mu
	box      *inbox
}

// Start starts a helper and completes the handshake. The helper lives until
// Close, until it fails, or until ctx is cancelled, whichever comes first;
// then its process group is killed and the process reaped.
func Start(ctx context.Context, opts Options) (*Client, error) {
	opts = opts.withDefaults()
	exe := opts.Exe
	if exe == "" {
		self, err := os.Executable()
		if err != nil {
			return nil, helperErr(ErrStart, "start helper: find this program: %v", err)
		}
		exe = self
	}
	if err := ctx.Err(); err != nil {
		return nil, helperErr(ErrStart, "start helper: %v", err)
	}

	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			files = append(files, r, w)
		}
		return r, w, err
	}
	inR, inW, err1 := pipe()
	outR, outW, err2 := pipe()
	errR, errW, err3 := pipe()
	if err := errors.Join(err1, err2, err3); err != nil {
		closeAll()
		return nil, helperErr(ErrStart, "start helper: %v", err)
	}

	proc, err := startProcess(exe, opts, [3]*os.File{inR, outW, errW})
	if err != nil {
		closeAll()
		return nil, helperErr(ErrStart, "start helper %s: %v", exe, err)
	}
	// The child has its copies; ours would keep the pipes open after it dies.
	inR.Close()
	outW.Close()
	errW.Close()

	c := &Client{
		opts:       opts,
		proc:       proc,
		pid:        proc.Pid,
		in:         inW,
		out:        outR,
		pending:    map[uint64]*pending{},
		dead:       make(chan struct{}),
		exited:     make(chan struct{}),
		stderrDone: make(chan struct{}),
		tail:       lineTail{max: stderrTailLines},
	}
	go c.wait()
	go c.forwardStderr(errR)
	go func() {
		select {
		case <-ctx.Done():
			c.fail(helperErr(ErrClosed, "helper killed: %v", ctx.Err()))
		case <-c.dead:
		}
	}()

	if err := c.handshake(); err != nil {
		// Reap it before saying so: a failed start leaves nothing behind.
		c.fail(err)
		<-c.exited
		return nil, c.Err()
	}
	go c.watch()
	return c, nil
}

// handshake sends the client's hello and checks the helper's answer.
func (c *Client) handshake() *HelperError {
	hello, _ := json.Marshal(Hello{Protocol: ProtocolVersion, Program: "facemirror", PID: os.Getpid()})
	if err := c.send(&message{Type: typeHello, Data: hello}); err != nil {
		c.writeFailed(err)
		return c.failure
	}
	first := make(chan *message, 1)
	proceed := make(chan struct{})
	go c.read(first, proceed)

	timer := time.NewTimer(c.opts.StartTimeout)
	defer timer.Stop()
	var m *message
	select {
	case m = <-first:
	case <-timer.C:
		return helperErr(ErrStalled, "helper did not answer the handshake within %v", c.opts.StartTimeout)
	case <-c.dead:
		return c.failure
	}
	switch {
	case m.Type == typeError && m.Error != nil:
		return helperErr(ErrGarbage, "helper rejected the handshake: %s", m.Error.Message)
	case m.Type != typeHello:
		return helperErr(ErrGarbage, "helper sent garbage: %q message instead of hello", m.Type)
	}
	if err := json.Unmarshal(m.Data, &c.hello); err != nil {
		return helperErr(ErrGarbage, "helper sent garbage: bad hello: %v", err)
	}
	if c.hello.Protocol != ProtocolVersion {
		return helperErr(ErrVersion, "helper speaks protocol %d, this program speaks protocol %d", c.hello.Protocol, ProtocolVersion)
	}
	close(proceed)
	return nil
}

// Hello returns the helper's handshake answer.
func (c *Client) Hello() Hello { return c.hello }

// PID returns the helper's process id.
func (c *Client) PID() int { return c.pid }

// ProcessState returns how the helper process ended (exit status, and
// through SysUsage its resource usage such as peak memory), or nil while it
// has not been reaped.
func (c *Client) ProcessState() *os.ProcessState {
	select {
	case <-c.exited:
		return c.state
	default:
		return nil
	}
}

// Done is closed when the helper has failed or been closed.
func (c *Client) Done() <-chan struct{} { return c.dead }

// Err returns nil while the helper is usable, and afterwards the
// *HelperError that ended it.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failure == nil {
		return nil
	}
	return c.failure
}

// Call sends a request of the given kind with req as its JSON data, passes
// each streamed event to onEvent (which may be nil) in order, and decodes the
// final result into result (which may be nil). onEvent runs on the caller's
// goroutine; if it returns an error the request is cancelled and Call returns
// that error.
//
// The error is ctx.Err() when ctx ends first (the helper is told to cancel
// the request), a *RemoteError when the handler failed, or a *HelperError
// when the helper failed as a whole.
func (c *Client) Call(ctx context.Context, kind string, req, result any, onEvent func(Event) error) error {
	var data json.RawMessage
	if req != nil {
		b, err := json.Marshal(req)
		if err != nil {
			return fmt.Errorf("encode %s request: %w", kind, err)
		}
		data = b
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	if c.failure != nil {
		c.mu.Unlock()
		return c.failure
	}
	c.nextID++
	id := c.nextID
	p := &pending{kind: kind, last: time.Now(), box: newInbox()}
	c.pending[id] = p
	c.mu.Unlock()

	if err := c.send(&message{Type: typeRequest, ID: id, Kind: kind, Data: data}); err != nil {
		c.writeFailed(err)
		return c.Err()
	}

	dead := false
	for {
		for _, m := range p.box.take() {
			switch m.Type {
			case typeEvent:
				if onEvent == nil {
					continue
				}
				if err := onEvent(Event{Kind: m.Kind, Data: m.Data, Binary: m.bin, Attempt: 1}); err != nil {
					c.cancel(id, p)
					return err
				}
			case typeResult:
				if result != nil {
					if err := json.Unmarshal(m.Data, result); err != nil {
						return fmt.Errorf("decode %s result: %w", kind, err)
					}
				}
				return nil
			case typeError:
				re := &RemoteError{Kind: kind, Code: CodeFailed, Message: "helper reported an error without a message"}
				if m.Error != nil {
					re.Code, re.Message = m.Error.Code, m.Error.Message
				}
				return re
			}
		}
		if dead {
			return c.Err()
		}
		select {
		case <-p.box.notify:
		case <-ctx.Done():
			c.cancel(id, p)
			return ctx.Err()
		case <-c.dead:
			// Messages read before the failure still count: one more pass.
			dead = true
		}
	}
}

// cancel tells the helper to stop a request the caller gave up on. The
// request stays pending until its final message, so a helper that never
// finishes it is still caught by the watchdog.
func (c *Client) cancel(id uint64, p *pending) {
	c.mu.Lock()
	p.canceled = true
	_, inFlight := c.pending[id]
	c.mu.Unlock()
	if !inFlight {
		return
	}
	// A hung helper may not read its input; the caller must not wait on it.
	go func() {
		if err := c.send(&message{Type: typeCancel, ID: id}); err != nil {
			c.writeFailed(err)
		}
	}()
}

// Close shuts the helper down in order: it asks the helper to stop, waits
// up to Options.CloseTimeout for it to exit, then kills its process group.
// Requests still in flight end with an error. Close returns an error only
// if an orderly shutdown went wrong; a helper that had already failed closes
// without one (its calls reported the failure).
func (c *Client) Close() error {
	c.mu.Lock()
	already := c.closing
	c.closing = true
	failed := c.failure != nil
	c.mu.Unlock()
	if already {
		<-c.exited
		return nil
	}
	var err error
	if !failed {
		go func() {
			_ = c.send(&message{Type: typeShutdown})
			c.in.Close()
		}()
		timer := time.NewTimer(c.opts.CloseTimeout)
		select {
		case <-c.exited:
			if c.waitErr != nil {
				err = fmt.Errorf("helper %d exited after shutdown: %v", c.pid, c.waitErr)
			}
		case <-timer.C:
			err = fmt.Errorf("helper %d did not exit within %v of shutdown; killed it", c.pid, c.opts.CloseTimeout)
		}
		timer.Stop()
	}
	c.fail(helperErr(ErrClosed, "helper closed"))
	<-c.exited
	// Its last words, unless something outside its process group still
	// holds the stderr pipe.
	select {
	case <-c.stderrDone:
	case <-time.After(exitGrace):
	}
	return err
}

// send writes one frame. Writes are serialised so frames never interleave.
func (c *Client) send(m *message) error {
	buf, err := encodeFrame(m)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err = c.in.Write(buf)
	return err
}

// read is the only reader of the helper's stdout. It hands the first
// message to Start, waits for the handshake to be accepted, then routes
// messages to their requests until the stream ends.
func (c *Client) read(first chan<- *message, proceed <-chan struct{}) {
	defer c.out.Close()
	m, err := readFrame(c.out)
	if err != nil {
		c.readFailed(err)
		return
	}
	first <- m
	select {
	case <-proceed:
	case <-c.dead:
		return
	}
	for {
		m, err := readFrame(c.out)
		if err != nil {
			c.readFailed(err)
			return
		}
		switch m.Type {
		case typeEvent, typeHeartbeat, typeResult, typeError:
		default:
			c.fail(helperErr(ErrGarbage, "helper sent garbage: unexpected %q message", m.Type))
			return
		}
		if m.ID == 0 {
			msg := "no reason given"
			if m.Error != nil {
				msg = m.Error.Message
			}
			c.fail(helperErr(ErrGarbage, "helper rejected the connection: %s", msg))
			return
		}
		final := m.Type == typeResult || m.Type == typeError
		c.mu.Lock()
		p := c.pending[m.ID]
		deliver := p != nil && !p.canceled && m.Type != typeHeartbeat
		if p != nil {
			p.last = time.Now()
			if final {
				delete(c.pending, m.ID)
			}
		}
		c.mu.Unlock()
		if deliver {
			p.box.put(m)
		}
	}
}

// readFailed classifies the end of the helper's output.
func (c *Client) readFailed(err error) {
	var g *garbageError
	if errors.As(err, &g) {
		c.fail(helperErr(ErrGarbage, "helper sent garbage: %s", g.detail))
		return
	}
	// The output ended: normally because the process is gone. Its exit
	// status says how; give it a moment to be reaped.
	timer := time.NewTimer(exitGrace)
	defer timer.Stop()
	select {
	case <-c.exited:
	case <-c.dead:
		return
	case <-timer.C:
		c.fail(helperErr(ErrExited, "helper closed its output but did not exit (%v)", err))
		return
	}
	c.mu.Lock()
	closing := c.closing
	c.mu.Unlock()
	if closing {
		c.fail(helperErr(ErrClosed, "helper closed"))
		return
	}
	// A crashing Go program prints its reason just before it dies; let the
	// forwarder catch up so the error carries it.
	select {
	case <-c.stderrDone:
	case <-time.After(500 * time.Millisecond):
	}
	msg := "helper exited: " + exitText(c.waitErr)
	if cause := c.tail.cause(); cause != "" {
		msg += " (" + cause + ")"
	}
	c.fail(helperErr(ErrExited, "%s", msg))
}

// writeFailed handles a failed write to the helper's input, which almost
// always means the helper is gone; the reader then reports how it ended.
func (c *Client) writeFailed(err error) {
	timer := time.NewTimer(exitGrace + time.Second)
	defer timer.Stop()
	select {
	case <-c.dead:
	case <-timer.C:
		c.fail(helperErr(ErrExited, "helper stopped reading its input: %v", err))
	}
}

// fail records the helper's failure once, fails every request in flight and
// kills the process group.
func (c *Client) fail(he *HelperError) {
	c.mu.Lock()
	if c.failure != nil {
		c.mu.Unlock()
		return
	}
	he.PID = c.pid
	he.Stderr = c.tail.lines()
	c.failure = he
	c.mu.Unlock()
	close(c.dead)
	killGroup(c.proc)
	c.in.Close()
}

// wait reaps the helper, then kills whatever it left behind in its group.
func (c *Client) wait() {
	st, err := c.proc.Wait()
	if err == nil && !st.Success() {
		err = &exec.ExitError{ProcessState: st}
	}
	c.state, c.waitErr = st, err
	killGroup(c.proc)
	close(c.exited)
}

// watch declares the helper hung when a request in flight has heard
// nothing for the timeout.
func (c *Client) watch() {
	period := c.opts.Timeout / 10
	period = min(max(period, 5*time.Millisecond), time.Second)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-c.dead:
			return
		case now := <-t.C:
			c.mu.Lock()
			stalled := false
			for _, p := range c.pending {
				if now.Sub(p.last) > c.opts.Timeout {
					stalled = true
				}
			}
			c.mu.Unlock()
			if stalled {
				c.fail(helperErr(ErrStalled, "helper stopped answering for %v", c.opts.Timeout))
				return
			}
		}
	}
}

// forwardStderr copies the helper's stderr line by line to Options.Stderr
// with a prefix and keeps the last lines. Overlong lines are cut, never
// buffered without bound.
func (c *Client) forwardStderr(r *os.File) {
	defer close(c.stderrDone)
	defer r.Close()
	prefix := fmt.Sprintf("%s[%d]: ", c.opts.Name, c.pid)
	br := bufio.NewReaderSize(r, 4096)
	const maxLine = 16 << 10
	var line []byte
	skipping := false
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			if len(line) > 0 {
				c.emitStderr(prefix, line)
			}
			return
		}
		if !skipping {
			room := maxLine - len(line)
			if len(chunk) > room {
				line = append(line, chunk[:room]...)
				line = append(line, " [cut]"...)
				skipping = true
			} else {
				line = append(line, chunk...)
			}
		}
		if !isPrefix {
			c.emitStderr(prefix, line)
			line = line[:0]
			skipping = false
		}
	}
}

func (c *Client) emitStderr(prefix string, line []byte) {
	c.tail.add(string(line))
	if c.opts.Stderr != nil {
		out := make([]byte, 0, len(prefix)+len(line)+1)
		out = append(append(append(out, prefix...), line...), '\n')
		_, _ = c.opts.Stderr.Write(out)
	}
}

// exitText describes how a process ended, as exec reports it
// ("exit status 2", "signal: segmentation fault").
func exitText(waitErr error) string {
	if waitErr == nil {
		return "exit status 0"
	}
	return waitErr.Error()
}

// inbox is an unbounded queue of one request's messages. Unbounded so that
// a slow onEvent never stops the reader, which would stall every other
// request and trip the watchdog.
type inbox struct {
	mu     sync.Mutex
	items  []*message
	notify chan struct{}
}

func newInbox() *inbox {
	return &inbox{notify: make(chan struct{}, 1)}
}

func (b *inbox) put(m *message) {
	b.mu.Lock()
	b.items = append(b.items, m)
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

func (b *inbox) take() []*message {
	b.mu.Lock()
	defer b.mu.Unlock()
	items := b.items
	b.items = nil
	return items
}

// lineTail keeps the last max lines written to it, and the first line that
// looks like the Go runtime's reason for dying. A helper killed by the Go
// runtime exits with status 2, which says nothing by itself; the runtime's
// first line ("panic: ...", "fatal error: ...", "SIGSEGV: segmentation
// violation" for a crash inside C code) does, and it is usually far above
// the goroutine dump that ends the output.
type lineTail struct {
	mu    sync.Mutex
	max   int
	store []string
	first string
}

func (t *lineTail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.store = append(t.store, line)
	if len(t.store) > t.max {
		t.store = append(t.store[:0], t.store[len(t.store)-t.max:]...)
	}
	if t.first == "" && isDeathLine(line) {
		t.first = line
	}
}

func (t *lineTail) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.store...)
}

func (t *lineTail) cause() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.first
}

// isDeathLine reports whether line starts the Go runtime's crash report.
func isDeathLine(line string) bool {
	if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
		return true
	}
	// "SIGSEGV: segmentation violation", "SIGBUS: bus error", ...
	name, _, ok := strings.Cut(line, ": ")
	if !ok || len(name) < 5 || !strings.HasPrefix(name, "SIG") {
		return false
	}
	for _, r := range name[3:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
