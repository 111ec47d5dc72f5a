package ui

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"

	"github.com/sqweek/dialog"

	"facemirror/ui/videolist"
)

// filePicker shows the native open dialog. The pinned
// github.com/sqweek/dialog offers single selection only (FileBuilder.Load
// returns one path), so each dialog adds one file; to make adding several
// in a row quick, the next dialog opens in the folder of the last choice.
type filePicker struct {
	mu      sync.Mutex
	lastDir string
}

// pick returns the chosen file, or nothing when the user cancels. Native
// dialogs block, so it is called off the UI goroutine; the library panics
// when GTK could not start, which mainwindow turns into an error.
func (p *filePicker) pick() ([]string, error) {
	exts := videolist.Extensions()
	patterns := append([]string(nil), exts...)
	// GTK 3 matches patterns case-sensitively, and cameras often write
	// upper-case names such as IMG_0001.MOV.
	for _, e := range exts {
		patterns = append(patterns, strings.ToUpper(e))
	}
	b := dialog.File().Title("Add videos").
		Filter("Videos and images", patterns...).
		Filter("All files", "*")
	p.mu.Lock()
	if p.lastDir != "" {
		b = b.SetStartDir(p.lastDir)
	}
	p.mu.Unlock()

	path, err := b.Load()
	if errors.Is(err, dialog.ErrCancelled) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.lastDir = filepath.Dir(path)
	p.mu.Unlock()
	return []string{path}, nil
}

// pickFolder returns the chosen output folder, or "" when the user
// cancels. Like pick, it blocks and is called off the UI goroutine.
func (p *filePicker) pickFolder() (string, error) {
	b := dialog.Directory().Title("Output folder")
	p.mu.Lock()
	if p.lastDir != "" {
		b = b.SetStartDir(p.lastDir)
	}
	p.mu.Unlock()
	dir, err := b.Browse()
	if errors.Is(err, dialog.ErrCancelled) {
		return "", nil
	}
	return dir, err
}

// saveFile returns the path chosen in the native save dialog, opened in
// dir (or where the last open dialog closed), or "" when the user cancels.
func (p *filePicker) saveFile(title, dir, name string) (string, error) {
	b := dialog.File().Title(title).Filter("CSV files", "csv").SetStartFile(name)
	p.mu.Lock()
	if dir == "" {
		dir = p.lastDir
	}
	p.mu.Unlock()
	if dir != "" {
		b = b.SetStartDir(dir)
	}
	path, err := b.Save()
	if errors.Is(err, dialog.ErrCancelled) {
		return "", nil
	}
	return path, err
}
