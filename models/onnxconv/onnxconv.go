// Package onnxconv turns an OpenFace CNN (cnn.Net, e.g. MTCNN's PNet, RNet
// and ONet) into an equivalent ONNX model, so ONNX Runtime can run the
// detector's networks.
//
// The model has one float input named "input", shaped [N, C, H, W], and one
// float output named "output", shaped exactly like the result of the
// plain-Go forward pass (cnn.Net.Run): [N, 6, H', W'] for PNet,
// [N, 6, 1, 1] for RNet and [N, 16, 1, 1] for ONet. N, H and W are symbolic
// (dynamic) dimensions for every network; for networks with a flattening
// fully connected layer only the sizes the Go pass accepts work (MTCNN uses
// 24×24 for RNet and 48×48 for ONet), and ONNX Runtime rejects others.
//
// The layers map to ONNX operators as follows (opset 13):
//   - convolution: Conv, weights and biases as initializers;
//   - PReLU: PRelu with slopes shaped [C,1,1] (maps) or [C] (vectors);
//   - max-pool: MaxPool with ceil_mode=1, which gives OpenFace's output size
//     round((in-k)/s)+1 and its border-clipped windows when k >= s and
//     s <= 2 (other pools are refused with ErrUnsupported);
//   - FC applied per pixel (PNet): a 1×1 Conv;
//   - FC on the whole input (RNet, ONet): Transpose(0,1,3,2) and Flatten,
//     which reproduce OpenFace's column-by-column flattening, then Gemm; an
//     FC on a vector is a plain Gemm. A final Unsqueeze makes a vector
//     output [N, C, 1, 1].
//
// The bytes depend only on the network and the name, so converting the same
// files twice gives identical models.
package onnxconv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"facemirror/models/cnn"
	pb "facemirror/models/onnxpb"
)

// Names and versions of the generated models.
const (
	InputName  = "input"
	OutputName = "output"
	// Opset is the ONNX operator set the models use.
	Opset = 13
	// IRVersion is the ONNX IR version written (the one onnx.proto3
	// describes); ONNX Runtime 1.24 reads it.
	IRVersion = 8
	// Producer identifies models written by this package. It is fixed,
	// not the application version, so the bytes stay reproducible.
	Producer = "facemirror-onnxconv"
)

// ErrUnsupported reports a layer that has no exact ONNX equivalent.
var ErrUnsupported = errors.New("layer cannot be expressed exactly in ONNX")

