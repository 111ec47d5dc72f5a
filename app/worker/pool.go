package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
)

// ErrPoolClosed is returned by Pool.Call after Close.
var ErrPoolClosed = errors.New("helper pool is closed")

// PoolOptions configures a Pool.
type PoolOptions struct {
	// Size is the number of helpers, and so of requests running at once;
	// values below 1 mean 1.
	Size int
	// Helper configures every helper. Its Name is numbered per helper
	// ("helper 1", "helper 2", ...). Its Stderr is shared by all helpers and
	// the pool serialises writes to it.
	Helper Options
	// Log receives one line per retry; nil means Helper.Stderr.
	Log io.Writer
	// Fallback, if set, configures the helpers that replace one that
	// failed as a whole: a pool whose helpers run an accelerated
	// execution provider, which may crash or hang where the CPU would
	// not, gives the CPU's options here. From the first such failure on,
	// the retry and every later helper of the pool start with them, and
	// helpers started before are not used again.
	Fallback *Fallback
}

// Fallback is what a pool's helpers switch to after one failed as a
// whole (PoolOptions.Fallback).
type Fallback struct {
	Helper Options
	// Why ends the log line of the switch, saying how the new helpers
	// differ: `with the CPU provider instead of "auto"`.
	Why string
}

// Pool runs requests on up to Size helpers. Helpers start when first
// needed and are reused. A request whose helper fails as a whole (a
// *HelperError: crash, hang, garbage) is retried once on a fresh helper; if
// that fails too, the second error is returned. Request errors
// (*RemoteError) are never retried.
type Pool struct {
	ctx  context.Context
	opts PoolOptions
	log  io.Writer
	sem  chan struct{}

	// warming counts the helpers Warm is starting, which Close waits
	// for so that none outlives it.
	warming sync.WaitGroup

	mu   sync.Mutex
	idle []*Client
	// starting is the number of helpers Warm is starting; warmed is
	// closed (and replaced) whenever one of them is ready or failed.
	starting int
	warmed   chan struct{}
	all      []*Client // every helper started, for ExitStates
	started  int
	closed   bool
	// gen counts the switches to Fallback (0 or 1); genOf is the
	// generation each helper was started in: older ones are retired.
	gen   int
	genOf map[*Client]int
}

// NewPool returns a pool whose helpers live at most as long as ctx.
func NewPool(ctx context.Context, opts PoolOptions) *Pool {
	if opts.Size < 1 {
		opts.Size = 1
	}
	// One lock for both writers: they are usually the same terminal.
	mu := new(sync.Mutex)
	var log io.Writer
	switch {
	case opts.Log != nil:
		log = &lockedWriter{mu: mu, w: opts.Log}
	case opts.Helper.Stderr != nil:
		log = &lockedWriter{mu: mu, w: opts.Helper.Stderr}
	}
	if opts.Helper.Stderr != nil {
		opts.Helper.Stderr = &lockedWriter{mu: mu, w: opts.Helper.Stderr}
	}
	if fb := opts.Fallback; fb != nil {
		c := *fb
		if c.Helper.Stderr != nil {
			c.Helper.Stderr = &lockedWriter{mu: mu, w: c.Helper.Stderr}
		}
		opts.Fallback = &c
	}
	return &Pool{ctx: ctx, opts: opts, log: log, sem: make(chan struct{}, opts.Size), warmed: make(chan struct{}), genOf: map[*Client]int{}}
}

// Size returns the maximum number of helpers.
func (p *Pool) Size() int { return p.opts.Size }

// Warm starts up to n helpers (at most Size) in the background, so that
// their start-up (with helpers that preload their models, about a quarter
// of a second on the development machine) overlaps what the caller does
// before its first request. Requests wait for a helper being warmed rather than start
// another. A helper that fails to start is dropped silently: the first
// request that needs it starts another and reports the failure.
func (p *Pool) Warm(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	for range min(n, p.opts.Size) {
		p.starting++
		p.warming.Add(1)
		go p.warmOne(p.nextOptionsLocked(), p.gen)
	}
}

// warmOne starts a helper for Warm and puts it with the idle ones.
func (p *Pool) warmOne(opts Options, gen int) {
	defer p.warming.Done()
	c, err := Start(p.ctx, opts)
	if err == nil {
		p.track(c, gen)
	}
	p.mu.Lock()
	p.starting--
	close(p.warmed)
	p.warmed = make(chan struct{})
	keep := err == nil && !p.closed && gen == p.gen
	if keep {
		p.idle = append(p.idle, c)
	}
	p.mu.Unlock()
	if err == nil && !keep {
		_ = c.Close()
	}
}

// nextOptionsLocked counts a new helper and returns its options, with its
// number in its name; p.mu is held.
func (p *Pool) nextOptionsLocked() Options {
	p.started++
	opts := p.opts.Helper
	if opts.Name == "" {
		opts.Name = "helper"
	}
	opts.Name = fmt.Sprintf("%s %d", opts.Name, p.started)
	return opts
}

