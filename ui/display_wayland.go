//go:build (linux || freebsd || netbsd || openbsd || dragonfly) && !android && wayland

package ui

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CheckDisplay reports, as a *NoDisplayError, when the Wayland compositor
// that the window would be shown on is not set or cannot be reached (this
// build draws through Wayland: the wayland build tag).
func CheckDisplay() error {
	name := os.Getenv("WAYLAND_DISPLAY")
	if name == "" {
		return &NoDisplayError{Reason: "WAYLAND_DISPLAY is not set"}
	}
	path := name
	if !filepath.IsAbs(path) {
		dir := os.Getenv("XDG_RUNTIME_DIR")
		if dir == "" {
			return &NoDisplayError{Reason: "WAYLAND_DISPLAY is set but XDG_RUNTIME_DIR, where its socket lives, is not"}
		}
		path = filepath.Join(dir, name)
	}
	conn, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return &NoDisplayError{Reason: fmt.Sprintf("WAYLAND_DISPLAY=%s is set but the compositor is not reachable: %v", name, err)}
	}
	conn.Close()
	return nil
}
