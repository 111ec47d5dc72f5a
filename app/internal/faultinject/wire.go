package faultinject

/*
// Like a crashing accelerator library: a fault the Go runtime did not
// cause and cannot recover from.
static void segfault(void) { *(volatile int *)0 = 0; }
*/
import "C"

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Wrap arms p on a helper's protocol streams: in carries the client's
// messages, from which the wrapper learns each request's input, and out
// the helper's, where the fault strikes. The protocol's framing (a 4-byte
// big-endian length, then the payload; a binary event's payload starts
// with a zero byte, the request id, the kind's length and the kind) is
// read here on its own, so that the helper's code is the program's.
func (p Plan) Wrap(in io.Reader, out io.Writer) (io.Reader, io.Writer) {
	s := &state{plan: p, inputs: map[uint64]string{}, frames: map[uint64]int{}}
	if p.EP != "" && p.EP != helperEP(os.Args) {
		// Not this helper's provider: nothing strikes here.
		s.plan.Frame = 0
	}
	return &reader{r: in, s: s}, &writer{w: out, s: s}
}

// helperEP is the execution provider a helper's arguments ask for.
func helperEP(args []string) string {
	for i, a := range args {
		if a == "--ep" && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "--ep="); ok {
			return v
		}
	}
	return "auto"
}

// state is what both directions share.
type state struct {
	plan   Plan
	mu     sync.Mutex
	inputs map[uint64]string // request id → the input's base name
	frames map[uint64]int    // request id → frame results sent
}

// frames splits a byte stream into frames; it keeps a partial frame until
// the rest arrives.
type frames struct{ buf []byte }

func (f *frames) add(b []byte) [][]byte {
	f.buf = append(f.buf, b...)
	var out [][]byte
	for len(f.buf) >= 4 {
		n := int(binary.BigEndian.Uint32(f.buf))
		if len(f.buf) < 4+n {
			break
		}
		out = append(out, f.buf[:4+n:4+n])
		f.buf = f.buf[4+n:]
	}
	if len(out) > 0 {
		f.buf = append([]byte(nil), f.buf...)
	}
	return out
}

type reader struct {
	r io.Reader
	s *state
	f frames
}

func (r *reader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	for _, fr := range r.f.add(b[:n]) {
		var m struct {
			Type string `json:"type"`
			ID   uint64 `json:"id"`
			Data struct {
				Path string `json:"path"`
			} `json:"data"`
		}
		if json.Unmarshal(fr[4:], &m) == nil && m.Type == "request" {
			r.s.mu.Lock()
			r.s.inputs[m.ID] = filepath.Base(m.Data.Path)
			r.s.mu.Unlock()
		}
	}
	return n, err
}

type writer struct {
	w io.Writer
	s *state
	f frames
}

// Write passes the helper's frames on, whole, and strikes before the
// plan's frame result.
func (w *writer) Write(b []byte) (int, error) {
	for _, fr := range w.f.add(b) {
		if w.due(fr) {
			w.strike(fr)
		}
		if _, err := w.w.Write(fr); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// due reports whether fr is the frame result the plan strikes before, in a
// helper that may strike.
func (w *writer) due(fr []byte) bool {
	payload := fr[4:]
	var id uint64
	switch {
	case len(payload) >= 10 && payload[0] == 0:
		// A binary event (an analysed frame).
		id = binary.BigEndian.Uint64(payload[1:9])
		k := 10 + int(payload[9])
		if len(payload) < k || string(payload[10:k]) != "frame" {
			return false
		}
	default:
		// A JSON message: a detect request's faces are a "frame" event.
		var m struct {
			Type string `json:"type"`
			ID   uint64 `json:"id"`
			Kind string `json:"kind"`
		}
		if json.Unmarshal(payload, &m) != nil || m.Type != "event" || m.Kind != "frame" {
			return false
		}
		id = m.ID
	}
	s := w.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.plan.Video; v != "" && !strings.EqualFold(s.inputs[id], v) {
		return false
	}
	s.frames[id]++
	return s.frames[id] == s.plan.Frame && s.plan.claim()
}

// strike carries the fault out; only Garbage returns, having sent its
// bytes in place of nothing (the frame follows them).
func (w *writer) strike(fr []byte) {
	switch w.s.plan.Kind {
	case Segfault:
		C.segfault()
	case Exit:
		os.Exit(0)
	case Kill:
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	case Hang:
		syscall.Kill(os.Getpid(), syscall.SIGSTOP)
	case Garbage:
		// A length far above the protocol's limit, then text.
		w.w.Write([]byte("\xff\xff\xff\xffnot a frame"))
		return
	case Truncate:
		w.w.Write(fr[:len(fr)/2])
		os.Exit(0)
	}
	// Stall, and whatever the signals above leave running until they are
	// delivered.
	for {
		time.Sleep(time.Hour)
	}
}
