package validator

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"facemirror/models/ofmat"
)

// ErrFormat reports a validator file that is not a valid CNN validator.
var ErrFormat = errors.New("validator: invalid validator file")

// maxFileSize bounds what Read accepts; validator_cnn.txt is 2.1 MB.
const maxFileSize = 64 << 20

// Layer types of the validator's CNN.
const (
	layerConv    = 0
	layerPool    = 1
	layerFC      = 2
	layerReLU    = 3
	layerSigmoid = 4
)

// layer is one CNN layer of a view.
type layer struct {
	kind int
	// Convolution: nIn input maps, nOut kernels of kh×kw. weights has one
	// row per kernel: the kernels of every input map flattened
	// column-major (map-major), then the bias.
	nIn, nOut, kh, kw int
	// Fully connected: weights is out×in (transposed at load, as
	// CheckCNN transposes it at call time), bias has out values.
	in, out int
	weights []float32
	bias    []float32
}

// view is the validator of one head orientation.
type view struct {
	orientation [3]float64 // radians
	mean, std   []float32  // per mask pixel, column-major mask order
	layers      []layer
	paw         paw
}

// Validator is OpenFace's CNN detection validator
// (detection_validation/validator_cnn.txt): for each of its views a
// piecewise-affine warp of the face to a fixed template, a normalisation
// and a small CNN whose 30 outputs bin the landmark error. A Validator is
// safe for concurrent use.
type Validator struct {
	views []view
	// scratch recycles forward-pass memory between Checks (*scratch).
	scratch sync.Pool
}

// NumViews returns the number of views (7 in OpenFace's file).
func (v *Validator) NumViews() int { return len(v.views) }

// Orientation returns the (pitch, yaw, roll) centre of view i in radians.
func (v *Validator) Orientation(i int) [3]float64 { return v.views[i].orientation }

// Load reads a validator file such as
// model/detection_validation/validator_cnn.txt (binary despite the name).
func Load(path string) (*Validator, error) {
	return ofmat.LoadFile(path, "validator", Read)
}

// Read parses a CNN validator file (DetectionValidator::Read with
// validator type 3). Malformed input gives an error wrapping ErrFormat.
func Read(r io.Reader) (*Validator, error) {
	d, err := ofmat.ReadDecoder(r, maxFileSize, ErrFormat)
	if err != nil {
		return nil, err
	}
	typ, err := d.Int32("validator type")
	if err != nil {
		return nil, err
	}
	if typ != 3 {
		// OpenFace only warns about other types and then cannot use them.
		return nil, d.Fail("validator type", "%d, only the CNN validator (3) is supported", typ)
	}
	n, err := d.Int32("view count")
	if err != nil {
		return nil, err
	}
	if n < 1 || n > 64 {
		return nil, d.Fail("view count", "%d views", n)
	}
	v := &Validator{views: make([]view, n)}
	for i := range v.views {
		m, err := d.Mat("orientation")
		if err != nil {
			return nil, err
		}
		o, err := m.Float64s("orientation")
		if err != nil {
			return nil, err
		}
		if len(o) != 3 {
			return nil, d.Fail("orientation", "%d values, want 3", len(o))
		}
		for k := range o {
			v.views[i].orientation[k] = (o[k] * math.Pi) * (1.0 / 180.0)
		}
	}
	for i := range v.views {
		if err := readView(d, &v.views[i]); err != nil {
			return nil, fmt.Errorf("view %d: %w", i, err)
		}
	}
	if err := d.End(); err != nil {
		return nil, err
	}
	return v, nil
}

func readView(d *ofmat.Decoder, vw *view) error {
	m, err := d.Mat("mean image")
	if err != nil {
		return err
	}
	vw.mean = m.ToFloat32()
	if m, err = d.Mat("standard deviations"); err != nil {
		return err
	}
	vw.std = m.ToFloat32()
	depth, err := d.Int32("network depth")
	if err != nil {
		return err
	}
	if depth < 1 || depth > 64 {
		return d.Fail("network depth", "%d layers", depth)
	}
	vw.layers = make([]layer, depth)
	for l := range vw.layers {
		if err := readLayer(d, &vw.layers[l]); err != nil {
			return fmt.Errorf("layer %d: %w", l, err)
		}
	}
	if err := readPAW(d, &vw.paw); err != nil {
		return err
	}
	npix := vw.paw.numPixels
	if len(vw.mean) != npix || len(vw.std) != npix {
		return fmt.Errorf("%w: %d mean and %d std values for %d warped pixels", ErrFormat, len(vw.mean), len(vw.std), npix)
	}
	return checkNetwork(vw)
}

