//go:build (linux || freebsd || netbsd || openbsd || dragonfly) && !android && !wayland

package ui

import (
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestNoDisplayMessage(t *testing.T) {
	err := checkX11("", "", t.TempDir())
	want := "no display: FaceMirror's window needs a graphical session (DISPLAY is not set). " +
		"For headless use run `facemirror probe` (see `facemirror help`)."
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant %s", err, want)
	}
	if !errors.Is(err, ErrNoDisplay) {
		t.Error("errors.Is(err, ErrNoDisplay) is false")
	}
}

func TestCheckX11(t *testing.T) {
	dir := t.TempDir()
	unixListener, err := net.Listen("unix", filepath.Join(dir, "X7"))
	if err != nil {
		t.Fatal(err)
	}
	defer unixListener.Close()
	tcpListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcpListener.Close()
	port := tcpListener.Addr().(*net.TCPAddr).Port
	if port < 6000 {
		t.Fatalf("the system gave port %d; X display numbers need ports from 6000", port)
	}
	tcpDisplay := "127.0.0.1:" + strconv.Itoa(port-6000) + ".0"
	// A closed port: listen, note the port, close.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	closedDisplay := "127.0.0.1:" + strconv.Itoa(closedPort-6000)

	tests := []struct {
		display, wayland string
		wantReason       string // "" means the display is usable
	}{
		{":7", "", ""},
		{":7.0", "", ""},
		{"unix:7", "", ""},
		{tcpDisplay, "", ""},
		{"", "wayland-0", "DISPLAY is not set; WAYLAND_DISPLAY is, but this build draws through X11, so XWayland must be running"},
		{":8", "", "DISPLAY=:8 is set but its X server is not reachable: dial unix " + filepath.Join(dir, "X8")},
		{closedDisplay, "", "DISPLAY=" + closedDisplay + " is set but its X server is not reachable: dial tcp 127.0.0.1:" + strconv.Itoa(closedPort)},
		{"localhost", "", "DISPLAY=localhost: no display number (expected e.g. :0)"},
		{":x", "", `DISPLAY=:x: bad display number "x"`},
	}
	for _, tc := range tests {
		err := checkX11(tc.display, tc.wayland, dir)
		if tc.wantReason == "" {
			if err != nil {
				t.Errorf("DISPLAY=%q: %v, want usable", tc.display, err)
			}
			continue
		}
		var nd *NoDisplayError
		if !errors.As(err, &nd) || !strings.HasPrefix(nd.Reason, tc.wantReason) {
			t.Errorf("DISPLAY=%q WAYLAND_DISPLAY=%q: %v\nwant reason starting %q", tc.display, tc.wayland, err, tc.wantReason)
		}
	}
}

func TestX11Address(t *testing.T) {
	tests := []struct{ display, network, address string }{
		{":0", "unix", "/sock/X0"},
		{":12.1", "unix", "/sock/X12"},
		{"unix:3", "unix", "/sock/X3"},
		{"localhost:10.0", "tcp", "localhost:6010"},
		{"host/unix:2", "unix", "/sock/X2"},
		{"[::1]:1", "tcp", "[::1]:6001"},
		{"/private/tmp/com.apple.launchd.x/org.xquartz:0", "unix", "/private/tmp/com.apple.launchd.x/org.xquartz:0"},
	}
	for _, tc := range tests {
		network, address, err := x11Address(tc.display, "/sock")
		if err != nil || network != tc.network || address != tc.address {
			t.Errorf("x11Address(%q) = %s %s %v, want %s %s", tc.display, network, address, err, tc.network, tc.address)
		}
	}
}

func TestCheckDisplayReadsEnvironment(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	if err := CheckDisplay(); !errors.Is(err, ErrNoDisplay) {
		t.Errorf("CheckDisplay without DISPLAY = %v, want ErrNoDisplay", err)
	}
	// Run refuses before touching the graphics driver.
	if err := Run(t.Context(), nil, Options{}); !errors.Is(err, ErrNoDisplay) {
		t.Errorf("Run without DISPLAY = %v, want ErrNoDisplay", err)
	}
}
