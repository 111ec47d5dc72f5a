// Package ui opens FaceMirror's window. It is the only package that
// creates the Fyne application; the window's content lives in
// ui/mainwindow, which tests drive headless. Before creating anything it
// checks that there is a display to show the window on, so that a headless
// machine gets ErrNoDisplay and a hint instead of a crash inside the
// graphics driver.
package ui

import (
	"context"
	"errors"
	"fmt"
	"log"
	"runtime/debug"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"facemirror/assets"
	"facemirror/ui/backend"
	"facemirror/ui/mainwindow"
)

// Backend is what the window asks of the rest of the program; see
// package ui/backend.
type Backend = backend.Backend

// Probe, FaceBox and Fact are the plain values a Backend returns.
type (
	Probe   = backend.Probe
	FaceBox = backend.FaceBox
	Fact    = backend.Fact
)

// AppID identifies FaceMirror to the desktop (preferences, storage); it
// matches FyneApp.toml.
const AppID = "org.facemirror.desktop"

// Options adjust how the window opens.
type Options struct {
	// Files are added to the list as soon as the window opens, as if
	// dropped onto it (`facemirror FILE...`).
	Files []string
}

// Run opens FaceMirror's window and returns when the user closes it (nil)
// or when ctx is done (ctx's error). It must be called from the main
// goroutine, as the graphics driver requires, and only once per process.
// Without a usable display it returns an error matching ErrNoDisplay
// without touching the graphics driver.
func Run(ctx context.Context, b Backend, opts Options) (err error) {
	if err := CheckDisplay(); err != nil {
		return err
	}
	// The graphics driver and GTK are C libraries that may panic through
	// Go when the display misbehaves; report that as an error.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("window: %v\n%s", r, debug.Stack())
		}
	}()

	a := fyneapp.NewWithID(AppID)
	icon := fyne.NewStaticResource("icon.png", assets.IconPNG())
	a.SetIcon(icon)
	w := a.NewWindow("FaceMirror")
	w.SetIcon(icon)
	w.Resize(fyne.NewSize(mainwindow.DefaultWidth, mainwindow.DefaultHeight))
	w.SetMaster()

	picker := &filePicker{}
	mw := mainwindow.New(ctx, w, b, mainwindow.Config{
		PickFiles: picker.pick, PickFolder: picker.pickFolder, SaveFile: picker.saveFile,
		Icon: icon, Preferences: a.Preferences(),
		Log: func(format string, args ...any) { log.Printf("window: "+format, args...) },
	})
	defer mw.Close()
	if len(opts.Files) > 0 {
		mw.Add(opts.Files...)
	}

	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-ctx.Done():
			mw.Post(a.Quit)
		case <-stopped:
		}
	}()

	w.ShowAndRun()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("window: %w", err)
	}
	return nil
}

// ErrNoDisplay is matched (errors.Is) by the error Run and CheckDisplay
// return when there is no graphical session to show the window in.
var ErrNoDisplay = errors.New("no display")

// NoDisplayError says why there is no usable display.
type NoDisplayError struct {
	// Reason is what was found, e.g. "DISPLAY is not set".
	Reason string
}

func (e *NoDisplayError) Error() string {
	return "no display: FaceMirror's window needs a graphical session (" + e.Reason +
		"). For headless use run `facemirror probe` (see `facemirror help`)."
}

// Is makes errors.Is(err, ErrNoDisplay) true.
func (e *NoDisplayError) Is(target error) bool { return target == ErrNoDisplay }
