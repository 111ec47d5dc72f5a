package cnn

import (
	"encoding/binary"
	"errors"
	"facemirror/models/ofmat"
	"fmt"
	"io"
	"math"
)

// Bounds that no real MTCNN file comes near (the largest, ONet.dat, is
// 1.7 MB with 14 layers and at most 256 maps). They stop a corrupt header
// from asking for absurd work or memory.
const (
	maxFileSize = 64 << 20
	maxLayers   = 256
	maxMaps     = 1 << 14
	maxKernel   = 64
)

// Layer type codes of the .dat format.
const (
	typeConv  = 0
	typePool  = 1
	typeFC    = 2
	typePReLU = 3
)

// cvFloat32 is OpenCV's type code CV_32FC1, the only matrix type the MTCNN
// files use (and the only one OpenFace's reader handles correctly here).
const cvFloat32 = 5

// ErrFormat is wrapped by every error about the content of a CNN file
// (truncated, unknown layer type, inconsistent or absurd sizes), as opposed
// to errors reading it.
var ErrFormat = errors.New("invalid OpenFace CNN file")

// Load reads an OpenFace CNN file such as model/mtcnn_detector/PNet.dat.
// Errors name the file and what is wrong with it.
func Load(path string) (*Net, error) {
	return ofmat.LoadFile(path, "CNN", Read)
}

// Read parses an OpenFace CNN file: an int32 layer count, then per layer an
// int32 type code and its payload (all little-endian):
//
//	0 conv:  int32 in, int32 out, out float32 biases, then in×out kernel
//	         matrices (input map outer)
//	1 pool:  int32 kx, ky, sx, sy
//	2 FC:    bias matrix (out×1), weight matrix (in×out)
//	3 PReLU: slope matrix (maps×1)
//
// A matrix is int32 rows, cols, OpenCV type, then rows×cols values
// row-major. The whole stream must be consumed exactly.
func Read(r io.Reader) (*Net, error) {
	data, err := ofmat.ReadLimited(r, maxFileSize)
	if err != nil {
		return nil, fmt.Errorf("read CNN: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrFormat, maxFileSize)
	}
	p := &parser{data: data}
	depth, err := p.int32("layer count")
	if err != nil {
		return nil, err
	}
	if depth < 1 || depth > maxLayers {
		return nil, p.fail("layer count %d is not in 1..%d", depth, maxLayers)
	}
	net := &Net{Layers: make([]Layer, 0, depth)}
	for i := 0; i < depth; i++ {
		p.layer = i
		l, err := p.readLayer()
		if err != nil {
			return nil, err
		}
		net.Layers = append(net.Layers, l)
	}
	if rest := len(data) - p.off; rest != 0 {
		return nil, fmt.Errorf("%w: %d unexpected bytes after the last layer", ErrFormat, rest)
	}
	if err := net.Check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return net, nil
}

type parser struct {
	data  []byte
	off   int
	layer int
}

func (p *parser) fail(format string, args ...any) error {
	return fmt.Errorf("%w: layer %d at byte %d: %s", ErrFormat, p.layer, p.off, fmt.Sprintf(format, args...))
}

func (p *parser) need(n int, what string) error {
	if n < 0 || len(p.data)-p.off < n {
		return p.fail("truncated reading %s: need %d bytes, %d left", what, n, len(p.data)-p.off)
	}
	return nil
}

func (p *parser) int32(what string) (int, error) {
	if err := p.need(4, what); err != nil {
		return 0, err
	}
	v := int32(binary.LittleEndian.Uint32(p.data[p.off:]))
	p.off += 4
	return int(v), nil
}

func (p *parser) floats(dst []float32, what string) error {
	if err := p.need(4*len(dst), what); err != nil {
		return err
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(p.data[p.off:]))
		p.off += 4
	}
	return nil
}

// matHeader reads a matrix header and checks that the values fit in the
// remaining bytes before anything is allocated for them.
func (p *parser) matHeader(what string) (rows, cols int, err error) {
	if rows, err = p.int32(what + " rows"); err != nil {
		return 0, 0, err
	}
	if cols, err = p.int32(what + " cols"); err != nil {
		return 0, 0, err
	}
	typ, err := p.int32(what + " type")
	if err != nil {
		return 0, 0, err
	}
	if typ != cvFloat32 {
		return 0, 0, p.fail("%s has matrix type %d, want %d (float32)", what, typ, cvFloat32)
	}
	if rows < 0 || cols < 0 {
		return 0, 0, p.fail("%s has negative size %dx%d", what, rows, cols)
	}
	if int64(rows)*int64(cols)*4 > int64(len(p.data)-p.off) {
		return 0, 0, p.fail("truncated or corrupt: %s claims %dx%d values, only %d bytes left", what, rows, cols, len(p.data)-p.off)
	}
	return rows, cols, nil
}

