// Package mmapfile gives read-only access to a file's bytes through the
// operating system's page cache where it can (mmap on Unix systems), so
// that several processes reading the same large file share one copy of it
// in memory and none holds it on its own heap. Elsewhere the file is read
// into memory.
package mmapfile

import "fmt"

// File is a file's contents, read-only.
type File struct {
	data  []byte
	unmap func() error
}

// Open maps the named file. An empty file gives an empty File.
//
// On Unix systems the mapping follows the file: it must not be changed or
// cut short while mapped (reading a page past a new end faults the
// process). Replace such a file by writing a new one and renaming it over
// the old; existing mappings keep the old contents.
func Open(path string) (*File, error) {
	f, err := open(path)
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", path, err)
	}
	return f, nil
}

// Bytes returns the contents. They must not be modified (on Unix systems
// writing to them faults) and must not be used after Close.
func (f *File) Bytes() []byte { return f.data }

// Close releases the contents; closing twice is harmless.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.data, f.unmap = nil, nil
	return err
}
