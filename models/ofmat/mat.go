package ofmat

import (
	"encoding/binary"
	"fmt"
	"math"
)

// MaxElems bounds a single matrix so that a corrupt header cannot ask for
// an absurd allocation; the largest matrix in any OpenFace model file has
// about 50,000 elements.
const MaxElems = 1 << 24

// OpenCV depth codes of single-channel matrices.
const (
	DepthU8  = 0
	DepthS8  = 1
	DepthU16 = 2
	DepthS16 = 3
	DepthS32 = 4
	DepthF32 = 5
	DepthF64 = 6
)

var depthSize = [7]int{1, 1, 2, 2, 4, 4, 8}

// Decoder reads OpenFace's little-endian binary model layout from memory.
// Every read is bounds-checked; a failure names what was being read and
// the byte offset, and wraps the sentinel the caller gave, so that callers
// keep their own ErrFormat.
type Decoder struct {
	buf       []byte
	off       int
	errFormat error
}

// NewDecoder returns a Decoder over buf whose errors wrap errFormat.
func NewDecoder(buf []byte, errFormat error) *Decoder {
	return &Decoder{buf: buf, errFormat: errFormat}
}

// Bytes returns the whole input, as given to NewDecoder (for example to
// hash it); like the input, it must not be modified.
func (d *Decoder) Bytes() []byte { return d.buf }

// Fail returns an error wrapping the decoder's sentinel that names what was
// being read, the current offset and the formatted reason.
func (d *Decoder) Fail(what string, format string, args ...any) error {
	return fmt.Errorf("%w: %s at byte %d: %s", d.errFormat, what, d.off, fmt.Sprintf(format, args...))
}

// End reports an error if bytes are left unread: every model file must be
// consumed exactly, so leftovers mean a layout the reader does not know.
func (d *Decoder) End() error {
	if d.off != len(d.buf) {
		return d.Fail("end of file", "%d trailing bytes", len(d.buf)-d.off)
	}
	return nil
}

func (d *Decoder) take(n int, what string) ([]byte, error) {
	if n < 0 || len(d.buf)-d.off < n {
		return nil, d.Fail(what, "needs %d bytes, %d left", n, len(d.buf)-d.off)
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	return b, nil
}

// Int32 reads a little-endian int32.
func (d *Decoder) Int32(what string) (int32, error) {
	b, err := d.take(4, what)
	if err != nil {
		return 0, err
	}
	return int32(binary.LittleEndian.Uint32(b)), nil
}

// Float32 reads a little-endian IEEE float32.
func (d *Decoder) Float32(what string) (float32, error) {
	b, err := d.take(4, what)
	if err != nil {
		return 0, err
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(b)), nil
}

// Float64 reads a little-endian IEEE float64.
func (d *Decoder) Float64(what string) (float64, error) {
	b, err := d.take(8, what)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
}

// Mat is one single-channel binary matrix with its elements kept in the
// file's type; the accessors convert them as OpenFace's readers do.
type Mat struct {
	// Rows and Cols are the matrix size; Depth is its OpenCV depth code.
	Rows, Cols, Depth int

	data      []byte
	errFormat error
}

// Mat reads a single-channel matrix. Only the depths DepthU8 to DepthF64
// are accepted: OpenFace's files hold nothing else.
func (d *Decoder) Mat(what string) (Mat, error) {
	r, err := d.Int32(what + " rows")
	if err != nil {
		return Mat{}, err
	}
	c, err := d.Int32(what + " cols")
	if err != nil {
		return Mat{}, err
	}
	t, err := d.Int32(what + " type")
	if err != nil {
		return Mat{}, err
	}
	if r < 0 || c < 0 || int64(r)*int64(c) > MaxElems {
		return Mat{}, d.Fail(what, "bad size %d×%d", r, c)
	}
	if t < 0 || int(t) >= len(depthSize) {
		return Mat{}, d.Fail(what, "unsupported element type %d (only single-channel matrices occur)", t)
	}
	m := Mat{Rows: int(r), Cols: int(c), Depth: int(t), errFormat: d.errFormat}
	m.data, err = d.take(m.Rows*m.Cols*depthSize[t], what+" data")
	return m, err
}

// Len returns the number of elements.
func (m Mat) Len() int { return m.Rows * m.Cols }

// Value returns element i (row-major) widened to float64.
func (m Mat) Value(i int) float64 {
	switch m.Depth {
	case DepthU8:
		return float64(m.data[i])
	case DepthS8:
		return float64(int8(m.data[i]))
	case DepthU16:
		return float64(binary.LittleEndian.Uint16(m.data[2*i:]))
	case DepthS16:
		return float64(int16(binary.LittleEndian.Uint16(m.data[2*i:])))
	case DepthS32:
		return float64(int32(binary.LittleEndian.Uint32(m.data[4*i:])))
	case DepthF32:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(m.data[4*i:])))
	default:
		return math.Float64frombits(binary.LittleEndian.Uint64(m.data[8*i:]))
	}
}

// ToFloat32 is convertTo(CV_32F): any element type, narrowed to float.
func (m Mat) ToFloat32() []float32 {
	out := make([]float32, m.Len())
	if m.Depth == DepthF32 {
		// Most of the landmark detector's load: skip the per-element
		// switch and the round trip through float64 (exact either way).
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(m.data[4*i:]))
		}
		return out
	}
	for i := range out {
		out[i] = float32(m.Value(i))
	}
	return out
}

// ToUint8 is convertTo(CV_8U): rounded half to even and saturated.
func (m Mat) ToUint8() []uint8 {
	out := make([]uint8, m.Len())
	for i := range out {
		v := math.RoundToEven(m.Value(i))
		switch {
		case v >= 255:
			out[i] = 255
		case v > 0:
			out[i] = uint8(v)
		}
	}
	return out
}

func (m Mat) wantDepth(what string, depth int, name string) error {
	if m.Depth != depth {
		return fmt.Errorf("%w: %s: element type %d, want %s (%d)", m.errFormat, what, m.Depth, name, depth)
	}
	return nil
}

// Float32s returns the elements of an f32 matrix; any other element type
// is an error, for fields OpenFace reads into float matrices as stored.
func (m Mat) Float32s(what string) ([]float32, error) {
	if err := m.wantDepth(what, DepthF32, "float32"); err != nil {
		return nil, err
	}
	return m.ToFloat32(), nil
}

// Float64s returns the elements of an f64 matrix.
func (m Mat) Float64s(what string) ([]float64, error) {
	if err := m.wantDepth(what, DepthF64, "float64"); err != nil {
		return nil, err
	}
	out := make([]float64, m.Len())
	for i := range out {
		out[i] = m.Value(i)
	}
	return out, nil
}

// Int32s returns the elements of an i32 matrix.
func (m Mat) Int32s(what string) ([]int32, error) {
	if err := m.wantDepth(what, DepthS32, "int32"); err != nil {
		return nil, err
	}
	out := make([]int32, m.Len())
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(m.data[4*i:]))
	}
	return out, nil
}
