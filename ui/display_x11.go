//go:build (linux || freebsd || netbsd || openbsd || dragonfly) && !android && !wayland

package ui

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// CheckDisplay reports, as a *NoDisplayError, when the X server that the
// window would be shown on is not set or cannot be reached. Fyne is built
// for X11 here (without the wayland build tag), so a Wayland session is
// usable only through XWayland, i.e. with DISPLAY set.
func CheckDisplay() error {
	return checkX11(os.Getenv("DISPLAY"), os.Getenv("WAYLAND_DISPLAY"), "/tmp/.X11-unix")
}

// dialTimeout bounds the reachability check for a remote X server.
const dialTimeout = 2 * time.Second

func checkX11(display, wayland, socketDir string) error {
	if display == "" {
		if wayland != "" {
			return &NoDisplayError{Reason: "DISPLAY is not set; WAYLAND_DISPLAY is, but this build draws through X11, so XWayland must be running"}
		}
		return &NoDisplayError{Reason: "DISPLAY is not set"}
	}
	network, address, err := x11Address(display, socketDir)
	if err != nil {
		return &NoDisplayError{Reason: fmt.Sprintf("DISPLAY=%s: %v", display, err)}
	}
	conn, err := net.DialTimeout(network, address, dialTimeout)
	if err != nil && network == "unix" && !strings.HasPrefix(address, "@") {
		// Linux X servers also listen on the abstract socket of the same
		// name, which survives a wiped /tmp.
		if c, err2 := net.DialTimeout("unix", "@"+address, dialTimeout); err2 == nil {
			conn, err = c, nil
		}
	}
	if err != nil {
		return &NoDisplayError{Reason: fmt.Sprintf("DISPLAY=%s is set but its X server is not reachable: %v", display, err)}
	}
	conn.Close()
	return nil
}

// x11Address turns a DISPLAY value ([host]:number[.screen]; host empty,
// "unix" or "name/unix" for the local socket) into what to dial.
func x11Address(display, socketDir string) (network, address string, err error) {
	colon := strings.LastIndex(display, ":")
	if colon < 0 {
		return "", "", fmt.Errorf("no display number (expected e.g. :0)")
	}
	host, rest := display[:colon], display[colon+1:]
	if dot := strings.IndexByte(rest, '.'); dot >= 0 {
		rest = rest[:dot]
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 {
		return "", "", fmt.Errorf("bad display number %q", rest)
	}
	switch {
	case strings.HasPrefix(host, "/"):
		// A full socket path, as some launchers set.
		return "unix", display, nil
	case host == "" || host == "unix" || strings.HasSuffix(host, "/unix"):
		return "unix", filepath.Join(socketDir, "X"+strconv.Itoa(n)), nil
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return "tcp", net.JoinHostPort(host, strconv.Itoa(6000+n)), nil
}
