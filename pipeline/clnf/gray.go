package clnf

import (
	"fmt"
	"image"

	"gocv.io/x/gocv"
)

// grayFrame converts an 8-bit BGR (or already grey) frame to the grey
// picture OpenFace fits on (ConvertToGrayscale_8bit: OpenCV's fixed-point
// BGR2GRAY). It reuses dst's pixels when dst has the frame's size.
//
// OpenCV writes straight into the Go picture through a Mat header over its
// pixels: converting into a fresh Mat and copying cost 4 ms per 1080p frame
// in a helper, where glibc maps and unmaps every block above 1 MB
// (MALLOC_MMAP_THRESHOLD_) and so faults in 2 MB of new pages each time; the
// conversion itself takes 0.3 ms.
func grayFrame(src gocv.Mat, dst *image.Gray) (*image.Gray, error) {
	if src.Empty() {
		return nil, fmt.Errorf("clnf: empty frame")
	}
	w, h := src.Cols(), src.Rows()
	img := dst
	if img == nil || img.Rect != image.Rect(0, 0, w, h) || img.Stride != w {
		img = image.NewGray(image.Rect(0, 0, w, h))
	}
	var code gocv.ColorConversionCode
	switch src.Type() {
	case gocv.MatTypeCV8UC3:
		code = gocv.ColorBGRToGray
	case gocv.MatTypeCV8UC4:
		code = gocv.ColorBGRAToGray
	case gocv.MatTypeCV8UC1:
		g := src
		if !g.IsContinuous() {
			g = src.Clone()
			defer g.Close()
		}
		pix, err := g.DataPtrUint8()
		if err != nil {
			return nil, fmt.Errorf("clnf: read grey pixels: %w", err)
		}
		copy(img.Pix, pix[:w*h])
		return img, nil
	default:
		return nil, fmt.Errorf("clnf: frame of OpenCV type %v, want 8-bit BGR or grey", src.Type())
	}
	g, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC1, img.Pix)
	if err != nil {
		return nil, fmt.Errorf("clnf: grey picture: %w", err)
	}
	defer g.Close()
	gocv.CvtColor(src, &g, code)
	// A Mat of the right size and type is written in place; anything else
	// would mean OpenCV allocated a picture of its own.
	if out, err := g.DataPtrUint8(); err != nil || len(out) != len(img.Pix) || &out[0] != &img.Pix[0] {
		return nil, fmt.Errorf("clnf: grey conversion of a %dx%d frame did not write in place", w, h)
	}
	return img, nil
}
