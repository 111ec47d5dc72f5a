package ccnf

import (
	"encoding/binary"
	"fmt"
	"math"
)

// OpenCV depth codes of the matrices in CCNF files.
const (
	depthS32 = 4
	depthF32 = 5
	depthF64 = 6
)

// maxMatElems bounds a single matrix so that a corrupt header cannot ask
// for an absurd allocation; the largest matrix in any model is 225×225.
const maxMatElems = 1 << 24

// decoder reads OpenFace's little-endian binary model layout from memory.
// Every read is bounds-checked; the first failure is reported with the
// offset and what was being read.
type decoder struct {
	buf []byte
	off int
}

func (d *decoder) fail(what string, format string, args ...any) error {
	return fmt.Errorf("%w: %s at byte %d: %s", ErrFormat, what, d.off, fmt.Sprintf(format, args...))
}

func (d *decoder) take(n int, what string) ([]byte, error) {
	if n < 0 || len(d.buf)-d.off < n {
		return nil, d.fail(what, "needs %d bytes, %d left", n, len(d.buf)-d.off)
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	return b, nil
}

func (d *decoder) int32(what string) (int32, error) {
	b, err := d.take(4, what)
	if err != nil {
		return 0, err
	}
	return int32(binary.LittleEndian.Uint32(b)), nil
}

func (d *decoder) float64(what string) (float64, error) {
	b, err := d.take(8, what)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
}

// mat is one binary matrix ("i32 rows, i32 cols, i32 cvtype" and the raw
// row-major elements) with its elements kept in their file type.
type mat struct {
	rows, cols int
	depth      int
	data       []byte
}

var depthSize = [8]int{1, 1, 2, 2, 4, 4, 8, 2}

// mat reads a single-channel binary matrix.
func (d *decoder) mat(what string) (mat, error) {
	r, err := d.int32(what + " rows")
	if err != nil {
		return mat{}, err
	}
	c, err := d.int32(what + " cols")
	if err != nil {
		return mat{}, err
	}
	t, err := d.int32(what + " type")
	if err != nil {
		return mat{}, err
	}
	if r < 0 || c < 0 || int64(r)*int64(c) > maxMatElems {
		return mat{}, d.fail(what, "bad size %d×%d", r, c)
	}
	if t < 0 || t > 7 {
		return mat{}, d.fail(what, "unsupported element type %d (only single-channel matrices occur)", t)
	}
	m := mat{rows: int(r), cols: int(c), depth: int(t)}
	m.data, err = d.take(m.rows*m.cols*depthSize[t], what+" data")
	return m, err
}

func (m mat) n() int { return m.rows * m.cols }

// float32s returns the elements of an f32 matrix.
func (m mat) float32s(what string) ([]float32, error) {
	if m.depth != depthF32 {
		return nil, fmt.Errorf("%w: %s: element type %d, want float32 (%d)", ErrFormat, what, m.depth, depthF32)
	}
	out := make([]float32, m.n())
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(m.data[4*i:]))
	}
	return out, nil
}

// float64s returns the elements of an f64 matrix.
func (m mat) float64s(what string) ([]float64, error) {
	if m.depth != depthF64 {
		return nil, fmt.Errorf("%w: %s: element type %d, want float64 (%d)", ErrFormat, what, m.depth, depthF64)
	}
	out := make([]float64, m.n())
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(m.data[8*i:]))
	}
	return out, nil
}

// int32s returns the elements of an i32 matrix.
func (m mat) int32s(what string) ([]int32, error) {
	if m.depth != depthS32 {
		return nil, fmt.Errorf("%w: %s: element type %d, want int32 (%d)", ErrFormat, what, m.depth, depthS32)
	}
	out := make([]int32, m.n())
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(m.data[4*i:]))
	}
	return out, nil
}
