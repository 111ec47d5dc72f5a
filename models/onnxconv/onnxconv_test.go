package onnxconv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"google.golang.org/protobuf/proto"

	"facemirror/internal/sharedtest"
	"facemirror/models/cnn"
	pb "facemirror/models/onnxpb"
)

func loadNet(t testing.TB, file string) *cnn.Net {
	t.Helper()
	n, err := cnn.Load(filepath.Join(sharedtest.Models(t), "model", "mtcnn_detector", file))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func shapeOf(v *pb.ValueInfoProto) []string {
	var s []string
	for _, d := range v.GetType().GetTensorType().GetShape().GetDim() {
		if p := d.GetDimParam(); p != "" {
			s = append(s, p)
		} else {
			s = append(s, strconv.FormatInt(d.GetDimValue(), 10))
		}
	}
	return s
}

func TestConvertRealNets(t *testing.T) {
	cases := []struct {
		file   string
		ops    []string
		output []string // dimension values or parameter names
	}{
		{"PNet.dat", []string{"Conv", "PRelu", "MaxPool", "Conv", "PRelu", "Conv", "PRelu", "Conv"},
			[]string{"N", "6", "H_out", "W_out"}},
		{"RNet.dat", []string{"Conv", "PRelu", "MaxPool", "Conv", "PRelu", "MaxPool", "Conv", "PRelu",
			"Transpose", "Flatten", "Gemm", "PRelu", "Gemm", "Unsqueeze"},
			[]string{"N", "6", "1", "1"}},
		{"ONet.dat", []string{"Conv", "PRelu", "MaxPool", "Conv", "PRelu", "MaxPool", "Conv", "PRelu", "MaxPool", "Conv", "PRelu",
			"Transpose", "Flatten", "Gemm", "PRelu", "Gemm", "Unsqueeze"},
			[]string{"N", "16", "1", "1"}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			net := loadNet(t, tc.file)
			b, err := Convert(net, tc.file[:4])
			if err != nil {
				t.Fatal(err)
			}
			again, err := Convert(net, tc.file[:4])
			if err != nil || !bytes.Equal(b, again) {
				t.Fatalf("second conversion differs (err %v)", err)
			}
			var m pb.ModelProto
			if err := proto.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if m.IrVersion != IRVersion || len(m.OpsetImport) != 1 || m.OpsetImport[0].Version != Opset || m.OpsetImport[0].Domain != "" {
				t.Errorf("IR %d, opsets %v", m.IrVersion, m.OpsetImport)
			}
			g := m.Graph
			var ops []string
			for _, n := range g.Node {
				ops = append(ops, n.OpType)
			}
			if !slices.Equal(ops, tc.ops) {
				t.Errorf("ops %v\nwant %v", ops, tc.ops)
			}
			if len(g.Input) != 1 || g.Input[0].Name != InputName || !slices.Equal(shapeOf(g.Input[0]), []string{"N", "3", "H", "W"}) {
				t.Errorf("input %v %v", g.Input[0].GetName(), shapeOf(g.Input[0]))
			}
			if len(g.Output) != 1 || g.Output[0].Name != OutputName || !slices.Equal(shapeOf(g.Output[0]), tc.output) {
				t.Errorf("output %v %v, want %v", g.Output[0].GetName(), shapeOf(g.Output[0]), tc.output)
			}
			if last := g.Node[len(g.Node)-1]; last.Output[0] != OutputName {
				t.Errorf("last node writes %q", last.Output[0])
			}
			checkInitializers(t, net, g)
		})
	}
}

// checkInitializers compares every initializer with the layer it came from:
// the values must be the network's own, in the layout ONNX expects.
func checkInitializers(t *testing.T, net *cnn.Net, g *pb.GraphProto) {
	t.Helper()
	init := map[string]*pb.TensorProto{}
	for _, in := range g.Initializer {
		init[in.Name] = in
	}
	floats := func(name string, dims ...int64) []float32 {
		in := init[name]
		if in == nil {
			t.Fatalf("no initializer %s", name)
		}
		if !slices.Equal(in.Dims, dims) || in.DataType != int32(pb.TensorProto_FLOAT) {
			t.Fatalf("%s: dims %v type %d, want %v float", name, in.Dims, in.DataType, dims)
		}
		v := make([]float32, len(in.RawData)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(in.RawData[4*i:]))
		}
		return v
	}
	vector := false
	maps := 3
	for i, l := range net.Layers {
		p := fmt.Sprintf("layer%d", i)
		switch l := l.(type) {
		case *cnn.Conv:
			if !slices.Equal(floats(p+".weight", int64(l.Out), int64(l.In), int64(l.KH), int64(l.KW)), l.Kernels) ||
				!slices.Equal(floats(p+".bias", int64(l.Out)), l.Bias) {
				t.Errorf("%s: conv values differ", p)
			}
			maps = l.Out
		case *cnn.PReLU:
			dims := []int64{int64(len(l.Slopes)), 1, 1}
			if vector {
				dims = dims[:1]
			}
			if !slices.Equal(floats(p+".slope", dims...), l.Slopes) {
				t.Errorf("%s: slopes differ", p)
			}
		case *cnn.FC:
			dims := []int64{int64(l.Out), int64(l.In)}
			if l.PerPixel(maps, vector) {
				dims = append(dims, 1, 1)
			} else {
				vector = true
			}
			if !slices.Equal(floats(p+".weight", dims...), l.Weights) || !slices.Equal(floats(p+".bias", int64(l.Out)), l.Bias) {
				t.Errorf("%s: FC values differ", p)
			}
			maps = l.Out
		}
	}
}

// onnxCeilPool is ONNX Runtime's MaxPool output size with ceil_mode=1 and no
// padding: ceil((in-k)/s)+1, minus one if the last window would start
// outside the input.
func onnxCeilPool(in, k, s int) int {
	out := (in-k+s-1)/s + 1
	if (out-1)*s >= in {
		out--
	}
	return out
}

// TestPoolSizesMatchCeilMode checks, for the pools the MTCNN networks use
// and every input size a 4K frame's pyramid can produce, that OpenFace's
// rounding rule and ONNX's ceil mode agree.
func TestPoolSizesMatchCeilMode(t *testing.T) {
	for _, p := range []struct{ k, s int }{{2, 2}, {3, 2}, {2, 1}, {3, 1}} {
		for in := p.k; in <= 4000; in++ {
			if got, want := cnn.PoolOutSize(in, p.k, p.s), onnxCeilPool(in, p.k, p.s); got != want {
				t.Fatalf("k=%d s=%d in=%d: OpenFace %d, ONNX ceil mode %d", p.k, p.s, in, got, want)
			}
		}
	}
}

func TestConvertRefusesInexactPools(t *testing.T) {
	conv := &cnn.Conv{In: 1, Out: 1, KH: 1, KW: 1, Kernels: []float32{1}, Bias: []float32{0}}
	for _, pool := range []*cnn.MaxPool{
		{KX: 3, KY: 3, SX: 3, SY: 3}, // round((in-3)/3) differs from ceil for in-3 = 1 mod 3
		{KX: 1, KY: 1, SX: 2, SY: 2}, // windows smaller than the stride
	} {
		_, err := Convert(&cnn.Net{Layers: []cnn.Layer{conv, pool}}, "x")
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: error %v, want ErrUnsupported", pool, err)
		}
	}
	if _, err := Convert(&cnn.Net{}, "empty"); err == nil {
		t.Error("empty network accepted")
	}
}