func (p *parser) readLayer() (Layer, error) {
	typ, err := p.int32("layer type")
	if err != nil {
		return nil, err
	}
	switch typ {
	case typeConv:
		return p.readConv()
	case typePool:
		return p.readPool()
	case typeFC:
		return p.readFC()
	case typePReLU:
		return p.readPReLU()
	}
	return nil, p.fail("unknown layer type %d", typ)
}

func (p *parser) readConv() (Layer, error) {
	in, err := p.int32("conv input maps")
	if err != nil {
		return nil, err
	}
	out, err := p.int32("conv kernel count")
	if err != nil {
		return nil, err
	}
	if in < 1 || in > maxMaps || out < 1 || out > maxMaps {
		return nil, p.fail("conv %d->%d maps is outside 1..%d", in, out, maxMaps)
	}
	c := &Conv{In: in, Out: out, Bias: make([]float32, out)}
	if err := p.floats(c.Bias, "conv biases"); err != nil {
		return nil, err
	}
	// The file stores kernels input-major; OpenFace regroups them per
	// output map, which is the layout Conv.Kernels uses.
	for i := 0; i < in; i++ {
		for o := 0; o < out; o++ {
			what := fmt.Sprintf("conv kernel %d of input map %d", o, i)
			kh, kw, err := p.matHeader(what)
			if err != nil {
				return nil, err
			}
			if c.Kernels == nil {
				if kh < 1 || kh > maxKernel || kw < 1 || kw > maxKernel {
					return nil, p.fail("conv kernel is %dx%d, outside 1..%d", kh, kw, maxKernel)
				}
				// Every kernel costs its header plus its values; refuse a
				// count the file cannot hold before allocating for it.
				if err := p.need((in*out-1)*(12+4*kh*kw)+4*kh*kw, "conv kernels"); err != nil {
					return nil, err
				}
				c.KH, c.KW = kh, kw
				c.Kernels = make([]float32, out*in*kh*kw)
			} else if kh != c.KH || kw != c.KW {
				return nil, p.fail("%s is %dx%d, want %dx%d like the first", what, kh, kw, c.KH, c.KW)
			}
			base := (o*in + i) * kh * kw
			if err := p.floats(c.Kernels[base:base+kh*kw], what); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

func (p *parser) readPool() (Layer, error) {
	var v [4]int
	for i, what := range []string{"pool kernel x", "pool kernel y", "pool stride x", "pool stride y"} {
		var err error
		if v[i], err = p.int32(what); err != nil {
			return nil, err
		}
		if v[i] < 1 || v[i] > maxKernel {
			return nil, p.fail("%s is %d, outside 1..%d", what, v[i], maxKernel)
		}
	}
	return &MaxPool{KX: v[0], KY: v[1], SX: v[2], SY: v[3]}, nil
}

func (p *parser) readFC() (Layer, error) {
	brows, bcols, err := p.matHeader("FC bias")
	if err != nil {
		return nil, err
	}
	if bcols != 1 || brows < 1 {
		return nil, p.fail("FC bias is %dx%d, want a column", brows, bcols)
	}
	bias := make([]float32, brows)
	if err := p.floats(bias, "FC bias"); err != nil {
		return nil, err
	}
	in, out, err := p.matHeader("FC weights")
	if err != nil {
		return nil, err
	}
	if out != brows || in < 1 {
		return nil, p.fail("FC weights are %dx%d, want inputs x %d outputs", in, out, brows)
	}
	stored := make([]float32, in*out)
	if err := p.floats(stored, "FC weights"); err != nil {
		return nil, err
	}
	f := &FC{In: in, Out: out, Bias: bias, Weights: make([]float32, in*out)}
	for i := 0; i < in; i++ {
		for o := 0; o < out; o++ {
			f.Weights[o*in+i] = stored[i*out+o]
		}
	}
	return f, nil
}

func (p *parser) readPReLU() (Layer, error) {
	rows, cols, err := p.matHeader("PReLU slopes")
	if err != nil {
		return nil, err
	}
	if cols != 1 || rows < 1 {
		return nil, p.fail("PReLU slopes are %dx%d, want a column", rows, cols)
	}
	s := make([]float32, rows)
	if err := p.floats(s, "PReLU slopes"); err != nil {
		return nil, err
	}
	return &PReLU{Slopes: s}, nil
}
