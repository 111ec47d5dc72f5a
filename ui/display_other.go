//go:build !((linux || freebsd || netbsd || openbsd || dragonfly) && !android)

package ui

// CheckDisplay returns nil: on macOS and Windows a logged-in user always
// has a graphical session, and Fyne reports the rare exception itself.
func CheckDisplay() error { return nil }
