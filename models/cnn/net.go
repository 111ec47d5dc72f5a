package cnn

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Layer is one layer of a Net: *Conv, *MaxPool, *FC or *PReLU. The set is
// closed because the forward pass and the ONNX converter must know every
// kind.
type Layer interface {
	// String describes the layer the way docs/CLNF_FACTS.md does, e.g.
	// "conv3x3 3->10", "pool k3 s2", "FC 576->128", "PReLU".
	String() string
	layer()
}

// Conv is a valid (unpadded, stride 1) cross-correlation with one bias per
// output map. The kernels are not flipped.
type Conv struct {
	In, Out int // input and output maps
	KH, KW  int // kernel rows and columns
	// Kernels holds Out×In×KH×KW weights; kernel (o, i) row y column x is
	// Kernels[((o*In+i)*KH+y)*KW+x].
	Kernels []float32
	Bias    []float32 // Out values
}

// MaxPool takes the maximum over KX×KY windows placed every SX columns and SY
// rows. The output size is round((in-k)/s)+1 (see PoolOutSize); windows that
// reach past the border are clipped to it.
type MaxPool struct {
	KX, KY int // window columns and rows
	SX, SY int // strides along columns and rows
}

// FC is a fully connected layer, Out = Weights·x + Bias. When its input has
// several maps and their number equals In, it is applied to every pixel
// separately (a 1×1 convolution, as in PNet). Otherwise each input map is
// flattened column by column (OpenFace transposes the map before flattening)
// and the maps are concatenated one after the other.
type FC struct {
	In, Out int
	// Weights holds Out×In values, row-major: Weights[o*In+i]. (The file
	// stores the transpose; Read transposes it as OpenFace does.)
	Weights []float32
	Bias    []float32 // Out values
}

// PReLU is x >= 0 ? x : x*Slopes[c], with one slope per map (per element
// after a fully connected layer).
type PReLU struct {
	Slopes []float32
}

func (*Conv) layer()    {}
func (*MaxPool) layer() {}
func (*FC) layer()      {}
func (*PReLU) layer()   {}

func (c *Conv) String() string {
	return fmt.Sprintf("conv%dx%d %d->%d", c.KH, c.KW, c.In, c.Out)
}

func (p *MaxPool) String() string {
	if p.KX == p.KY && p.SX == p.SY {
		return fmt.Sprintf("pool k%d s%d", p.KX, p.SX)
	}
	return fmt.Sprintf("pool k%dx%d s%dx%d", p.KX, p.KY, p.SX, p.SY)
}

func (f *FC) String() string { return fmt.Sprintf("FC %d->%d", f.In, f.Out) }

func (*PReLU) String() string { return "PReLU" }

// Net is a feed-forward network as stored in an OpenFace .dat file. A Net is
// not modified by Run, so one Net may serve several goroutines at once.
type Net struct {
	Layers []Layer
}

// String lists the layers, e.g.
// "conv3x3 3->10, PReLU, pool k2 s2, conv3x3 10->16, ...".
func (n *Net) String() string {
	parts := make([]string, len(n.Layers))
	for i, l := range n.Layers {
		parts[i] = l.String()
	}
	return strings.Join(parts, ", ")
}

// InChannels returns the number of input maps the network expects (the
// first convolution's input count), or 0 if it does not start with one.
func (n *Net) InChannels() int {
	if len(n.Layers) > 0 {
		if c, ok := n.Layers[0].(*Conv); ok {
			return c.In
		}
	}
	return 0
}

// Check validates the network without an input: every layer's own sizes,
// a convolution first, and each layer accepting the maps its predecessor
// produces as far as that is known without an input size. Read returns only
// networks that pass; call it on a Net built by hand.
func (n *Net) Check() error {
	if len(n.Layers) == 0 {
		return errors.New("network has no layers")
	}
	maps, vector := 0, false // what flows into the next layer
	for i, l := range n.Layers {
		if err := checkLayer(l); err != nil {
			return fmt.Errorf("layer %d (%s): %w", i, l, err)
		}
		if c, ok := l.(*Conv); i == 0 && ok {
			maps = c.In
		} else if i == 0 {
			return fmt.Errorf("first layer is %s, want a convolution", l)
		}
		var err error
		if maps, vector, err = chain(l, maps, vector); err != nil {
			return fmt.Errorf("layer %d (%s): %w", i, l, err)
		}
	}
	return nil
}

// chain checks that a layer accepts the maps its predecessor produces, as
// far as that is known without an input size, and returns what it produces.
func chain(l Layer, maps int, vector bool) (int, bool, error) {
	switch l := l.(type) {
	case *Conv:
		if maps != l.In {
			return 0, false, fmt.Errorf("expects %d input maps, previous layer gives %d", l.In, maps)
		}
		return l.Out, false, nil
	case *PReLU:
		if len(l.Slopes) != maps {
			return 0, false, fmt.Errorf("%d slopes for %d maps", len(l.Slopes), maps)
		}
	case *FC:
		perPixel := l.PerPixel(maps, vector)
		if !perPixel && l.In%maps != 0 {
			return 0, false, fmt.Errorf("input size %d does not fit %d maps", l.In, maps)
		}
		return l.Out, !perPixel, nil
	}
	return maps, vector, nil
}

// ErrShape reports an input whose shape the network cannot process (wrong
// channel count, too small, or not matching a fully connected layer).
var ErrShape = errors.New("input shape does not fit the network")