func readLayer(d *ofmat.Decoder, l *layer) error {
	t, err := d.Int32("layer type")
	if err != nil {
		return err
	}
	l.kind = int(t)
	switch l.kind {
	case layerConv:
		return readConv(d, l)
	case layerFC:
		return readFC(d, l)
	case layerPool, layerReLU, layerSigmoid:
		return nil
	}
	return d.Fail("layer type", "unknown type %d", t)
}

func readConv(d *ofmat.Decoder, l *layer) error {
	nIn, err := d.Int32("input map count")
	if err != nil {
		return err
	}
	nOut, err := d.Int32("kernel count")
	if err != nil {
		return err
	}
	if nIn < 1 || nOut < 1 || nIn > 1024 || nOut > 1024 {
		return d.Fail("convolution", "%d→%d maps", nIn, nOut)
	}
	l.nIn, l.nOut = int(nIn), int(nOut)
	bias := make([]float32, l.nOut)
	for k := range bias {
		if bias[k], err = d.Float32("kernel bias"); err != nil {
			return err
		}
	}
	// The kernels are stored input-map-major: kernel[in][k].
	for in := 0; in < l.nIn; in++ {
		for k := 0; k < l.nOut; k++ {
			m, err := d.Mat("kernel")
			if err != nil {
				return err
			}
			kern, err := m.Float32s("kernel")
			if err != nil {
				return err
			}
			if l.weights == nil {
				if m.Rows < 1 || m.Cols < 1 {
					return d.Fail("kernel", "empty kernel")
				}
				l.kh, l.kw = m.Rows, m.Cols
				l.weights = make([]float32, l.nOut*l.taps())
			}
			if m.Rows != l.kh || m.Cols != l.kw {
				return d.Fail("kernel", "%d×%d, the first kernel is %d×%d", m.Rows, m.Cols, l.kh, l.kw)
			}
			row := l.weights[k*l.taps():]
			base := in * l.kh * l.kw
			for xx := 0; xx < l.kw; xx++ {
				for yy := 0; yy < l.kh; yy++ {
					row[base+xx*l.kh+yy] = kern[yy*l.kw+xx]
				}
			}
		}
	}
	for k, b := range bias {
		l.weights[k*l.taps()+l.taps()-1] = b
	}
	return nil
}

// taps is the im2col row length of a convolution: every kernel value of
// every input map, then the constant 1 for the bias.
func (l *layer) taps() int { return l.nIn*l.kh*l.kw + 1 }

func readFC(d *ofmat.Decoder, l *layer) error {
	m, err := d.Mat("fully connected bias")
	if err != nil {
		return err
	}
	if l.bias, err = m.Float32s("fully connected bias"); err != nil {
		return err
	}
	if m.Cols != 1 {
		return d.Fail("fully connected bias", "%d×%d, want a column", m.Rows, m.Cols)
	}
	if m, err = d.Mat("fully connected weights"); err != nil {
		return err
	}
	w, err := m.Float32s("fully connected weights")
	if err != nil {
		return err
	}
	// Stored in×out; CheckCNN multiplies by its transpose.
	l.in, l.out = m.Rows, m.Cols
	if l.out != len(l.bias) || l.in < 1 {
		return d.Fail("fully connected weights", "%d×%d with %d biases", m.Rows, m.Cols, len(l.bias))
	}
	l.weights = make([]float32, l.in*l.out)
	for i := 0; i < l.in; i++ {
		for o := 0; o < l.out; o++ {
			l.weights[o*l.in+i] = w[i*l.out+o]
		}
	}
	return nil
}