// Call runs a request on a helper like Client.Call, waiting for a free
// helper first. Events of a retried request carry Attempt 2.
func (p *Pool) Call(ctx context.Context, kind string, req, result any, onEvent func(Event) error) error {
	for attempt := 1; ; attempt++ {
		err := p.callOnce(ctx, kind, req, result, onEvent, attempt)
		if err == nil || !IsHelperFailure(err) || attempt == 2 || ctx.Err() != nil || p.ctx.Err() != nil {
			return err
		}
		switched := p.fallBack()
		switch {
		case p.log == nil:
		case switched:
			fmt.Fprintf(p.log, "%s request: %v; retrying once on a fresh helper %s, as will every later helper of this run\n", kind, err, p.opts.Fallback.Why)
		default:
			fmt.Fprintf(p.log, "%s request: %v; retrying once on a fresh helper\n", kind, err)
		}
	}
}

func (p *Pool) callOnce(ctx context.Context, kind string, req, result any, onEvent func(Event) error, attempt int) error {
	c, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	defer p.release(c)
	var wrapped func(Event) error
	if onEvent != nil {
		wrapped = func(e Event) error {
			e.Attempt = attempt
			return onEvent(e)
		}
	}
	return c.Call(ctx, kind, req, result, wrapped)
}

// acquire takes a free slot and returns a healthy helper for it, starting
// one if none is idle.
func (p *Pool) acquire(ctx context.Context) (*Client, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.ctx.Done():
		return nil, fmt.Errorf("%w: %v", ErrPoolClosed, p.ctx.Err())
	}
	p.mu.Lock()
	for {
		if p.closed {
			p.mu.Unlock()
			<-p.sem
			return nil, ErrPoolClosed
		}
		for len(p.idle) > 0 {
			c := p.idle[len(p.idle)-1]
			p.idle = p.idle[:len(p.idle)-1]
			if c.Err() == nil && p.genOf[c] == p.gen {
				p.mu.Unlock()
				return c, nil
			}
			// It died while idle; that cost no request, so no retry is spent.
			go c.Close()
		}
		if p.starting == 0 {
			break
		}
		// A helper Warm is starting will be idle sooner than a new one.
		warmed := p.warmed
		p.mu.Unlock()
		select {
		case <-warmed:
		case <-ctx.Done():
			<-p.sem
			return nil, ctx.Err()
		case <-p.ctx.Done():
			<-p.sem
			return nil, fmt.Errorf("%w: %v", ErrPoolClosed, p.ctx.Err())
		}
		p.mu.Lock()
	}
	opts, gen := p.nextOptionsLocked(), p.gen
	p.mu.Unlock()

	// The helper belongs to the pool, not to this call, so it starts under
	// the pool's context; the caller may still give up waiting for it.
	type started struct {
		c   *Client
		err error
	}
	done := make(chan started, 1)
	go func() {
		c, err := Start(p.ctx, opts)
		done <- started{c, err}
	}()
	select {
	case s := <-done:
		if s.err != nil {
			<-p.sem
			return nil, s.err
		}
		p.track(s.c, gen)
		return s.c, nil
	case <-ctx.Done():
		go func() {
			if s := <-done; s.err == nil {
				p.track(s.c, gen)
				p.release(s.c)
			} else {
				<-p.sem
			}
		}()
		return nil, ctx.Err()
	}
}

// track records a started helper, of generation gen, for ExitStates.
func (p *Pool) track(c *Client, gen int) {
	p.mu.Lock()
	p.all = append(p.all, c)
	p.genOf[c] = gen
	p.mu.Unlock()
}

// fallBack switches the pool to PoolOptions.Fallback after a helper
// failed, once: the idle helpers, started with the options given up, are
// shut down. It reports whether it switched now.
func (p *Pool) fallBack() bool {
	p.mu.Lock()
	if p.opts.Fallback == nil || p.gen > 0 || p.closed {
		p.mu.Unlock()
		return false
	}
	p.opts.Helper = p.opts.Fallback.Helper
	p.gen++
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		_ = c.Close()
	}
	return true
}

// FellBack reports whether the pool has switched to its Fallback, with the
// Fallback's Why, so that a request retried on a fresh helper can say how
// that helper differs.
func (p *Pool) FellBack() (why string, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gen == 0 {
		return "", false
	}
	return p.opts.Fallback.Why, true
}

// ExitStates returns the process states of the pool's helpers that have
// exited and been reaped, in the order they started. After Close returns
// with no request in flight, that is every helper the pool ever started
// (those that crashed included), so their resource usage can be summed.
func (p *Pool) ExitStates() []*os.ProcessState {
	p.mu.Lock()
	all := slices.Clone(p.all)
	p.mu.Unlock()
	var out []*os.ProcessState
	for _, c := range all {
		if st := c.ProcessState(); st != nil {
			out = append(out, st)
		}
	}
	return out
}

// release returns a helper to the pool (or closes it when it failed or the
// pool is closed) and frees its slot.
func (p *Pool) release(c *Client) {
	p.mu.Lock()
	keep := !p.closed && c.Err() == nil && p.genOf[c] == p.gen
	if keep {
		p.idle = append(p.idle, c)
	}
	p.mu.Unlock()
	if !keep {
		_ = c.Close()
	}
	<-p.sem
}

// Close shuts down the idle helpers and those Warm is starting; helpers
// busy with a request are shut down when it ends. Later calls fail with
// ErrPoolClosed.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	var errs []error
	for _, c := range idle {
		errs = append(errs, c.Close())
	}
	// A helper still starting for Warm is shut down by release, now that
	// the pool is closed.
	p.warming.Wait()
	return errors.Join(errs...)
}

// lockedWriter serialises writes from several helpers' forwarders.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
