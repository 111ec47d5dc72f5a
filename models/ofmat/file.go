package ofmat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"facemirror/internal/mmapfile"
)

// ReadDecoder reads all of r into memory, at most maxSize bytes, and returns
// a Decoder over it whose errors wrap errFormat. Model files are small, and
// the bound keeps a wrong or hostile input from exhausting memory; a larger
// input is an error wrapping errFormat, a read failure is returned as is.
func ReadDecoder(r io.Reader, maxSize int, errFormat error) (*Decoder, error) {
	buf, err := ReadLimited(r, maxSize)
	if err != nil {
		return nil, err
	}
	if len(buf) > maxSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", errFormat, maxSize)
	}
	return NewDecoder(buf, errFormat), nil
}

// ReadLimited reads r to its end but stops after maxSize+1 bytes, so that
// a longer input shows as longer than maxSize. A file is read into one
// buffer of its size: io.ReadAll's doubling would allocate, clear and
// page-fault about twice the file, which for the landmark detector's
// files was a tenth of a helper's start-up.
//
// For the reader LoadFile passes, it returns the mapped file itself, which
// is unmapped when the load returns: keep none of the returned bytes (the
// Decoder's values and Mat's conversions are copies).
func ReadLimited(r io.Reader, maxSize int) ([]byte, error) {
	if m, ok := r.(*mapped); ok {
		return m.data[:min(len(m.data), maxSize+1)], nil
	}
	size := 0
	if f, ok := r.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = int(min(fi.Size(), int64(maxSize)+1))
		}
	}
	var b bytes.Buffer
	// ReadFrom grows the buffer unless MinRead bytes are free, and it
	// needs one more read to see the end.
	b.Grow(size + bytes.MinRead)
	if _, err := b.ReadFrom(io.LimitReader(r, int64(maxSize)+1)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// mapped is a mapped file as LoadFile hands it to a parser: an io.Reader
// whose bytes ReadLimited returns as they are.
type mapped struct {
	*bytes.Reader
	data []byte
}

// LoadFile parses the file at path with read; errors name what the file
// holds (e.g. "patch experts") and its path.
//
// The file is mapped rather than read (where the system can): a buffer of
// its size would be fresh memory, cleared and page-faulted 4 KB at a time,
// while the mapping's pages come from the page cache, several per fault.
// read must keep no part of the bytes it is given once it returns.
func LoadFile[T any](path, what string, read func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := mmapfile.Open(path)
	if err != nil {
		// "open patch experts PATH: no such file or directory", not the
		// path thrice over.
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			err = pe.Err
		}
		return zero, fmt.Errorf("open %s %s: %w", what, path, err)
	}
	defer f.Close()
	v, err := read(&mapped{Reader: bytes.NewReader(f.Bytes()), data: f.Bytes()})
	if err != nil {
		return zero, fmt.Errorf("read %s %s: %w", what, path, err)
	}
	return v, nil
}
