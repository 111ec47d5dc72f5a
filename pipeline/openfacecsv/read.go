package openfacecsv

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// ErrFormat reports text that is not an OpenFace FeatureExtraction CSV:
// an unknown or misplaced column, a line with the wrong number of fields,
// or a field that does not parse.
var ErrFormat = errors.New("openfacecsv: malformed OpenFace CSV")

// maxLine bounds a line's length so a file without line breaks cannot
// exhaust memory (a 714-column line is about 5 kB).
const maxLine = 1 << 22

// Reader reads a file row by row.
type Reader struct {
	br     *bufio.Reader
	layout Layout
	fields []field
	line   int // number of the last line read (1-based)
}

// NewReader reads the header of an OpenFace CSV from r and returns a
// Reader positioned on the first row.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{br: bufio.NewReaderSize(r, 1<<16)}
	text, err := rd.readLine()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: empty file", ErrFormat)
	}
	if err != nil {
		return nil, err
	}
	text = strings.TrimPrefix(text, "\ufeff")
	names := strings.Split(text, ",")
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	l, err := layoutFromHeader(names)
	if err != nil {
		return nil, err
	}
	rd.layout, rd.fields = l, l.fields()
	return rd, nil
}

// Layout returns the layout the header describes.
func (r *Reader) Layout() Layout { return r.layout }

// readLine returns the next line without its line end, or io.EOF.
func (r *Reader) readLine() (string, error) {
	var sb strings.Builder
	for {
		chunk, err := r.br.ReadSlice('\n')
		sb.Write(chunk)
		if sb.Len() > maxLine {
			return "", fmt.Errorf("%w: line %d is longer than %d bytes", ErrFormat, r.line+1, maxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && err != io.EOF {
			return "", fmt.Errorf("read CSV line %d: %w", r.line+1, err)
		}
		if err == io.EOF && sb.Len() == 0 {
			return "", io.EOF
		}
		r.line++
		s := strings.TrimSuffix(sb.String(), "\n")
		return strings.TrimSuffix(s, "\r"), nil
	}
}

// Next returns the next row, or io.EOF after the last one. Empty lines
// are skipped.
func (r *Reader) Next() (Row, error) {
	var text string
	for {
		var err error
		text, err = r.readLine()
		if err != nil {
			return Row{}, err
		}
		if strings.TrimSpace(text) != "" {
			break
		}
	}
	parts := strings.Split(text, ",")
	if len(parts) != len(r.fields) {
		return Row{}, fmt.Errorf("%w: line %d has %d fields, the header %d", ErrFormat, r.line, len(parts), len(r.fields))
	}
	row := NewRow(r.layout)
	for i, f := range r.fields {
		s := strings.TrimSpace(parts[i])
		switch f.kind {
		case fFrame, fFaceID:
			n, err := strconv.Atoi(s)
			if err != nil {
				return Row{}, fmt.Errorf("%w: line %d column %s: %q is not an integer", ErrFormat, r.line, f.name, s)
			}
			if f.kind == fFrame {
				row.Frame = n
			} else {
				row.FaceID = n
			}
		case fSuccess:
			switch s {
			case "1":
				row.Success = true
			case "0":
			default:
				return Row{}, fmt.Errorf("%w: line %d column success: %q is not 0 or 1", ErrFormat, r.line, s)
			}
		default:
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return Row{}, fmt.Errorf("%w: line %d column %s: %q is not a finite number", ErrFormat, r.line, f.name, s)
			}
			row.set(f, v)
		}
	}
	return row, nil
}

// File is a whole CSV file.
type File struct {
	Layout Layout
	Rows   []Row
}

// Read reads a whole OpenFace CSV.
func Read(r io.Reader) (*File, error) {
	rd, err := NewReader(r)
	if err != nil {
		return nil, err
	}
	f := &File{Layout: rd.Layout()}
	for {
		row, err := rd.Next()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return nil, err
		}
		f.Rows = append(f.Rows, row)
	}
}

// ReadFile reads the OpenFace CSV at path.
func ReadFile(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read CSV: %w", err)
	}
	defer fh.Close()
	f, err := Read(fh)
	if err != nil {
		return nil, fmt.Errorf("read CSV %s: %w", path, err)
	}
	return f, nil
}

// layoutFromHeader recognises the blocks of a header and checks that the
// columns are exactly the ones the layout gives, in order.
func layoutFromHeader(names []string) (Layout, error) {
	var l Layout
	base := []string{"frame", "face_id", "timestamp", "confidence", "success"}
	if len(names) < len(base) {
		return l, fmt.Errorf("%w: header has %d columns; only FeatureExtraction sequence files (%s, …) are supported", ErrFormat, len(names), strings.Join(base, ","))
	}
	for i, n := range base {
		if names[i] != n {
			return l, fmt.Errorf("%w: column %d is %q, want %q (only sequence files are supported)", ErrFormat, i+1, names[i], n)
		}
	}
	pos := len(base)
	// run counts the columns from pos on named prefix followed by 0, 1, ….
	run := func(from int, prefix string) int {
		n := 0
		for from+n < len(names) && names[from+n] == prefix+strconv.Itoa(n) {
			n++
		}
		return n
	}
	at := func(n string) bool { return pos < len(names) && names[pos] == n }
	if at("gaze_0_x") {
		l.Gaze = true
		l.EyeLandmarks = run(pos+8, "eye_lmk_x_")
		pos += 8 + 5*l.EyeLandmarks
	}
	if at("pose_Tx") {
		l.Pose = true
		pos += 6
	}
	if at("x_0") {
		l.Landmarks2D = true
		l.Landmarks = run(pos, "x_")
		pos += 2 * l.Landmarks
	}
	if at("X_0") {
		l.Landmarks3D = true
		n := run(pos, "X_")
		if l.Landmarks2D && n != l.Landmarks {
			return l, fmt.Errorf("%w: %d 2D landmarks but %d 3D landmarks", ErrFormat, l.Landmarks, n)
		}
		l.Landmarks = n
		pos += 3 * n
	}
	if at("p_scale") {
		l.Params = true
		l.Modes = run(pos+6, "p_")
		pos += 6 + l.Modes
	}
	for ; pos < len(names) && strings.HasSuffix(names[pos], "_r"); pos++ {
		l.AUs = true
		l.IntensityAUs = append(l.IntensityAUs, strings.TrimSuffix(names[pos], "_r"))
	}
	for ; pos < len(names) && strings.HasSuffix(names[pos], "_c"); pos++ {
		l.AUs = true
		l.OccurrenceAUs = append(l.OccurrenceAUs, strings.TrimSuffix(names[pos], "_c"))
	}
	if err := l.Validate(); err != nil {
		return l, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	want := l.Columns()
	for i, n := range names {
		if i >= len(want) {
			return l, fmt.Errorf("%w: unexpected column %d %q", ErrFormat, i+1, n)
		}
		if n != want[i] {
			return l, fmt.Errorf("%w: column %d is %q, want %q", ErrFormat, i+1, n, want[i])
		}
	}
	if len(names) < len(want) {
		return l, fmt.Errorf("%w: header ends after %d columns, want %d", ErrFormat, len(names), len(want))
	}
	return l, nil
}
