package clnf

import (
	"fmt"
	"image"

	"gocv.io/x/gocv"
)

// grayFrame converts an 8-bit BGR (or already grey) frame to the grey
// picture OpenFace fits on (ConvertToGrayscale_8bit: OpenCV's fixed-point
// BGR2GRAY). It reuses dst's pixels when dst has the frame's size (a
// Tracker converts every frame; at 1080p a fresh picture would be 2 MB of
// garbage each time).
func grayFrame(src gocv.Mat, dst *image.Gray) (*image.Gray, error) {
	if src.Empty() {
		return nil, fmt.Errorf("clnf: empty frame")
	}
	var g gocv.Mat
	switch src.Type() {
	case gocv.MatTypeCV8UC3:
		g = gocv.NewMat()
		defer g.Close()
		gocv.CvtColor(src, &g, gocv.ColorBGRToGray)
	case gocv.MatTypeCV8UC4:
		g = gocv.NewMat()
		defer g.Close()
		gocv.CvtColor(src, &g, gocv.ColorBGRAToGray)
	case gocv.MatTypeCV8UC1:
		g = src
		if !g.IsContinuous() {
			g = src.Clone()
			defer g.Close()
		}
	default:
		return nil, fmt.Errorf("clnf: frame of OpenCV type %v, want 8-bit BGR or grey", src.Type())
	}
	w, h := g.Cols(), g.Rows()
	pix, err := g.DataPtrUint8()
	if err != nil {
		return nil, fmt.Errorf("clnf: read grey pixels: %w", err)
	}
	img := dst
	if img == nil || img.Rect != image.Rect(0, 0, w, h) || img.Stride != w {
		img = image.NewGray(image.Rect(0, 0, w, h))
	}
	copy(img.Pix, pix[:w*h])
	return img, nil
}
