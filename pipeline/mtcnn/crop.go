package mtcnn

import (
	"fmt"
	"image"
	"unsafe"

	"facemirror/internal/hugemem"

	"gocv.io/x/gocv"
)

// Normalisation OpenFace applies to every network input after resizing:
// (x − 127.5)·0.0078125 in float.
const (
	pixelMean  = 127.5
	pixelScale = 0.0078125
)

// fillPlanes writes an interleaved BGR float image (n pixels) into three
// NCHW planes in R, G, B order, normalised. dst must hold 3·n values.
func fillPlanes(dst, bgr []float32, n int) {
	r, g, b := dst[:n], dst[n:2*n], dst[2*n:3*n]
	for i := 0; i < n; i++ {
		p := bgr[3*i : 3*i+3 : 3*i+3]
		b[i] = float32(p[0]-pixelMean) * pixelScale
		g[i] = float32(p[1]-pixelMean) * pixelScale
		r[i] = float32(p[2]-pixelMean) * pixelScale
	}
}

// floatBytes views a float32 slice as bytes so OpenCV can wrap it without a
// copy. The slice must stay alive while the Mat does.
func floatBytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), len(f)*4)
}

// cropper cuts the RNet/ONet input patches out of the float image. It keeps
// its canvas and output Mat between candidates so a stage allocates once.
type cropper struct {
	mat        gocv.Mat  // the CV_32FC3 image, imgW×imgH
	img        []float32 // its pixels, interleaved BGR
	imgW, imgH int
	canvas     []float32
	out        gocv.Mat // side×side CV_32FC3
}

// newCropper cuts from img, a continuous CV_32FC3 Mat whose pixels are px;
// img must outlive the cropper.
func newCropper(img gocv.Mat, px []float32) *cropper {
	return &cropper{mat: img, img: px, imgW: img.Cols(), imgH: img.Rows(), out: gocv.NewMat()}
}

func (c *cropper) Close() error { return c.out.Close() }

// crop fills dst (3·side² values, R,G,B planes) with the normalised patch
// for the integer box (x, y, w, h) that rectify produced.
//
// Like OpenFace it builds a (w+1)×(h+1) canvas of raw zeros whose column j
// holds image column x−1+j (an off-by-one inherited from 1-based MATLAB
// indexing), copies the part inside the image, resizes the canvas with
// INTER_LINEAR and normalises. When no image pixel falls inside the canvas
// OpenCV would be handed an empty or negative region; the canvas then stays
// all zeros.
//
// A canvas lying wholly inside the image is just an image region, so it is
// resized in place instead of copied: resize reads rows through the stride,
// giving the same values without moving megabytes for a large face.
func (c *cropper) crop(dst []float32, x, y, w, h, side int) error {
	cw, ch := w+1, h+1
	if cw <= 0 || ch <= 0 {
		return fmt.Errorf("crop canvas %dx%d for box (%d,%d,%d,%d) is empty", cw, ch, x, y, w, h)
	}
	if x >= 1 && y >= 1 && x+w <= c.imgW && y+h <= c.imgH {
		roi := c.mat.Region(image.Rect(x-1, y-1, x+w, y+h))
		gocv.Resize(roi, &c.out, image.Pt(side, side), 0, 0, gocv.InterpolationLinear)
		roi.Close()
		return c.read(dst, side)
	}
	return c.cropCanvas(dst, x, y, w, h, side)
}

// cropCanvas is crop through an explicit zero canvas; it handles any box
// with a non-empty canvas.
func (c *cropper) cropCanvas(dst []float32, x, y, w, h, side int) error {
	cw, ch := w+1, h+1
	n := cw * ch * 3
	if cap(c.canvas) < n {
		// Already zero. A face box reaching past a 1080p frame's edge
		// makes a canvas of several megabytes, written at once: huge
		// pages take most of its page faults.
		c.canvas = hugemem.Make[float32](n)
	} else {
		clear(c.canvas[:n])
	}
	canvas := c.canvas[:n]

	inX0, inY0 := max(x-1, 0), max(y-1, 0)
	inX1, inY1 := min(x+w, c.imgW), min(y+h, c.imgH)
	outX0, outY0 := max(1-x, 0), max(1-y, 0)
	outX1, outY1 := min(c.imgW-x+1, cw), min(c.imgH-y+1, ch)
	cols, rows := inX1-inX0, inY1-inY0
	if cols > 0 && rows > 0 && cols == outX1-outX0 && rows == outY1-outY0 {
		for r := 0; r < rows; r++ {
			src := c.img[((inY0+r)*c.imgW+inX0)*3:][:cols*3]
			copy(canvas[((outY0+r)*cw+outX0)*3:], src)
		}
	}

	m, err := gocv.NewMatFromBytes(ch, cw, gocv.MatTypeCV32FC3, floatBytes(canvas))
	if err != nil {
		return fmt.Errorf("wrap %dx%d crop canvas: %w", cw, ch, err)
	}
	gocv.Resize(m, &c.out, image.Pt(side, side), 0, 0, gocv.InterpolationLinear)
	m.Close()
	return c.read(dst, side)
}

// read normalises the resized side×side patch into dst.
func (c *cropper) read(dst []float32, side int) error {
	px, err := c.out.DataPtrFloat32()
	if err != nil {
		return fmt.Errorf("read %dx%d crop: %w", side, side, err)
	}
	fillPlanes(dst, px, side*side)
	return nil
}
