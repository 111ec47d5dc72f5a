package onnxrt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/proto"

	"facemirror/models/cnn"
	"facemirror/models/onnxpb"
)

// ErrClosed is returned by Run on a closed Session.
var ErrClosed = errors.New("onnxrt: session is closed")

// Session is one loaded model with a single float input and a single float
// output, both of rank 4 (NCHW), such as the models onnxconv writes. It
// implements cnn.Runner; input sizes may vary between calls as far as the
// model allows (dynamic shapes), and every call allocates its own output.
//
// A Session computes one batch at a time: concurrent calls to Run wait for
// each other, so use one Session per goroutine for parallel work. Close
// releases it.
type Session struct {
	name       string
	ep         string
	input      string
	output     string
	inChannels int64 // -1 when the model leaves it dynamic

	mu sync.Mutex
	s  *ort.DynamicAdvancedSession // nil once closed
}

var _ cnn.Runner = (*Session)(nil)

// NewSession loads a serialized ONNX model; name labels errors and logs
// (e.g. "PNet").
func (r *Runtime) NewSession(model []byte, name string) (*Session, error) {
	s, err := newSession(model, name)
	if err != nil {
		return nil, err
	}
	err = r.create(s, func(o *ort.SessionOptions) (*ort.DynamicAdvancedSession, error) {
		return ort.NewDynamicAdvancedSessionWithONNXData(model, []string{s.input}, []string{s.output}, o)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// NewSessionFromFile loads an ONNX model file; the file name labels errors.
func (r *Runtime) NewSessionFromFile(path string) (*Session, error) {
	model, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnxrt: %w", err)
	}
	return r.NewSession(model, path)
}

// newSession reads the model's interface from its protobuf (cheaper than
// asking ONNX Runtime, which would build a second session) and checks it:
// one float input and one float output, both NCHW.
func newSession(model []byte, name string) (*Session, error) {
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(model, &m); err != nil {
		return nil, fmt.Errorf("onnxrt: model %s: %w", name, err)
	}
	g := m.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("onnxrt: model %s has no graph", name)
	}
	initialized := map[string]bool{}
	for _, t := range g.GetInitializer() {
		initialized[t.GetName()] = true
	}
	var ins []*onnxpb.ValueInfoProto
	for _, v := range g.GetInput() {
		if !initialized[v.GetName()] {
			ins = append(ins, v)
		}
	}
	outs := g.GetOutput()
	if len(ins) != 1 || len(outs) != 1 {
		return nil, fmt.Errorf("onnxrt: model %s has %d inputs and %d outputs, want 1 and 1", name, len(ins), len(outs))
	}
	for _, v := range []*onnxpb.ValueInfoProto{ins[0], outs[0]} {
		t := v.GetType().GetTensorType()
		if t == nil || t.GetElemType() != int32(onnxpb.TensorProto_FLOAT) || len(t.GetShape().GetDim()) != 4 {
			return nil, fmt.Errorf("onnxrt: model %s: %s is not a rank-4 float tensor", name, v.GetName())
		}
	}
	channels := int64(-1)
	if d := ins[0].GetType().GetTensorType().GetShape().GetDim()[1]; d.GetDimParam() == "" && d.GetDimValue() > 0 {
		channels = d.GetDimValue()
	}
	return &Session{name: name, input: ins[0].GetName(), output: outs[0].GetName(), inChannels: channels}, nil
}

// create makes the ONNX Runtime session with the runtime's provider. With
// EPAuto a provider that fails here (for instance CUDA without a usable
// GPU) is dropped for the CPU, with a log line.
func (r *Runtime) create(s *Session, open func(*ort.SessionOptions) (*ort.DynamicAdvancedSession, error)) error {
	try := func(ep string) error {
		o, err := ort.NewSessionOptions()
		if err != nil {
			return err
		}
		defer o.Destroy()
		if err := o.SetIntraOpNumThreads(r.threads); err != nil {
			return err
		}
		if err := o.SetInterOpNumThreads(1); err != nil {
			return err
		}
		if err := appendProvider(o, ep); err != nil {
			return err
		}
		sess, err := open(o)
		if err != nil {
			return err
		}
		s.s, s.ep = sess, ep
		return nil
	}
	err := try(r.ep)
	if err != nil && r.auto && r.ep != EPCPU {
		r.log.Info("onnxrt: falling back to the CPU execution provider", "model", s.name, "provider", r.ep, "reason", err)
		err = try(EPCPU)
	}
	if err != nil {
		return fmt.Errorf("onnxrt: model %s (%s provider): %w", s.name, r.ep, err)
	}
	return nil
}

// Name returns the label given when the session was created.
func (s *Session) Name() string { return s.name }

// EP returns the execution provider the session runs on.
func (s *Session) EP() string { return s.ep }

// Run computes the model on a batch (N >= 1). The input is not modified.
// Cancelling ctx stops a running computation.
func (s *Session) Run(ctx context.Context, in cnn.Tensor) (cnn.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return cnn.Tensor{}, err
	}
	if err := in.Check(); err != nil {
		return cnn.Tensor{}, fmt.Errorf("onnxrt %s: %w", s.name, err)
	}
	if in.N < 1 || in.H < 1 || in.W < 1 || (s.inChannels > 0 && int64(in.C) != s.inChannels) {
		return cnn.Tensor{}, fmt.Errorf("onnxrt %s: %w: input %dx%dx%dx%d, model wants %d channels", s.name, cnn.ErrShape, in.N, in.C, in.H, in.W, s.inChannels)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.s == nil {
		return cnn.Tensor{}, ErrClosed
	}
	x, err := ort.NewTensor(ort.NewShape(int64(in.N), int64(in.C), int64(in.H), int64(in.W)), in.Data)
	if err != nil {
		return cnn.Tensor{}, fmt.Errorf("onnxrt %s: input: %w", s.name, err)
	}
	defer x.Destroy()
	opts, err := ort.NewRunOptions()
	if err != nil {
		return cnn.Tensor{}, fmt.Errorf("onnxrt %s: %w", s.name, err)
	}
	defer opts.Destroy()
	// Terminate must not race with opts.Destroy: if the cancellation has
	// started, wait for it.
	terminated := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		opts.Terminate()
		close(terminated)
	})
	defer func() {
		if !stop() {
			<-terminated
		}
	}()

	outs := []ort.Value{nil}
	err = s.s.RunWithOptions([]ort.Value{x}, outs, opts)
	if cerr := ctx.Err(); cerr != nil {
		if outs[0] != nil {
			outs[0].Destroy()
		}
		return cnn.Tensor{}, cerr
	}
	if err != nil {
		return cnn.Tensor{}, fmt.Errorf("onnxrt %s: %w", s.name, err)
	}
	defer outs[0].Destroy()
	y, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return cnn.Tensor{}, fmt.Errorf("onnxrt %s: output is %T, want float32", s.name, outs[0])
	}
	shape := y.GetShape()
	if len(shape) != 4 || shape[0] != int64(in.N) {
		return cnn.Tensor{}, fmt.Errorf("onnxrt %s: output shape %v for a batch of %d", s.name, shape, in.N)
	}
	// The data is a Go copy made by onnxruntime_go; it stays valid after
	// the ONNX value is released.
	out := cnn.Tensor{N: int(shape[0]), C: int(shape[1]), H: int(shape[2]), W: int(shape[3]), Data: y.GetData()}
	if err := out.Check(); err != nil {
		return cnn.Tensor{}, fmt.Errorf("onnxrt %s: output: %w", s.name, err)
	}
	return out, nil
}

// Close releases the session. It is safe to call more than once.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.s == nil {
		return nil
	}
	err := s.s.Destroy()
	s.s = nil
	if err != nil {
		return fmt.Errorf("onnxrt %s: close: %w", s.name, err)
	}
	return nil
}
