package validator

import (
	"encoding/binary"
	"fmt"
	"math"
)

// maxMatElems bounds a single matrix so that a corrupt header cannot ask
// for an absurd allocation; the largest matrix in the file has 50,000
// elements.
const maxMatElems = 1 << 24

// decoder reads the validator's little-endian binary layout from memory;
// every read is bounds-checked.
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

func (d *decoder) float32(what string) (float32, error) {
	b, err := d.take(4, what)
	if err != nil {
		return 0, err
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(b)), nil
}

func (d *decoder) float64(what string) (float64, error) {
	b, err := d.take(8, what)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
}

// OpenCV depth codes.
const (
	depthU8  = 0
	depthS8  = 1
	depthU16 = 2
	depthS16 = 3
	depthS32 = 4
	depthF32 = 5
	depthF64 = 6
)

var depthSize = [7]int{1, 1, 2, 2, 4, 4, 8}

// mat is one single-channel binary matrix ("i32 rows, i32 cols, i32 type"
// and the row-major elements), its elements kept in the file's type.
type mat struct {
	rows, cols, depth int
	data              []byte
}

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
	if t < 0 || int(t) >= len(depthSize) {
		return mat{}, d.fail(what, "unsupported element type %d (only single-channel matrices occur)", t)
	}
	m := mat{rows: int(r), cols: int(c), depth: int(t)}
	m.data, err = d.take(m.rows*m.cols*depthSize[t], what+" data")
	return m, err
}

func (m mat) n() int { return m.rows * m.cols }

// value returns element i widened to float64.
func (m mat) value(i int) float64 {
	switch m.depth {
	case depthU8:
		return float64(m.data[i])
	case depthS8:
		return float64(int8(m.data[i]))
	case depthU16:
		return float64(binary.LittleEndian.Uint16(m.data[2*i:]))
	case depthS16:
		return float64(int16(binary.LittleEndian.Uint16(m.data[2*i:])))
	case depthS32:
		return float64(int32(binary.LittleEndian.Uint32(m.data[4*i:])))
	case depthF32:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(m.data[4*i:])))
	default:
		return math.Float64frombits(binary.LittleEndian.Uint64(m.data[8*i:]))
	}
}

// toFloat32 is convertTo(CV_32F): any element type, narrowed to float.
func (m mat) toFloat32() []float32 {
	out := make([]float32, m.n())
	for i := range out {
		out[i] = float32(m.value(i))
	}
	return out
}

// toUint8 is convertTo(CV_8U): rounded half to even and saturated.
func (m mat) toUint8() []uint8 {
	out := make([]uint8, m.n())
	for i := range out {
		v := math.RoundToEven(m.value(i))
		switch {
		case v >= 255:
			out[i] = 255
		case v > 0:
			out[i] = uint8(v)
		}
	}
	return out
}

// float32s returns the elements of an f32 matrix (fields OpenFace reads
// into float matrices without conversion).
func (m mat) float32s(what string) ([]float32, error) {
	if m.depth != depthF32 {
		return nil, fmt.Errorf("%w: %s: element type %d, want float32 (%d)", ErrFormat, what, m.depth, depthF32)
	}
	return m.toFloat32(), nil
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

// float64s returns the elements of an f64 matrix.
func (m mat) float64s(what string) ([]float64, error) {
	if m.depth != depthF64 {
		return nil, fmt.Errorf("%w: %s: element type %d, want float64 (%d)", ErrFormat, what, m.depth, depthF64)
	}
	out := make([]float64, m.n())
	for i := range out {
		out[i] = m.value(i)
	}
	return out, nil
}
