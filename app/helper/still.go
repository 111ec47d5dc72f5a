package helper

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gocv.io/x/gocv"
)

// stillWriter writes a still image's mirrored picture as a PNG: written to
// a temporary file beside path and renamed on Commit.
type stillWriter struct {
	path string
	w, h int
	pix  []byte
	done bool
}

func newStillWriter(path string, w, h int) *stillWriter { return &stillWriter{path: path, w: w, h: h} }

// Write keeps the picture; a still image has one frame.
func (s *stillWriter) Write(pix []byte, _ time.Duration) error {
	if s.pix != nil {
		return fmt.Errorf("write %s: a still image has one frame", filepath.Base(s.path))
	}
	if len(pix) != 3*s.w*s.h {
		return fmt.Errorf("write %s: %d bytes for a %dx%d picture", filepath.Base(s.path), len(pix), s.w, s.h)
	}
	s.pix = append([]byte(nil), pix...)
	return nil
}

// Commit writes the PNG.
func (s *stillWriter) Commit() error {
	if s.done {
		return nil
	}
	if s.pix == nil {
		return fmt.Errorf("write %s: no picture", filepath.Base(s.path))
	}
	m, err := gocv.NewMatFromBytes(s.h, s.w, gocv.MatTypeCV8UC3, s.pix)
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(s.path), err)
	}
	defer m.Close()
	tmp, err := os.CreateTemp(filepath.Dir(s.path), "."+filepath.Base(s.path)+".tmp-*.png")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(s.path), err)
	}
	tmp.Close()
	if !gocv.IMWrite(tmp.Name(), m) {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: the PNG encoder failed", filepath.Base(s.path))
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", filepath.Base(s.path), err)
	}
	s.done = true
	return nil
}

// Abort drops the picture; nothing was written before Commit.
func (s *stillWriter) Abort() { s.pix = nil }
