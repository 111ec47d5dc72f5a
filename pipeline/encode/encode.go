package encode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"facemirror/pipeline/video"
)

// Options describe the video a Writer produces.
type Options struct {
	Codec Codec
	// Width and Height are the frame size in pixels, any size >= 1. H264
	// stores an odd width or height one pixel larger (see the package
	// documentation); FFV1 stores it exactly.
	Width, Height int
	// Rate is the exact frame rate of a constant-rate video (e.g.
	// 30000/1001). With VariableRate it is the source's nominal (average)
	// rate, kept as the stream's nominal rate.
	Rate video.Rational
	// VariableRate: when true, each frame's presentation time passed to
	// Write is kept (the source was variable-frame-rate); when false,
	// frames are exactly 1/Rate apart and the times passed to Write are
	// ignored.
	VariableRate bool
	// AudioFrom, when not empty, is the source file whose audio stream(s)
	// are copied into the output (when it has any audio).
	AudioFrom string
	// Audio, when not nil, is AudioFrom already planned by PlanAudio (for
	// the same codec); AudioFrom is then ignored.
	Audio *Audio
	// FFmpeg is the ffmpeg program; empty means "ffmpeg" on PATH. Its
	// ffprobe is looked for beside it (needed only with AudioFrom).
	FFmpeg string
}

type state int

const (
	open state = iota
	committing
	committed
	aborted
	failed
)

// Writer feeds frames to one ffmpeg process writing one video file. Its
// methods are meant for one goroutine, except Abort, which may be called
// from any goroutine at any time (it interrupts a blocked Write or Commit).
type Writer struct {
	ctx  context.Context
	name string // the final file's base name, for errors
	path string // the final file
	tmp  string // the temporary file ffmpeg writes
	opts Options

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *tailBuffer
	exited chan struct{} // closed once cmd.Wait has returned

	frameLen         int   // bytes per frame given to Write
	streamW, streamH int   // frame size sent to ffmpeg
	padded           bool  // an odd H264 size, padded to even
	i420             bool  // ffmpeg is fed I420 (H264), not BGR
	payloadLen       int   // bytes per frame fed to ffmpeg
	frame            Frame // Write's own prepared frame
	head             []byte
	frames           int
	first, last      time.Duration

	mu      sync.Mutex
	state   state
	err     error // why the Writer failed, returned again by later calls
	waitErr error // cmd.Wait's result, valid once exited is closed
}

// Create starts writing the video that will appear at path (atomically: a
// temporary file in the same folder, renamed onto path by Commit). ctx
// cancellation kills ffmpeg and removes the temporary file.
//
// Everything that can be checked before the first frame is checked here:
// the options, that ffmpeg exists, that the folder is writable, and (with
// AudioFrom) what audio the source has.
func Create(ctx context.Context, path string, opts Options) (*Writer, error) {
	return create(ctx, path, opts, nil)
}

