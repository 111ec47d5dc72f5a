package cnn

import (
	"context"
	"fmt"
)

// Tensor is a dense float32 tensor in NCHW order (batch, channels, rows,
// columns). Fully connected outputs use H = W = 1.
type Tensor struct {
	N, C, H, W int
	Data       []float32
}

// NewTensor returns a zeroed tensor of the given shape.
func NewTensor(n, c, h, w int) Tensor {
	return Tensor{N: n, C: c, H: h, W: w, Data: make([]float32, n*c*h*w)}
}

// At returns the element at batch b, channel c, row y, column x.
func (t Tensor) At(b, c, y, x int) float32 {
	return t.Data[((b*t.C+c)*t.H+y)*t.W+x]
}

// Check reports whether the data length matches the shape.
func (t Tensor) Check() error {
	if t.N < 0 || t.C < 0 || t.H < 0 || t.W < 0 || len(t.Data) != t.N*t.C*t.H*t.W {
		return fmt.Errorf("tensor shape %dx%dx%dx%d does not match %d values", t.N, t.C, t.H, t.W, len(t.Data))
	}
	return nil
}

// Runner runs one network on a batch. The plain-Go forward pass (*Net) and
// the ONNX Runtime sessions both implement it, so the detector does not care
// which one computes.
type Runner interface {
	Run(ctx context.Context, in Tensor) (Tensor, error)
}
