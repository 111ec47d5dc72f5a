// Command facemirror is FaceMirror: with no arguments (or only files) it
// opens the window; otherwise it runs a command (probe, version, models,
// worker). See README.md.
package main

import (
	"facemirror/app/helper"
	_ "facemirror/internal/localefix" // before Fyne initialises: see its doc

	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"facemirror/app"
	"facemirror/ui"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string) int {
	if len(args) > 0 && app.IsCommand(args[0]) {
		return app.RunCLI(ctx, args, os.Stdout, os.Stderr)
	}
	for _, a := range args {
		if len(a) > 1 && a[0] == '-' {
			fmt.Fprintf(os.Stderr, "facemirror: unknown option %s\n", a)
			app.Usage(os.Stderr)
			return 2
		}
	}
	desk := app.NewDesktop(ctx, helper.Config{Stderr: os.Stderr})
	defer desk.Close()
	err := ui.Run(ctx, desktopBackend{desk}, ui.Options{Files: args})
	switch {
	case errors.Is(err, ui.ErrNoDisplay):
		fmt.Fprintln(os.Stderr, "facemirror:", err)
		return 3
	case err != nil && ctx.Err() != nil:
		return 130
	case err != nil:
		fmt.Fprintln(os.Stderr, "facemirror:", err)
		return 1
	}
	return 0
}
