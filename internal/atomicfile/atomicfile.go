// Package atomicfile writes files that readers, and a crash, see either as
// they were or complete: never half written. Every output FaceMirror
// writes in one go goes through it.
package atomicfile

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// CreateError reports that the temporary file could not be made in Dir:
// the folder is missing or not writable, the usual reasons a user meets.
type CreateError struct {
	Dir string
	Err error
}

func (e *CreateError) Error() string { return fmt.Sprintf("create a file in %s: %v", e.Dir, e.Err) }
func (e *CreateError) Unwrap() error { return e.Err }

// CheckDir reports, with a *CreateError, whether files can be written in
// dir, by making a hidden temporary file there and removing it: a
// read-only or full file system, or a folder without write permission,
// is found before any work that would end in writing there.
func CheckDir(dir string) error {
	tmp, err := os.CreateTemp(dir, ".facemirror-check-*.tmp")
	if err != nil {
		if pe, ok := err.(*fs.PathError); ok {
			err = pe.Err
		}
		return &CreateError{Dir: dir, Err: err}
	}
	tmp.Close()
	os.Remove(tmp.Name())
	return nil
}

// Write fills a temporary file beside path through fill, syncs it, makes
// it readable by everyone (an output is the user's document, not a
// private file) and renames it over path. On any error the temporary file
// is removed and path is left as it was; an error making the temporary
// file is a *CreateError. fill's writer is buffered; Write flushes it.
func Write(path string, fill func(*bufio.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		if pe, ok := err.(*fs.PathError); ok {
			// Its path is the temporary name, which would only confuse.
			err = pe.Err
		}
		return &CreateError{Dir: dir, Err: err}
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// Larger than bufio's default: far fewer system calls for CSVs of
	// many megabytes.
	bw := bufio.NewWriterSize(tmp, 1<<16)
	if err := fill(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// Make the rename durable too. The new file is complete either way,
	// so a failure here is not reported.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// WriteBytes writes data to path as Write does.
func WriteBytes(path string, data []byte) error {
	return Write(path, func(w *bufio.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
