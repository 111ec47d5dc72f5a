package mirror

import (
	"fmt"
	"unsafe"
)

// Image is an 8-bit BGR picture, the layout of OpenCV's CV_8UC3 Mat: pixel
// (x, y) is Pix[y*Stride+3*x : y*Stride+3*x+3] in B, G, R order.
type Image struct {
	Pix                   []byte
	Width, Height, Stride int
}

// NewImage returns a black w×h image with Stride = 3*w. It panics if w or h
// is negative.
func NewImage(w, h int) Image {
	if w < 0 || h < 0 {
		panic(fmt.Sprintf("mirror: NewImage(%d, %d): negative size", w, h))
	}
	return Image{Pix: make([]byte, 3*w*h), Width: w, Height: h, Stride: 3 * w}
}

// maxSide bounds the width and height Mirror accepts, so that the fixed-point
// coordinates (32 fractional bits) of every pixel fit in an int64 with room
// to spare.
const maxSide = 1 << 16

// span returns the number of bytes of Pix the image uses.
func (m Image) span() int {
	if m.Width <= 0 || m.Height <= 0 {
		return 0
	}
	return (m.Height-1)*m.Stride + 3*m.Width
}

// valid reports whether the image is non-empty and its buffer holds every
// pixel, and if not, why. It checks in an order that cannot overflow, so
// that span is safe afterwards.
func (m Image) valid() error {
	switch {
	case m.Width <= 0 || m.Height <= 0:
		return fmt.Errorf("empty %dx%d image", m.Width, m.Height)
	case m.Width > len(m.Pix)/3:
		return fmt.Errorf("%d bytes cannot hold a row of %d pixels", len(m.Pix), m.Width)
	case m.Stride < 3*m.Width:
		return fmt.Errorf("stride %d is less than 3×width %d", m.Stride, 3*m.Width)
	case m.Height-1 > (len(m.Pix)-3*m.Width)/m.Stride:
		return fmt.Errorf("%d bytes cannot hold %dx%d pixels with stride %d", len(m.Pix), m.Width, m.Height, m.Stride)
	}
	return nil
}

// overlaps reports whether the bytes two valid images use share memory.
// Writing an output over the picture being reflected would read pixels
// already overwritten, so the outputs must not overlap the source or each
// other.
func overlaps(a, b Image) bool {
	pa := uintptr(unsafe.Pointer(unsafe.SliceData(a.Pix)))
	pb := uintptr(unsafe.Pointer(unsafe.SliceData(b.Pix)))
	return pa < pb+uintptr(b.span()) && pb < pa+uintptr(a.span())
}