// PoolOutSize is OpenFace's max-pool output size along one axis:
// round((in-k)/s)+1, with the division done in float32 and round taking
// halves away from zero. For strides up to 2 with k >= s this equals
// Caffe's (and ONNX's) ceil_mode size.
func PoolOutSize(in, k, s int) int {
	q := float32(in-k) / float32(s)
	return int(math.Round(float64(q))) + 1
}

// OutShape returns the output maps and size the network produces for an
// input of h rows and w columns, or an error wrapping ErrShape.
func (n *Net) OutShape(h, w int) (c, oh, ow int, err error) {
	s, err := n.plan(n.InChannels(), h, w)
	if err != nil {
		return 0, 0, 0, err
	}
	last := s[len(s)-1]
	return last.c, last.h, last.w, nil
}

// shape is the per-sample shape flowing between layers. vector marks the
// output of a flattening FC: OpenFace then holds a single column matrix, not
// a stack of 1×1 maps, which changes how the next FC computes.
type shape struct {
	c, h, w int
	vector  bool
}

// plan checks the layers against an input shape and returns the shape after
// every layer (index i is the output of layer i).
func (n *Net) plan(c, h, w int) ([]shape, error) {
	if err := n.Check(); err != nil {
		return nil, err
	}
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("%w: input %dx%d is empty", ErrShape, h, w)
	}
	cur := shape{c: c, h: h, w: w}
	out := make([]shape, len(n.Layers))
	for i, l := range n.Layers {
		switch l := l.(type) {
		case *Conv:
			if cur.c != l.In {
				return nil, fmt.Errorf("%w: layer %d (%s) gets %d maps", ErrShape, i, l, cur.c)
			}
			if cur.h < l.KH || cur.w < l.KW {
				return nil, fmt.Errorf("%w: layer %d (%s) gets %dx%d maps, smaller than its kernel", ErrShape, i, l, cur.h, cur.w)
			}
			cur = shape{c: l.Out, h: cur.h - l.KH + 1, w: cur.w - l.KW + 1}
		case *MaxPool:
			oh, ow := PoolOutSize(cur.h, l.KY, l.SY), PoolOutSize(cur.w, l.KX, l.SX)
			if oh < 1 || ow < 1 {
				return nil, fmt.Errorf("%w: layer %d (%s) gets %dx%d maps, too small to pool", ErrShape, i, l, cur.h, cur.w)
			}
			cur = shape{c: cur.c, h: oh, w: ow, vector: cur.vector}
		case *PReLU:
			if len(l.Slopes) != cur.c {
				return nil, fmt.Errorf("%w: layer %d (PReLU) has %d slopes for %d maps", ErrShape, i, len(l.Slopes), cur.c)
			}
		case *FC:
			switch {
			case l.PerPixel(cur.c, cur.vector):
				cur = shape{c: l.Out, h: cur.h, w: cur.w}
			case cur.c*cur.h*cur.w == l.In && (cur.c > 1 || cur.w == 1):
				// A single map is multiplied as a matrix by OpenFace,
				// which only gives a vector for one column.
				cur = shape{c: l.Out, h: 1, w: 1, vector: true}
			default:
				return nil, fmt.Errorf("%w: layer %d (%s) gets %d maps of %dx%d", ErrShape, i, l, cur.c, cur.h, cur.w)
			}
		}
		out[i] = cur
	}
	return out, nil
}

// PerPixel reports whether OpenFace applies the layer to every pixel
// separately (a 1×1 convolution, as PNet's last layer) rather than to the
// flattened input. That happens when the input has several maps, their
// number equals In, and the input is not already the vector a flattening FC
// produced. maps and vector describe the input.
func (f *FC) PerPixel(maps int, vector bool) bool {
	return !vector && maps > 1 && maps == f.In
}

// checkLayer validates a layer's own fields so a hand-built Net cannot make
// the forward pass index out of range.
func checkLayer(l Layer) error {
	switch l := l.(type) {
	case nil:
		return errors.New("nil layer")
	case *Conv:
		if l == nil {
			return errors.New("nil layer")
		}
		if l.In < 1 || l.Out < 1 || l.KH < 1 || l.KW < 1 {
			return fmt.Errorf("bad sizes %d->%d, kernel %dx%d", l.In, l.Out, l.KH, l.KW)
		}
		if len(l.Kernels) != l.Out*l.In*l.KH*l.KW || len(l.Bias) != l.Out {
			return fmt.Errorf("%d kernel weights and %d biases, want %d and %d", len(l.Kernels), len(l.Bias), l.Out*l.In*l.KH*l.KW, l.Out)
		}
	case *MaxPool:
		if l == nil {
			return errors.New("nil layer")
		}
		if l.KX < 1 || l.KY < 1 || l.SX < 1 || l.SY < 1 {
			return fmt.Errorf("bad window %dx%d or stride %dx%d", l.KX, l.KY, l.SX, l.SY)
		}
	case *FC:
		if l == nil {
			return errors.New("nil layer")
		}
		if l.In < 1 || l.Out < 1 {
			return fmt.Errorf("bad sizes %d->%d", l.In, l.Out)
		}
		if len(l.Weights) != l.Out*l.In || len(l.Bias) != l.Out {
			return fmt.Errorf("%d weights and %d biases, want %d and %d", len(l.Weights), len(l.Bias), l.Out*l.In, l.Out)
		}
	case *PReLU:
		if l == nil {
			return errors.New("nil layer")
		}
		if len(l.Slopes) == 0 {
			return errors.New("no slopes")
		}
	}
	return nil
}
