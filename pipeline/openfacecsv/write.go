package openfacecsv

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
)

// Encoder writes a file's text: the header when it is created, then one
// line per Encode.
type Encoder struct {
	w      io.Writer
	layout Layout
	fields []field
	buf    []byte
}

// NewEncoder validates l and writes its header line to w.
func NewEncoder(w io.Writer, l Layout) (*Encoder, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	e := &Encoder{w: w, layout: l, fields: l.fields()}
	for i, f := range e.fields {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = append(e.buf, f.name...)
	}
	e.buf = append(e.buf, '\n')
	if _, err := w.Write(e.buf); err != nil {
		return nil, fmt.Errorf("write CSV header: %w", err)
	}
	return e, nil
}

// Encode writes r as one line. A row that does not fit the layout or
// holds NaN or infinite values is refused with an error wrapping ErrRow
// and nothing is written.
func (e *Encoder) Encode(r Row) error {
	if err := e.layout.check(&r); err != nil {
		return err
	}
	b := e.buf[:0]
	for i, f := range e.fields {
		if i > 0 {
			b = append(b, ',')
		}
		switch f.kind {
		case fFrame:
			b = strconv.AppendInt(b, int64(r.Frame), 10)
		case fFaceID:
			b = strconv.AppendInt(b, int64(r.FaceID), 10)
		case fSuccess:
			if r.Success {
				b = append(b, '1')
			} else {
				b = append(b, '0')
			}
		default:
			v := r.value(f)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: frame %d column %s is %v", ErrRow, r.Frame, f.name, v)
			}
			// C++ streams print fixed notation through printf's %.*f, which
			// rounds the exact binary value half to even, as Go does.
			b = strconv.AppendFloat(b, v, 'f', f.prec, 64)
		}
	}
	b = append(b, '\n')
	e.buf = b
	if _, err := e.w.Write(b); err != nil {
		return fmt.Errorf("write CSV frame %d: %w", r.Frame, err)
	}
	return nil
}

// Writer writes a file atomically: rows go to a temporary file beside the
// destination, and Commit renames it into place. On any error, and on
// Abort, the temporary file is removed, so the destination is either left
// as it was or replaced by the complete file.
type Writer struct {
	path string
	tmp  *os.File
	bw   *bufio.Writer
	enc  *Encoder
	err  error // sticky: the first failure, after which the temp is gone
	done bool
}

// errClosed is the sticky error of a Writer after Commit or Abort.
var errClosed = errors.New("openfacecsv: writer already committed or aborted")

// Create starts writing the file path with layout l.
func Create(path string, l Layout) (*Writer, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("create CSV %s: %w", path, err)
	}
	w := &Writer{path: path, tmp: tmp, bw: bufio.NewWriterSize(tmp, 1<<16)}
	w.enc, err = NewEncoder(w.bw, l)
	if err != nil {
		w.fail(err)
		return nil, fmt.Errorf("create CSV %s: %w", path, err)
	}
	return w, nil
}

// Path returns the destination path.
func (w *Writer) Path() string { return w.path }

// Write appends one row. After an error the temporary file is removed and
// every later call returns that error.
func (w *Writer) Write(r Row) error {
	if w.err != nil {
		return w.err
	}
	if err := w.enc.Encode(r); err != nil {
		return w.fail(fmt.Errorf("write CSV %s: %w", w.path, err))
	}
	return nil
}

// Commit flushes and syncs the temporary file and renames it over the
// destination.
func (w *Writer) Commit() error {
	if w.err != nil {
		return w.err
	}
	name := w.tmp.Name()
	if err := w.bw.Flush(); err != nil {
		return w.fail(fmt.Errorf("write CSV %s: %w", w.path, err))
	}
	// CreateTemp makes the file private; give it the usual mode of a
	// newly created output file.
	if err := w.tmp.Chmod(0o644); err != nil {
		return w.fail(fmt.Errorf("write CSV %s: %w", w.path, err))
	}
	if err := w.tmp.Sync(); err != nil {
		return w.fail(fmt.Errorf("sync CSV %s: %w", w.path, err))
	}
	err := w.tmp.Close()
	w.tmp = nil
	if err != nil {
		os.Remove(name)
		w.err = fmt.Errorf("close CSV %s: %w", w.path, err)
		return w.err
	}
	if err := os.Rename(name, w.path); err != nil {
		os.Remove(name)
		w.err = fmt.Errorf("replace CSV %s: %w", w.path, err)
		return w.err
	}
	// Make the rename itself durable; a failure here leaves a complete
	// file in place, so it is not reported.
	if d, err := os.Open(filepath.Dir(w.path)); err == nil {
		d.Sync()
		d.Close()
	}
	w.err, w.done = errClosed, true
	return nil
}

// Abort discards the file. It is safe to call after Commit or an error
// (then it does nothing), so it can be deferred.
func (w *Writer) Abort() {
	if w.done || w.tmp == nil {
		return
	}
	w.fail(errClosed)
}

// fail records err, closes and removes the temporary file, and returns err.
func (w *Writer) fail(err error) error {
	if w.tmp != nil {
		name := w.tmp.Name()
		w.tmp.Close()
		os.Remove(name)
		w.tmp = nil
	}
	w.err = err
	return err
}

// WriteFile writes rows to path atomically.
func WriteFile(path string, l Layout, rows []Row) error {
	w, err := Create(path, l)
	if err != nil {
		return err
	}
	defer w.Abort()
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	return w.Commit()
}
