package onnxrt

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"facemirror/internal/sharedtest"
	"facemirror/models/cnn"
	"facemirror/models/onnxconv"
	"facemirror/models/onnxpb"
)

// testLibrary is $FACEMIRROR_ORT_LIB, or the checkout's .ort folder.
func testLibrary(t testing.TB) string {
	t.Helper()
	lib := os.Getenv(LibraryEnv)
	if lib == "" {
		lib = filepath.Join(sharedtest.Root(), ".ort", LibraryName())
	}
	if _, err := os.Stat(lib); err != nil {
		t.Fatalf("ONNX Runtime library missing (%v): %s", err, howToGet())
	}
	return lib
}

func openRuntime(t testing.TB, ep string) *Runtime {
	t.Helper()
	var log *slog.Logger
	if tt, ok := t.(*testing.T); ok {
		log = slog.New(slog.NewTextHandler(tt.Output(), nil))
	}
	r, err := Open(Options{Library: testLibrary(t), EP: ep, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func loadNet(t testing.TB, file string) *cnn.Net {
	t.Helper()
	n, err := cnn.Load(filepath.Join(sharedtest.Models(t), "model", "mtcnn_detector", file))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// session converts a real network and opens it.
func session(t testing.TB, r *Runtime, net *cnn.Net, name string) *Session {
	t.Helper()
	model, err := onnxconv.Convert(net, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.NewSession(model, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRuntime(t *testing.T) {
	r := openRuntime(t, EPAuto)
	if r.Version() != ORTVersion {
		t.Errorf("Version = %q, want %s", r.Version(), ORTVersion)
	}
	if r.Library() != testLibrary(t) {
		t.Errorf("Library = %q", r.Library())
	}
	// The project's library is the official CPU build: no CUDA provider,
	// and CoreML only exists on macOS.
	if p := r.Providers(); !slices.Equal(p, []string{EPCPU}) {
		t.Errorf("Providers = %v, want [cpu]", p)
	}
	if r.EP() != EPCPU || r.Threads() != 1 {
		t.Errorf("auto chose %s with %d threads, want cpu with 1", r.EP(), r.Threads())
	}

	for _, ep := range []string{EPCUDA, EPCoreML} {
		if _, err := Open(Options{Library: testLibrary(t), EP: ep}); !errors.Is(err, ErrProviderUnavailable) {
			t.Errorf("EP %s: error %v, want ErrProviderUnavailable", ep, err)
		}
	}
	if _, err := Open(Options{Library: testLibrary(t), EP: "webgpu"}); err == nil || !strings.Contains(err.Error(), "unknown execution provider") {
		t.Errorf("EP webgpu: error %v", err)
	}
	if _, err := Open(Options{Library: "/elsewhere/" + LibraryName()}); err == nil || !strings.Contains(err.Error(), "already loaded") {
		t.Errorf("second library: error %v", err)
	}
	if again, err := Open(Options{EP: EPCPU, Threads: 2}); err != nil || again.Library() != r.Library() || again.Threads() != 2 {
		t.Errorf("reopen with the loaded library: %v", err)
	}
}

func TestSessionErrors(t *testing.T) {
	r := openRuntime(t, EPCPU)
	if _, err := r.NewSession([]byte("not a model"), "junk"); err == nil || !strings.Contains(err.Error(), "junk") {
		t.Errorf("junk model: error %v", err)
	}
	if _, err := r.NewSessionFromFile(filepath.Join(t.TempDir(), "missing.onnx")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error %v", err)
	}

	s := session(t, r, loadNet(t, "RNet.dat"), "RNet")
	if s.Name() != "RNet" || s.EP() != EPCPU {
		t.Errorf("Name %q EP %q", s.Name(), s.EP())
	}
	ctx := context.Background()
	for _, in := range []cnn.Tensor{cnn.NewTensor(1, 4, 24, 24), cnn.NewTensor(0, 3, 24, 24)} {
		if _, err := s.Run(ctx, in); !errors.Is(err, cnn.ErrShape) {
			t.Errorf("input %dx%dx%dx%d: error %v, want ErrShape", in.N, in.C, in.H, in.W, err)
		}
	}
	// A size the flattening FC cannot take fails inside ONNX Runtime.
	if _, err := s.Run(ctx, cnn.NewTensor(1, 3, 30, 30)); err == nil || !strings.Contains(err.Error(), "RNet") {
		t.Errorf("30x30 input: error %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Run(cancelled, cnn.NewTensor(1, 3, 24, 24)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error %v", err)
	}
	if out, err := s.Run(ctx, cnn.NewTensor(2, 3, 24, 24)); err != nil || out.N != 2 || out.C != 6 || out.H != 1 || out.W != 1 {
		t.Errorf("run: %v, shape %dx%dx%dx%d", err, out.N, out.C, out.H, out.W)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Run(ctx, cnn.NewTensor(1, 3, 24, 24)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: error %v", err)
	}
}

func TestModelInterface(t *testing.T) {
	tensor := func(name string, elem onnxpb.TensorProto_DataType, dims ...int64) *onnxpb.ValueInfoProto {
		var shape onnxpb.TensorShapeProto
		for _, d := range dims {
			dim := &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}}
			if d < 0 {
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}
			}
			shape.Dim = append(shape.Dim, dim)
		}
		return &onnxpb.ValueInfoProto{Name: name, Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: int32(elem), Shape: &shape}}}}
	}
	f32 := onnxpb.TensorProto_FLOAT
	cases := []struct {
		name     string
		graph    *onnxpb.GraphProto
		want     string // error text, or "" for success
		channels int64
	}{
		{"ok", &onnxpb.GraphProto{Input: []*onnxpb.ValueInfoProto{tensor("x", f32, -1, 3, -1, -1)}, Output: []*onnxpb.ValueInfoProto{tensor("y", f32, -1, 6, 1, 1)}}, "", 3},
		{"initializer listed as input", &onnxpb.GraphProto{
			Input:       []*onnxpb.ValueInfoProto{tensor("x", f32, -1, -1, 5, 5), tensor("w", f32, 6)},
			Initializer: []*onnxpb.TensorProto{{Name: "w"}},
			Output:      []*onnxpb.ValueInfoProto{tensor("y", f32, -1, 6, 1, 1)}}, "", -1},
		{"two outputs", &onnxpb.GraphProto{Input: []*onnxpb.ValueInfoProto{tensor("x", f32, 1, 3, 4, 4)}, Output: []*onnxpb.ValueInfoProto{tensor("y", f32, 1, 1, 1, 1), tensor("z", f32, 1, 1, 1, 1)}}, "1 inputs and 2 outputs", 0},
		{"rank 2 output", &onnxpb.GraphProto{Input: []*onnxpb.ValueInfoProto{tensor("x", f32, 1, 3, 4, 4)}, Output: []*onnxpb.ValueInfoProto{tensor("y", f32, 1, 6)}}, "y is not a rank-4 float tensor", 0},
		{"int input", &onnxpb.GraphProto{Input: []*onnxpb.ValueInfoProto{tensor("x", onnxpb.TensorProto_INT64, 1, 3, 4, 4)}, Output: []*onnxpb.ValueInfoProto{tensor("y", f32, 1, 6, 1, 1)}}, "x is not a rank-4 float tensor", 0},
		{"no graph", nil, "has no graph", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := proto.Marshal(&onnxpb.ModelProto{Graph: tc.graph})
			if err != nil {
				t.Fatal(err)
			}
			s, err := newSession(b, "m")
			if tc.want == "" {
				if err != nil || s.inChannels != tc.channels {
					t.Fatalf("error %v, channels %v; want %d", err, s, tc.channels)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
