package ofmat

import (
	"fmt"
	"io"
	"os"
)

// ReadDecoder reads all of r into memory, at most maxSize bytes, and returns
// a Decoder over it whose errors wrap errFormat. Model files are small, and
// the bound keeps a wrong or hostile input from exhausting memory; a larger
// input is an error wrapping errFormat, a read failure is returned as is.
func ReadDecoder(r io.Reader, maxSize int, errFormat error) (*Decoder, error) {
	buf, err := io.ReadAll(io.LimitReader(r, int64(maxSize)+1))
	if err != nil {
		return nil, err
	}
	if len(buf) > maxSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", errFormat, maxSize)
	}
	return NewDecoder(buf, errFormat), nil
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
