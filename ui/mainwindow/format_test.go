package mainwindow

import (
	"errors"
	"testing"
	"time"

	"facemirror/ui/backend"
	"facemirror/ui/videolist"
)

func TestDescribeProbe(t *testing.T) {
	tests := []struct {
		p    backend.Probe
		want string
	}{
		{backend.Probe{Frames: 300, FPS: 30, Duration: 10 * time.Second, Width: 480, Height: 360},
			"300 frames · 30 fps · 10.0 s · 480×360 · rotation 0°"},
		{backend.Probe{Frames: 472, FPS: 24000.0 / 1001, Duration: 19686 * time.Millisecond, Width: 640, Height: 360},
			"472 frames · 23.976 fps · 19.7 s · 640×360 · rotation 0°"},
		{backend.Probe{Frames: 352, FPS: 30, Duration: 11733 * time.Millisecond, Width: 720, Height: 1280, Rotation: 90},
			"352 frames · 30 fps · 11.7 s · 720×1280 · rotation 90°"},
		{backend.Probe{Frames: 1, FPS: 25, Duration: 40 * time.Millisecond, Width: 480, Height: 360},
			"1 frame · 25 fps · 0.0 s · 480×360 · rotation 0°"},
		{backend.Probe{FPS: 29.97, Duration: 2 * time.Minute, Width: 1920, Height: 1080},
			"frame count unknown · 29.97 fps · 2:00.0 · 1920×1080 · rotation 0°"},
		{backend.Probe{Frames: 1, Width: 572, Height: 562}, "still image · 572×562 · rotation 0°"},
	}
	for _, tc := range tests {
		if got := describeProbe(tc.p); got != tc.want {
			t.Errorf("describeProbe(%+v) =\n%q, want\n%q", tc.p, got, tc.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                        "0.0 s",
		40 * time.Millisecond:    "0.0 s",
		50 * time.Millisecond:    "0.1 s",
		59940 * time.Millisecond: "59.9 s",
		59960 * time.Millisecond: "1:00.0",
		83400 * time.Millisecond: "1:23.4",
		59*time.Minute + 59*time.Second + 940*time.Millisecond: "59:59.9",
		time.Hour + 2*time.Minute + 3*time.Second:              "1:02:03",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestDescribeCount(t *testing.T) {
	var l videolist.List
	if got := describeCount(&l); got != "" {
		t.Errorf("empty list: %q, want empty", got)
	}
	ids := l.Add("/v/a.mp4").New
	if got := describeCount(&l); got != "1 video · 1 in progress" {
		t.Errorf("one probing: %q", got)
	}
	l.Probed(ids[0].ID, backend.Probe{}, errors.New("bad"))
	l.Add("/v/b.mp4", "/v/c.mp4")
	if got := describeCount(&l); got != "3 videos · 2 in progress · 1 failed" {
		t.Errorf("three: %q", got)
	}
}

func TestNameList(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"a"}, "a"},
		{[]string{"a", "b", "c"}, "a, b, c"},
		{[]string{"a", "b", "c", "d", "e"}, "a, b, c and 2 more"},
	} {
		if got := nameList(tc.in); got != tc.want {
			t.Errorf("nameList(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFormatWait(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0 s"},
		{1400 * time.Millisecond, "1 s"},
		{59499 * time.Millisecond, "59 s"},
		{59500 * time.Millisecond, "1:00"},
		{106 * time.Second, "1:46"},
		{3599 * time.Second, "59:59"},
		{3600 * time.Second, "1:00:00"},
		{100*time.Hour + 61*time.Second, "100:01:01"},
	} {
		if got := formatWait(tc.d); got != tc.want {
			t.Errorf("formatWait(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
