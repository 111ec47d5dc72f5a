package ofmat

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
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
func ReadLimited(r io.Reader, maxSize int) ([]byte, error) {
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

// LoadFile opens path and parses it with read; errors name what the file
// holds (e.g. "patch experts") and its path.
func LoadFile[T any](path, what string, read func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		return zero, fmt.Errorf("open %s %s: %w", what, path, err)
	}
	defer f.Close()
	v, err := read(f)
	if err != nil {
		return zero, fmt.Errorf("read %s %s: %w", what, path, err)
	}
	return v, nil
}
