package pdm

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// OpenCV type codes that OpenFace's text matrices use.
const (
	matTypeInt32   = 4
	matTypeFloat32 = 5
	matTypeFloat64 = 6
)

// maxMatrixValues bounds the size a matrix header may announce, so that a
// corrupt header cannot make the reader allocate without limit.
const maxMatrixValues = 1 << 24

// Matrix is one matrix of an OpenFace text model file.
type Matrix struct {
	Rows, Cols int
	// Type is the OpenCV type code of the file: 4 int32, 5 float32,
	// 6 float64.
	Type int
	// Data holds Rows·Cols values in row-major order. Integer matrices hold
	// exact integers.
	Data []float64
}

// ReadMatrix reads one matrix in OpenFace's text layout ("rows cols type"
// followed by the values, whitespace separated), skipping the comment and
// blank lines that may precede it as OpenFace's SkipComments does. Other
// OpenFace text files (triangulations such as tris_68_full.txt) share this
// layout.
func ReadMatrix(r io.Reader) (Matrix, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Matrix{}, err
	}
	s := &matScanner{data: data}
	s.skipComments()
	m, err := s.readMatrix()
	if err != nil {
		return Matrix{}, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return m, nil
}

// matScanner walks the bytes of a text model file.
type matScanner struct {
	data []byte
	pos  int
}

// skipComments drops whole lines while the next byte starts a comment, a
// blank line or an indented line, which is what OpenFace's SkipComments
// does between the blocks of a model file.
func (s *matScanner) skipComments() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case '#', '\n', ' ', '\r':
		default:
			return
		}
		for s.pos < len(s.data) && s.data[s.pos] != '\n' {
			s.pos++
		}
		if s.pos < len(s.data) {
			s.pos++
		}
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// token returns the next whitespace-separated word.
func (s *matScanner) token() (string, error) {
	for s.pos < len(s.data) && isSpace(s.data[s.pos]) {
		s.pos++
	}
	start := s.pos
	for s.pos < len(s.data) && !isSpace(s.data[s.pos]) {
		s.pos++
	}
	if start == s.pos {
		return "", io.ErrUnexpectedEOF
	}
	return string(s.data[start:s.pos]), nil
}

func (s *matScanner) readInt() (int, error) {
	t, err := s.token()
	if err != nil {
		return 0, err
	}
	v, err := strconv.Atoi(t)
	if err != nil {
		return 0, fmt.Errorf("bad integer %q", t)
	}
	return v, nil
}

func (s *matScanner) readMatrix() (Matrix, error) {
	var m Matrix
	var err error
	if m.Rows, err = s.readInt(); err != nil {
		return m, fmt.Errorf("rows: %w", err)
	}
	if m.Cols, err = s.readInt(); err != nil {
		return m, fmt.Errorf("cols: %w", err)
	}
	if m.Type, err = s.readInt(); err != nil {
		return m, fmt.Errorf("type: %w", err)
	}
	if m.Rows < 0 || m.Cols < 0 || (m.Cols > 0 && m.Rows > maxMatrixValues/m.Cols) {
		return m, fmt.Errorf("bad size %d×%d", m.Rows, m.Cols)
	}
	if m.Type != matTypeInt32 && m.Type != matTypeFloat32 && m.Type != matTypeFloat64 {
		return m, fmt.Errorf("unsupported matrix type %d", m.Type)
	}
	m.Data = make([]float64, m.Rows*m.Cols)
	for i := range m.Data {
		t, err := s.token()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return m, fmt.Errorf("%d of %d values: %w", i, len(m.Data), err)
		}
		switch m.Type {
		case matTypeInt32:
			v, err := strconv.ParseInt(t, 10, 32)
			if err != nil {
				return m, fmt.Errorf("value %d: bad integer %q", i, t)
			}
			m.Data[i] = float64(v)
		case matTypeFloat32:
			v, err := strconv.ParseFloat(t, 32)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return m, fmt.Errorf("value %d: bad number %q", i, t)
			}
			m.Data[i] = v
		default:
			v, err := strconv.ParseFloat(t, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return m, fmt.Errorf("value %d: bad number %q", i, t)
			}
			m.Data[i] = v
		}
	}
	return m, nil
}
