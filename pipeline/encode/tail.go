package encode

import (
	"strings"
	"sync"
)

// tailBuffer keeps the end of ffmpeg's stderr. ffmpeg runs with
// -loglevel error, so what it prints is the reason it failed; only the end
// matters, and a bounded buffer keeps a chatty failure from growing
// without limit. exec's copying goroutine writes while the Writer may read.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailKeep = 16 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - tailKeep; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// lastLines returns up to n of the last non-empty lines, joined by "; ".
func (t *tailBuffer) lastLines(n int) string {
	t.mu.Lock()
	text := string(t.buf)
	t.mu.Unlock()
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		// ffmpeg redraws some lines with carriage returns; keep what was
		// drawn last.
		if i := strings.LastIndexByte(l, '\r'); i >= 0 {
			l = l[i+1:]
		}
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}
