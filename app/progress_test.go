package app

import (
	"bytes"
	"facemirror/app/job"
	"strings"
	"testing"
	"time"
)

func TestFormatProgress(t *testing.T) {
	cases := []struct {
		p    job.Progress
		want string
	}{
		{job.Progress{Files: 2, Frames: 300, Probing: true},
			"analysed 0/300+ frames (0.0%), 0/2 files done, starting"},
		{job.Progress{Files: 3, FilesDone: 1, Frames: 5000, FramesDone: 1234, Analysing: 20 * time.Second},
			"analysed 1234/5000 frames (24.7%), 1/3 files done, 61.7 frames/s, 1:02 left"},
		{job.Progress{Files: 3, FilesDone: 1, Frames: 5000, FramesDone: 1234, Probing: true, Analysing: 20 * time.Second},
			"analysed 1234/5000+ frames (24.7%), 1/3 files done, 61.7 frames/s, more than 1:02 left"},
		{job.Progress{Files: 1, Frames: 400000, FramesDone: 100, Analysing: 10 * time.Second},
			"analysed 100/400000 frames (0.0%), 0/1 files done, 10.0 frames/s, 11:06:30 left"},
		{job.Progress{Files: 1, FilesDone: 1, Frames: 300, FramesDone: 300, Analysing: 4 * time.Second},
			"analysed 300/300 frames (100.0%), 1/1 files done, 75.0 frames/s"},
		{job.Progress{Files: 1, FilesDone: 1},
			"analysed 0/0 frames, 1/1 files done"},
		// Interrupted: the file ended with frames not done.
		{job.Progress{Files: 1, FilesDone: 1, Frames: 1416, FramesDone: 325, Analysing: 5 * time.Second},
			"analysed 325/1416 frames (23.0%), 1/1 files done, 65.0 frames/s"},
	}
	for _, tc := range cases {
		if got := formatProgress(tc.p); got != tc.want {
			t.Errorf("formatProgress(%+v)\n got %q\nwant %q", tc.p, got, tc.want)
		}
	}
}

// fakeClock steps by the given interval on every reading.
func fakeClock(step time.Duration) func() time.Time {
	now := time.Unix(1e9, 0)
	return func() time.Time {
		now = now.Add(step)
		return now
	}
}

func TestProgressLineOnATerminal(t *testing.T) {
	var buf bytes.Buffer
	l := &progressLine{w: &buf, terminal: true, now: fakeClock(100 * time.Millisecond)}
	long := job.Progress{Files: 10, Frames: 1000, FramesDone: 500, Analysing: 10 * time.Second}
	short := job.Progress{Files: 1, Frames: 10, FramesDone: 1, Analysing: time.Second}
	l.update(long)  // drawn: first update
	l.update(short) // skipped: 100 ms later
	l.update(short) // drawn over the longer line, which is blanked
	l.clear()
	l.finish(short)
	first, second := formatProgress(long), formatProgress(short)
	pad := strings.Repeat(" ", len(first)-len(second))
	want := "\r" + first + "\r" + second + pad + "\r" + strings.Repeat(" ", len(second)) + "\r" + "\r" + second + "\n"
	if buf.String() != want {
		t.Errorf("terminal output\n got %q\nwant %q", buf.String(), want)
	}
}

func TestProgressLineInALog(t *testing.T) {
	var buf bytes.Buffer
	l := &progressLine{w: &buf, now: fakeClock(2 * time.Second)}
	p := job.Progress{Files: 1, Frames: 10, FramesDone: 1, Analysing: time.Second}
	for range 5 {
		l.update(p) // at 2, 4, 6, 8, 10 s: drawn at 2 and 8 (5 s apart)
	}
	l.clear() // nothing to clear in a log
	l.finish(p)
	line := formatProgress(p) + "\n"
	if want := line + line + line; buf.String() != want {
		t.Errorf("log output\n got %q\nwant %q", buf.String(), want)
	}
}