// create is Create; beforeStart, when not nil, is called with the
// temporary file's path just before ffmpeg starts, so tests can make the
// real ffmpeg fail in a chosen way.
func create(ctx context.Context, path string, opts Options, beforeStart func(tmp string)) (*Writer, error) {
	name := filepath.Base(path)
	fail := func(err error) (*Writer, error) {
		return nil, fmt.Errorf("encode %s: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if !opts.Codec.valid() {
		_, err := ParseCodec(string(opts.Codec))
		return fail(err)
	}
	if opts.Width < 1 || opts.Height < 1 {
		return fail(fmt.Errorf("invalid frame size %dx%d", opts.Width, opts.Height))
	}
	const maxSide = 1 << 15
	if opts.Width > maxSide || opts.Height > maxSide {
		return fail(fmt.Errorf("frame size %dx%d is larger than %d pixels on a side", opts.Width, opts.Height, maxSide))
	}
	if opts.Rate.Num <= 0 || opts.Rate.Den <= 0 || opts.Rate.Num > 1<<31-1 || opts.Rate.Den > 1<<31-1 {
		return fail(fmt.Errorf("invalid frame rate %s: need a positive Num/Den (e.g. 30000/1001)", opts.Rate))
	}
	prog := opts.FFmpeg
	if prog == "" {
		prog = "ffmpeg"
	}
	resolved, err := exec.LookPath(prog)
	if err != nil {
		return fail(notFound(opts.FFmpeg, err))
	}
	var audio audioPlan
	switch {
	case opts.Audio != nil:
		if opts.Audio.codec != opts.Codec {
			return fail(fmt.Errorf("the audio of %s was planned for %s, not %s", filepath.Base(opts.Audio.source), opts.Audio.codec, opts.Codec))
		}
		audio = opts.Audio.plan
	case opts.AudioFrom != "":
		audio, err = planAudio(ctx, ffprobeFor(resolved), opts.AudioFrom, opts.Codec)
		if err != nil {
			return fail(err)
		}
	}

	absPath, err := filepath.Abs(path)
	if err != nil {
		return fail(err)
	}
	dir := filepath.Dir(absPath)
	// The extension stays last so the file looks like what it is; the
	// muxer is named with -f regardless.
	f, err := os.CreateTemp(dir, "."+name+".tmp-*"+filepath.Ext(name))
	if err != nil {
		return fail(fmt.Errorf("cannot write in %s: %w", dir, unwrapPath(err)))
	}
	tmp := f.Name()
	f.Close()

	w := &Writer{
		ctx: ctx, name: name, path: absPath, tmp: tmp, opts: opts,
		stderr:   &tailBuffer{},
		exited:   make(chan struct{}),
		frameLen: opts.Width * opts.Height * 3,
		streamW:  opts.Width, streamH: opts.Height,
	}
	if opts.Codec == H264 {
		// yuv420p needs even sizes; the extra column and row are copies
		// of the last ones (see pad).
		w.streamW += opts.Width & 1
		w.streamH += opts.Height & 1
		w.padded = w.streamW != opts.Width || w.streamH != opts.Height
		w.i420 = true
	}
	w.payloadLen = w.streamW * w.streamH * 3
	if w.i420 {
		w.payloadLen = w.streamW * w.streamH * 3 / 2
	}

	w.cmd = exec.CommandContext(ctx, resolved, ffmpegArgs(opts, audio, "file:"+tmp)...)
	w.cmd.Stderr = w.stderr
	// Bounds Wait should ffmpeg ever leave a child holding stderr open.
	w.cmd.WaitDelay = 5 * time.Second
	if beforeStart != nil {
		beforeStart(tmp)
	}
	pr, pw, err := os.Pipe()
	if err == nil {
		growPipe(pw, w.payloadLen)
		w.stdin = pw
		w.cmd.Stdin = pr
		err = w.cmd.Start()
		// ffmpeg has its own copy of the read end.
		pr.Close()
		if err != nil {
			pw.Close()
		}
	}
	if err != nil {
		os.Remove(tmp)
		return fail(fmt.Errorf("starting ffmpeg: %w", err))
	}
	go w.wait()

	hdr := streamHeader(w.streamW, w.streamH, w.i420, defaultDuration(opts.Rate))
	if _, err := w.stdin.Write(hdr); err != nil {
		return nil, w.fail(err, "starting")
	}
	return w, nil
}

// wait reaps ffmpeg. An exit before Commit asked for one is a failure
// (ffmpeg died, or ctx killed it), and the temporary file goes at once,
// whether or not the caller ever calls the Writer again.
func (w *Writer) wait() {
	err := w.cmd.Wait()
	w.mu.Lock()
	w.waitErr = err
	remove := w.state != committing && w.state != committed
	w.mu.Unlock()
	if remove {
		os.Remove(w.tmp)
	}
	close(w.exited)
}

// defaultDuration is one frame at rate r in nanoseconds, rounded, as a
// Matroska DefaultDuration. ffmpeg carries it to its own output's
// DefaultDuration, from which FFmpeg's Matroska demuxer derives the
// average frame rate (see the package documentation).
func defaultDuration(r video.Rational) uint64 {
	return mulDivRound(uint64(r.Den), uint64(time.Second), uint64(r.Num))
}

// mulDivRound returns a*b/c rounded to nearest, without overflow in a*b.
func mulDivRound(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	lo, carry := bits.Add64(lo, c/2, 0)
	hi += carry
	if hi >= c {
		return 1<<64 - 1 // cannot happen for the values used here
	}
	q, _ := bits.Div64(hi, lo, c)
	return q
}

// Write appends one frame: pix is Height rows of 3*Width bytes (BGR). t is
// its presentation time from the first frame; it is used only with
// VariableRate, where each time must be later than the one before (times
// are taken relative to the first frame's).
//
// Any error is final: the Writer stops ffmpeg, removes the temporary file,
// and every later call returns the same error.
func (w *Writer) Write(pix []byte, t time.Duration) error {
	if err := w.usable("Write"); err != nil {
		return err
	}
	if err := w.checkSize(len(pix)); err != nil {
		return w.fail(err, "")
	}
	payload := pix
	if w.padded || w.i420 {
		if err := w.Prepare(&w.frame, pix); err != nil {
			return w.fail(err, "")
		}
		payload = w.frame.data
	}
	return w.writePayload(payload, t)
}

// Frame is one frame as ffmpeg is fed it (I420 for H264, BGR for FFV1),
// made by Prepare. Preparing into the same Frame again reuses its memory.
type Frame struct {
	data []byte
	pad  []byte // the padded BGR picture of an odd-sized H264 frame
}

// Prepare converts pix, a frame as Write takes it, into f. It changes
// nothing in the Writer and may run on another goroutine while frames
// are written: a caller that queues frames for an encoder queues them
// prepared, which is half the bytes of BGR for H264 and saves copying
// the BGR frame into the queue first.
func (w *Writer) Prepare(f *Frame, pix []byte) error {
	if err := w.checkSize(len(pix)); err != nil {
		return fmt.Errorf("encode %s: %w", w.name, err)
	}
	src := pix
	if w.padded {
		f.pad = grow(f.pad, w.streamW*w.streamH*3)
		padFrame(f.pad, pix, w.opts.Width, w.opts.Height, w.streamW, w.streamH)
		src = f.pad
	}
	if !w.i420 {
		f.data = append(f.data[:0], src...)
		return nil
	}
	f.data = grow(f.data, w.payloadLen)
	if err := toI420(f.data, src, w.streamW, w.streamH); err != nil {
		return fmt.Errorf("encode %s: %w", w.name, err)
	}
	return nil
}

// WriteFrame appends a frame made by Prepare; t is as for Write, and any
// error is as final.
func (w *Writer) WriteFrame(f *Frame, t time.Duration) error {
	if err := w.usable("WriteFrame"); err != nil {
		return err
	}
	if len(f.data) != w.payloadLen {
		return w.fail(fmt.Errorf("frame %d: a prepared frame of %d bytes, want %d (was it prepared by this Writer?)", w.frames, len(f.data), w.payloadLen), "")
	}
	return w.writePayload(f.data, t)
}

// checkSize checks the length of a BGR frame given to Write or Prepare.
func (w *Writer) checkSize(n int) error {
	if n != w.frameLen {
		return fmt.Errorf("frame %d has %d bytes, want %d (%dx%d BGR, 3 bytes per pixel)", w.frames, n, w.frameLen, w.opts.Width, w.opts.Height)
	}
	return nil
}

// writePayload sends one frame's bytes, as ffmpeg reads them, with its
// time.
func (w *Writer) writePayload(pix []byte, t time.Duration) error {
	if err := w.ctx.Err(); err != nil {
		return w.fail(err, "")
	}
	var tick uint64
	if w.opts.VariableRate {
		if w.frames == 0 {
			w.first = t
		} else if t <= w.last {
			return w.fail(fmt.Errorf("frame %d at %v is not after frame %d at %v: times must increase", w.frames, t, w.frames-1, w.last), "")
		}
		w.last = t
		tick = uint64((t - w.first + streamTick/2) / streamTick)
	} else {
		// Frame i is at exactly i*Den/Num s; the stream's microsecond is
		// the only rounding, and ffmpeg's rounding to the encoder's
		// 1/Rate clock undoes it.
		tick = mulDivRound(uint64(w.frames), uint64(w.opts.Rate.Den)*uint64(time.Second/streamTick), uint64(w.opts.Rate.Num))
	}
	w.head = frameHeader(w.head[:0], tick, len(pix))
	if _, err := w.stdin.Write(w.head); err != nil {
		return w.fail(err, fmt.Sprintf("writing frame %d", w.frames))
	}
	if _, err := w.stdin.Write(pix); err != nil {
		return w.fail(err, fmt.Sprintf("writing frame %d", w.frames))
	}
	w.frames++
	return nil
}

// grow returns b resized to n bytes, reusing its memory when it can.
func grow(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	return make([]byte, n)
}

// padFrame copies the w x h frame src into the sw x sh frame dst, filling
// the extra column and row with copies of the last ones, so that the
// encoder's edge blocks see no artificial edge.
func padFrame(dst, src []byte, w, h, sw, sh int) {
	row, srow := 3*w, 3*sw
	for y := 0; y < h; y++ {
		d := dst[y*srow : (y+1)*srow]
		copy(d, src[y*row:(y+1)*row])
		for x := row; x < srow; x += 3 {
			copy(d[x:x+3], d[row-3:row])
		}
	}
	for y := h; y < sh; y++ {
		copy(dst[y*srow:(y+1)*srow], dst[(h-1)*srow:h*srow])
	}
}

// Frames returns how many frames were written.
func (w *Writer) Frames() int { return w.frames }

// Commit finishes the file (closes ffmpeg's input, waits, checks its exit)
// and renames it onto path, replacing any file there. It blocks while
// ffmpeg encodes the frames it still holds. On failure nothing is left
// behind and the file at path, if any, is untouched.
func (w *Writer) Commit() error {
	if err := w.usable("Commit"); err != nil {
		return err
	}
	if err := w.ctx.Err(); err != nil {
		return w.fail(err, "")
	}
	if w.frames == 0 {
		return w.fail(errors.New("no frames were written"), "")
	}
	w.mu.Lock()
	if w.state != open {
		w.mu.Unlock()
		return w.usable("Commit")
	}
	w.state = committing
	w.mu.Unlock()

	w.stdin.Close()
	<-w.exited

	w.mu.Lock()
	defer w.mu.Unlock()
	var err error
	switch {
	case w.state == aborted:
		return fmt.Errorf("encode %s: Commit: the Writer was aborted", w.name)
	case w.ctx.Err() != nil:
		err = fmt.Errorf("encode %s: %w", w.name, w.ctx.Err())
	case w.waitErr != nil:
		err = w.exitError("finishing")
	default:
		// CreateTemp made the file private; a finished video is as
		// readable as any file the user writes.
		if cerr := os.Chmod(w.tmp, 0o644); cerr != nil {
			err = fmt.Errorf("encode %s: %w", w.name, cerr)
			break
		}
		if rerr := os.Rename(w.tmp, w.path); rerr != nil {
			err = fmt.Errorf("encode %s: moving the finished file into place: %w", w.name, rerr)
		}
	}
	if err != nil {
		os.Remove(w.tmp)
		w.state, w.err = failed, err
		return err
	}
	w.state = committed
	return nil
}

// Abort stops ffmpeg and removes the temporary file; safe after Commit
// (no-op) and twice. It returns once ffmpeg has been reaped.
func (w *Writer) Abort() {
	w.mu.Lock()
	switch w.state {
	case committed, aborted:
		w.mu.Unlock()
		return
	}
	if w.state != failed {
		w.state = aborted
	}
	w.mu.Unlock()
	w.stop()
}

// stop kills ffmpeg, waits for it to be reaped and removes the temporary
// file. Killing rather than closing stdin also unblocks a Write stuck on a
// full pipe.
func (w *Writer) stop() {
	w.cmd.Process.Kill() // harmless once the process has exited
	w.stdin.Close()
	<-w.exited
	os.Remove(w.tmp)
}

// usable refuses calls on a Writer that is finished.
func (w *Writer) usable(op string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch w.state {
	case committing:
		return fmt.Errorf("encode %s: %s during Commit", w.name, op)
	case committed:
		return fmt.Errorf("encode %s: %s after Commit", w.name, op)
	case aborted:
		return fmt.Errorf("encode %s: %s after Abort", w.name, op)
	case failed:
		return w.err
	}
	return nil
}

// fail makes err the Writer's final error, stops ffmpeg and removes the
// temporary file. A write error (doing says what was being written) is
// reported through ffmpeg's own exit status and message, which say why
// the pipe broke.
func (w *Writer) fail(err error, doing string) error {
	w.mu.Lock()
	if w.state == aborted {
		w.mu.Unlock()
		w.stop()
		return fmt.Errorf("encode %s: the Writer was aborted: %w", w.name, err)
	}
	w.mu.Unlock()
	if doing != "" {
		// ffmpeg has exited (a broken pipe) or is about to; let it finish
		// printing before it is killed, so its message is complete.
		select {
		case <-w.exited:
		case <-time.After(2 * time.Second):
		case <-w.ctx.Done():
		}
	}
	w.stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.ctx.Err() != nil:
		err = fmt.Errorf("encode %s: %w", w.name, w.ctx.Err())
	case doing != "" && w.waitErr != nil:
		err = w.exitError(doing, err)
	default:
		err = fmt.Errorf("encode %s: %w", w.name, err)
	}
	if w.state != failed {
		w.state, w.err = failed, err
	}
	return w.err
}

