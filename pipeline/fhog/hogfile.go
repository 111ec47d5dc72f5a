package fhog

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// OpenFace's .hog file (FeatureExtraction -hogalign) is a sequence of
// frames, each a little-endian header of int32 columns, int32 rows, int32
// channels and a float32 success flag (1 or -1), followed by
// rows*cols*channels float32 values in row, column, channel order.

// maxFrameValues bounds rows*cols*channels in a frame header so a corrupt
// file cannot trigger a huge allocation (a 1024×1024 image gives ~500k).
const maxFrameValues = 1 << 24

// ErrHOGFormat reports a .hog stream whose frame header is invalid or whose
// data ends inside a frame.
var ErrHOGFormat = errors.New("fhog: malformed .hog data")

// Frame is one record of a .hog file.
type Frame struct {
	Descriptor
	// Channels is the number of values per cell (NumFeatures in files
	// OpenFace writes).
	Channels int
	// Success is OpenFace's flag for a frame whose face was tracked.
	Success bool
}

// HOGReader reads frames of an OpenFace .hog stream one at a time.
type HOGReader struct {
	r     *bufio.Reader
	index int
	buf   []byte
}

// NewHOGReader returns a reader of the .hog stream r.
func NewHOGReader(r io.Reader) *HOGReader {
	return &HOGReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next frame, io.EOF at a clean end of the stream, or an
// error wrapping ErrHOGFormat (or the underlying read error).
func (h *HOGReader) Next() (Frame, error) {
	var head [16]byte
	n, err := io.ReadFull(h.r, head[:])
	if err == io.EOF && n == 0 {
		return Frame{}, io.EOF
	}
	if err != nil {
		return Frame{}, h.fail("header", err)
	}
	cols := int32(binary.LittleEndian.Uint32(head[0:]))
	rows := int32(binary.LittleEndian.Uint32(head[4:]))
	channels := int32(binary.LittleEndian.Uint32(head[8:]))
	flag := math.Float32frombits(binary.LittleEndian.Uint32(head[12:]))
	if cols < 0 || rows < 0 || channels < 0 || int64(cols)*int64(rows)*int64(channels) > maxFrameValues {
		return Frame{}, fmt.Errorf("%w: frame %d: header %d cols × %d rows × %d channels", ErrHOGFormat, h.index, cols, rows, channels)
	}
	if flag != 1 && flag != -1 {
		return Frame{}, fmt.Errorf("%w: frame %d: success flag %v is neither 1 nor -1", ErrHOGFormat, h.index, flag)
	}
	count := int(cols) * int(rows) * int(channels)
	if cap(h.buf) < 4*count {
		h.buf = make([]byte, 4*count)
	}
	raw := h.buf[:4*count]
	if _, err := io.ReadFull(h.r, raw); err != nil {
		return Frame{}, h.fail("values", err)
	}
	data := make([]float32, count)
	for i := range data {
		data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	h.index++
	return Frame{
		Descriptor: Descriptor{Rows: int(rows), Cols: int(cols), Data: data},
		Channels:   int(channels),
		Success:    flag == 1,
	}, nil
}

// fail wraps a read error of part of the current frame; a stream ending
// inside a frame is a format error.
func (h *HOGReader) fail(part string, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: frame %d: %s truncated", ErrHOGFormat, h.index, part)
	}
	return fmt.Errorf("read .hog frame %d %s: %w", h.index, part, err)
}

// ReadHOGFile reads every frame of an OpenFace .hog stream.
func ReadHOGFile(r io.Reader) ([]Frame, error) {
	h := NewHOGReader(r)
	var frames []Frame
	for {
		f, err := h.Next()
		if err == io.EOF {
			return frames, nil
		}
		if err != nil {
			return frames, err
		}
		frames = append(frames, f)
	}
}

// WriteHOGFrame appends one frame in OpenFace's .hog layout to w. The
// descriptor must hold Rows*Cols*NumFeatures values.
func WriteHOGFrame(w io.Writer, d Descriptor, success bool) error {
	if d.Rows < 0 || d.Cols < 0 || len(d.Data) != d.Rows*d.Cols*NumFeatures {
		return fmt.Errorf("write .hog frame: %d values do not fit %d rows × %d cols × %d features", len(d.Data), d.Rows, d.Cols, NumFeatures)
	}
	buf := make([]byte, 16+4*len(d.Data))
	binary.LittleEndian.PutUint32(buf[0:], uint32(d.Cols))
	binary.LittleEndian.PutUint32(buf[4:], uint32(d.Rows))
	binary.LittleEndian.PutUint32(buf[8:], NumFeatures)
	flag := float32(-1)
	if success {
		flag = 1
	}
	binary.LittleEndian.PutUint32(buf[12:], math.Float32bits(flag))
	for i, v := range d.Data {
		binary.LittleEndian.PutUint32(buf[16+4*i:], math.Float32bits(v))
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("write .hog frame: %w", err)
	}
	return nil
}
