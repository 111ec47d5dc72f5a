package app

import (
	"facemirror/app/job"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Redraw intervals of the progress line: on a terminal the line is
// redrawn in place, elsewhere (a log file, a pipe) a new line is written
// now and then.
const (
	terminalRedraw = 200 * time.Millisecond
	plainRedraw    = 5 * time.Second
)

// progressLine shows a Process run's progress on one line of w. It is not
// safe for concurrent use; Process serialises its callbacks.
type progressLine struct {
	w        io.Writer
	terminal bool
	now      func() time.Time

	last  time.Time
	shown int // visible width of the line on the terminal, 0 when none
}

func newProgressLine(w io.Writer) *progressLine {
	return &progressLine{w: w, terminal: isTerminal(w), now: time.Now}
}

// isTerminal reports whether w is a character device such as a terminal,
// where the line can be redrawn with a carriage return.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// update shows p if the last update is long enough ago.
func (l *progressLine) update(p job.Progress) {
	now := l.now()
	every := plainRedraw
	if l.terminal {
		every = terminalRedraw
	}
	if !l.last.IsZero() && now.Sub(l.last) < every {
		return
	}
	l.last = now
	l.draw(formatProgress(p))
}

// draw writes text as the progress line.
func (l *progressLine) draw(text string) {
	if !l.terminal {
		fmt.Fprintln(l.w, text)
		return
	}
	width := len([]rune(text))
	pad := ""
	if l.shown > width {
		pad = strings.Repeat(" ", l.shown-width)
	}
	fmt.Fprint(l.w, "\r"+text+pad)
	l.shown = width
}

// clear removes the line from the terminal so that other output can be
// printed; the next update draws it again.
func (l *progressLine) clear() {
	if l.terminal && l.shown > 0 {
		fmt.Fprint(l.w, "\r"+strings.Repeat(" ", l.shown)+"\r")
		l.shown = 0
		l.last = time.Time{}
	}
}

// finish shows the final counts and ends the line.
func (l *progressLine) finish(p job.Progress) {
	l.draw(formatProgress(p))
	if l.terminal {
		fmt.Fprintln(l.w)
		l.shown = 0
	}
}

// formatProgress renders the counts, for example
// "analysed 1234/5000 frames (24.7%) of 2/3 files, 87.3 frames/s, 0:43 left".
func formatProgress(p job.Progress) string {
	var b strings.Builder
	plus := ""
	if p.Probing {
		plus = "+"
	}
	fmt.Fprintf(&b, "analysed %d/%d%s frames", p.FramesDone, p.Frames, plus)
	if p.Frames > 0 {
		fmt.Fprintf(&b, " (%.1f%%)", 100*float64(p.FramesDone)/float64(p.Frames))
	}
	fmt.Fprintf(&b, ", %d/%d files done", p.FilesDone, p.Files)
	if p.FramesDone == 0 || p.Analysing <= 0 {
		if p.FilesDone < p.Files {
			b.WriteString(", starting")
		}
		return b.String()
	}
	fmt.Fprintf(&b, ", %.1f frames/s", p.Rate())
	switch left, ok := p.Remaining(); {
	case !ok || left <= 0 || p.FilesDone == p.Files:
		// Nothing is left once every file has ended, even where frames
		// were not done (an interrupted run).
	case p.Probing:
		fmt.Fprintf(&b, ", more than %s left", formatDuration(left))
	default:
		fmt.Fprintf(&b, ", %s left", formatDuration(left))
	}
	return b.String()
}

// formatDuration prints d as m:ss or h:mm:ss, rounded up to the second.
func formatDuration(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