// exitError describes how ffmpeg ended, with the last lines it printed,
// e.g. "encode left.mp4: ffmpeg exited with status 1 while writing frame
// 3: file:/x/.left.mp4.tmp-1.mp4: Permission denied". It wraps the
// *exec.ExitError and the errors in cause. Called with w.mu held, after
// exited is closed.
func (w *Writer) exitError(doing string, cause ...error) error {
	// ffmpeg names the temporary file by its long absolute path; its
	// base name is enough to recognise it.
	msg := strings.ReplaceAll(w.stderr.lastLines(4), "file:"+w.tmp, filepath.Base(w.tmp))
	status := "ffmpeg failed"
	var ee *exec.ExitError
	if errors.As(w.waitErr, &ee) {
		if code := ee.ExitCode(); code >= 0 {
			status = fmt.Sprintf("ffmpeg exited with status %d", code)
		} else {
			status = fmt.Sprintf("ffmpeg was stopped (%v)", ee.ProcessState)
		}
	} else if w.waitErr != nil {
		status = fmt.Sprintf("ffmpeg failed (%v)", w.waitErr)
	}
	if msg == "" {
		msg = "it printed no message"
	}
	return &wrapError{
		msg:  fmt.Sprintf("encode %s: %s while %s: %s", w.name, status, doing, msg),
		errs: append([]error{w.waitErr}, cause...),
	}
}

// notFound explains a failed exec.LookPath of ffmpeg (explicit is
// Options.FFmpeg). The error always matches exec.ErrNotFound, also for an
// explicit path that does not exist (which LookPath reports as
// os.ErrNotExist only).
func notFound(explicit string, err error) error {
	if explicit == "" {
		return &wrapError{msg: "ffmpeg not found: install it (apt-get install ffmpeg)", errs: []error{err, exec.ErrNotFound}}
	}
	reason := unwrapPath(errors.Unwrap(err))
	if reason == nil {
		reason = err
	}
	return &wrapError{
		msg:  fmt.Sprintf("ffmpeg not found at %s (%v): install ffmpeg (apt-get install ffmpeg) or correct the path", explicit, reason),
		errs: []error{err, exec.ErrNotFound},
	}
}

// wrapError is an error with its own text that still matches its causes
// with errors.Is and errors.As, for causes whose own text would only
// repeat what the message says ("exit status 1").
type wrapError struct {
	msg  string
	errs []error
}

func (e *wrapError) Error() string   { return e.msg }
func (e *wrapError) Unwrap() []error { return e.errs }

// unwrapPath drops the *fs.PathError layer, whose text repeats the long
// temporary path, keeping the errno (which still matches os.ErrNotExist).
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