// Convert returns the serialized ONNX model for net. name becomes the graph
// name (e.g. "PNet").
func Convert(net *cnn.Net, name string) ([]byte, error) {
	if net == nil {
		return nil, errors.New("onnxconv: nil network")
	}
	if err := net.Check(); err != nil {
		return nil, fmt.Errorf("onnxconv %s: %w", name, err)
	}
	g := &graph{g: &pb.GraphProto{Name: name, DocString: net.String()}}
	if err := g.build(net); err != nil {
		return nil, fmt.Errorf("onnxconv %s: %w", name, err)
	}
	model := &pb.ModelProto{
		IrVersion:       IRVersion,
		OpsetImport:     []*pb.OperatorSetIdProto{{Domain: "", Version: Opset}},
		ProducerName:    Producer,
		ProducerVersion: "1",
		DocString:       "OpenFace CNN " + name + ": " + net.String(),
		Graph:           g.g,
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(model)
	if err != nil {
		return nil, fmt.Errorf("onnxconv %s: encode: %w", name, err)
	}
	return b, nil
}

type graph struct {
	g    *pb.GraphProto
	next int // counter for value names
}

func (g *graph) build(net *cnn.Net) error {
	maps := net.InChannels()
	g.g.Input = []*pb.ValueInfoProto{tensorInfo(InputName, dimParam("N"), dimValue(maps), dimParam("H"), dimParam("W"))}
	x := InputName
	vector := false
	for i, l := range net.Layers {
		p := fmt.Sprintf("layer%d", i)
		switch l := l.(type) {
		case *cnn.Conv:
			x = g.conv(p, x, l.Out, l.In, l.KH, l.KW, l.Kernels, l.Bias)
			maps = l.Out
		case *cnn.PReLU:
			shape := []int64{int64(len(l.Slopes)), 1, 1}
			if vector {
				shape = shape[:1]
			}
			slope := g.floats(p+".slope", shape, l.Slopes)
			x = g.node("PRelu", p, []string{x, slope})
		case *cnn.MaxPool:
			if l.KX < l.SX || l.KY < l.SY || l.SX > 2 || l.SY > 2 {
				return fmt.Errorf("layer %d (%s): %w: ceil_mode matches OpenFace's rounding only for stride <= 2 and window >= stride", i, l, ErrUnsupported)
			}
			x = g.node("MaxPool", p, []string{x},
				intsAttr("kernel_shape", l.KY, l.KX),
				intsAttr("strides", l.SY, l.SX),
				intsAttr("pads", 0, 0, 0, 0),
				intAttr("ceil_mode", 1))
		case *cnn.FC:
			if l.PerPixel(maps, vector) {
				x = g.conv(p, x, l.Out, l.In, 1, 1, l.Weights, l.Bias)
			} else {
				if !vector {
					t := g.node("Transpose", p+".colmajor", []string{x}, intsAttr("perm", 0, 1, 3, 2))
					x = g.node("Flatten", p+".flatten", []string{t}, intAttr("axis", 1))
				}
				w := g.floats(p+".weight", []int64{int64(l.Out), int64(l.In)}, l.Weights)
				b := g.floats(p+".bias", []int64{int64(l.Out)}, l.Bias)
				x = g.node("Gemm", p, []string{x, w, b}, intAttr("transB", 1))
				vector = true
			}
			maps = l.Out
		default:
			return fmt.Errorf("layer %d: %w: %T", i, ErrUnsupported, l)
		}
	}
	outH, outW := dimParam("H_out"), dimParam("W_out")
	if vector {
		axes := g.int64s("output.axes", []int64{2}, []int64{2, 3})
		x = g.node("Unsqueeze", "output.unsqueeze", []string{x, axes})
		outH, outW = dimValue(1), dimValue(1)
	}
	// The last node writes the graph output directly.
	last := g.g.Node[len(g.g.Node)-1]
	last.Output[0] = OutputName
	g.g.Output = []*pb.ValueInfoProto{tensorInfo(OutputName, dimParam("N"), dimValue(maps), outH, outW)}
	return nil
}

// conv adds a stride-1, unpadded Conv with weights [out, in, kh, kw].
func (g *graph) conv(p, x string, out, in, kh, kw int, weights, bias []float32) string {
	w := g.floats(p+".weight", []int64{int64(out), int64(in), int64(kh), int64(kw)}, weights)
	b := g.floats(p+".bias", []int64{int64(out)}, bias)
	return g.node("Conv", p, []string{x, w, b},
		intsAttr("kernel_shape", kh, kw),
		intsAttr("strides", 1, 1),
		intsAttr("pads", 0, 0, 0, 0),
		intsAttr("dilations", 1, 1),
		intAttr("group", 1))
}

// node appends a node named name and returns its (single) output value.
func (g *graph) node(op, name string, inputs []string, attrs ...*pb.AttributeProto) string {
	g.next++
	out := fmt.Sprintf("t%d", g.next)
	g.g.Node = append(g.g.Node, &pb.NodeProto{
		Name:      name,
		OpType:    op,
		Input:     inputs,
		Output:    []string{out},
		Attribute: attrs,
	})
	return out
}

func (g *graph) floats(name string, dims []int64, v []float32) string {
	raw := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	g.g.Initializer = append(g.g.Initializer, &pb.TensorProto{
		Name:     name,
		Dims:     dims,
		DataType: int32(pb.TensorProto_FLOAT),
		RawData:  raw,
	})
	return name
}

func (g *graph) int64s(name string, dims []int64, v []int64) string {
	raw := make([]byte, 8*len(v))
	for i, n := range v {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(n))
	}
	g.g.Initializer = append(g.g.Initializer, &pb.TensorProto{
		Name:     name,
		Dims:     dims,
		DataType: int32(pb.TensorProto_INT64),
		RawData:  raw,
	})
	return name
}

func intAttr(name string, v int) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_INT, I: int64(v)}
}

func intsAttr(name string, v ...int) *pb.AttributeProto {
	ints := make([]int64, len(v))
	for i, n := range v {
		ints[i] = int64(n)
	}
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_INTS, Ints: ints}
}

type dim = *pb.TensorShapeProto_Dimension

func dimParam(name string) dim {
	return &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: name}}
}

func dimValue(v int) dim {
	return &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(v)}}
}

func tensorInfo(name string, dims ...dim) *pb.ValueInfoProto {
	return &pb.ValueInfoProto{
		Name: name,
		Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{
			ElemType: int32(pb.TensorProto_FLOAT),
			Shape:    &pb.TensorShapeProto{Dim: dims},
		}}},
	}
}
