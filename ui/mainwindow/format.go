package mainwindow

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"facemirror/ui/backend"
	"facemirror/ui/videolist"
)

// describeProbe formats a file's facts on one line, e.g.
// "300 frames · 30 fps · 10.0 s · 480×360 · rotation 0°".
func describeProbe(p backend.Probe) string {
	size := fmt.Sprintf("%d×%d", p.Width, p.Height)
	rot := fmt.Sprintf("rotation %d°", p.Rotation)
	if p.Still() {
		return strings.Join([]string{"still image", size, rot}, " · ")
	}
	frames := "frame count unknown"
	switch {
	case p.Frames == 1:
		frames = "1 frame"
	case p.Frames > 1:
		frames = fmt.Sprintf("%d frames", p.Frames)
	}
	return strings.Join([]string{frames, formatFPS(p.FPS) + " fps", formatDuration(p.Duration), size, rot}, " · ")
}

// formatFPS shows whole rates without decimals and keeps the three decimals
// that tell 23.976 or 29.97 apart from 24 or 30.
func formatFPS(fps float64) string {
	return strconv.FormatFloat(math.Round(fps*1000)/1000, 'f', -1, 64)
}

// formatDuration gives seconds with one decimal under a minute and
// m:ss.s (or h:mm:ss) beyond, the way a clinician reads a recording length.
func formatDuration(d time.Duration) string {
	tenths := int64(math.Round(d.Seconds() * 10))
	switch {
	case tenths < 600:
		return fmt.Sprintf("%d.%d s", tenths/10, tenths%10)
	case tenths < 36000:
		return fmt.Sprintf("%d:%02d.%d", tenths/600, tenths/10%60, tenths%10)
	}
	secs := tenths / 10
	return fmt.Sprintf("%d:%02d:%02d", secs/3600, secs/60%60, secs%60)
}

// formatWait gives whole seconds under a minute and m:ss (or h:mm:ss)
// beyond: how long something took or will take, where tenths would only be
// noise.
func formatWait(d time.Duration) string {
	secs := int64(math.Round(d.Seconds()))
	switch {
	case secs < 60:
		return fmt.Sprintf("%d s", secs)
	case secs < 3600:
		return fmt.Sprintf("%d:%02d", secs/60, secs%60)
	}
	return fmt.Sprintf("%d:%02d:%02d", secs/3600, secs/60%60, secs%60)
}

// describeFace is the status line of a finished face search.
func describeFace(face *backend.FaceBox) string {
	if face == nil {
		return "no face found in the first frame"
	}
	return fmt.Sprintf("face found in the first frame · confidence %.2f", face.Confidence)
}

// describeCount summarises the list for the toolbar, e.g.
// "3 videos · 1 in progress · 1 failed"; empty for an empty list.
func describeCount(l *videolist.List) string {
	n := l.Len()
	if n == 0 {
		return ""
	}
	parts := []string{plural(n, "video", "videos")}
	if busy := l.Count(videolist.Probing) + l.Count(videolist.FindingFace); busy > 0 {
		parts = append(parts, fmt.Sprintf("%d in progress", busy))
	}
	if failed := l.Count(videolist.Failed); failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", failed))
	}
	return strings.Join(parts, " · ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// nameList shows up to three names and how many more there are.
func nameList(names []string) string {
	const shown = 3
	if len(names) <= shown {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:shown], ", "), len(names)-shown)
}
