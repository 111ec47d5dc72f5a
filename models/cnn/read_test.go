package cnn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"facemirror/internal/sharedtest"
)

func mtcnnFile(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(sharedtest.Models(t), "model", "mtcnn_detector", name)
}

// The architectures as docs/CLNF_FACTS.md §1.6 lists them.
var realNets = []struct {
	file      string
	arch      string
	h, w      int // an input size
	c, oh, ow int // and the output it gives
}{
	{"PNet.dat", "conv3x3 3->10, PReLU, pool k2 s2, conv3x3 10->16, PReLU, conv3x3 16->32, PReLU, FC 32->6", 72, 96, 6, 31, 43},
	{"RNet.dat", "conv3x3 3->28, PReLU, pool k3 s2, conv3x3 28->48, PReLU, pool k3 s2, conv2x2 48->64, PReLU, FC 576->128, PReLU, FC 128->6", 24, 24, 6, 1, 1},
	{"ONet.dat", "conv3x3 3->32, PReLU, pool k3 s2, conv3x3 32->64, PReLU, pool k3 s2, conv3x3 64->64, PReLU, pool k2 s2, conv2x2 64->128, PReLU, FC 1152->256, PReLU, FC 256->16", 48, 48, 16, 1, 1},
}

func TestLoadRealNets(t *testing.T) {
	for _, tc := range realNets {
		t.Run(tc.file, func(t *testing.T) {
			net, err := Load(mtcnnFile(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := net.String(); got != tc.arch {
				t.Errorf("architecture\n got %s\nwant %s", got, tc.arch)
			}
			if net.InChannels() != 3 {
				t.Errorf("InChannels = %d, want 3", net.InChannels())
			}
			c, oh, ow, err := net.OutShape(tc.h, tc.w)
			if err != nil || c != tc.c || oh != tc.oh || ow != tc.ow {
				t.Errorf("OutShape(%d,%d) = %d,%d,%d,%v; want %d,%d,%d", tc.h, tc.w, c, oh, ow, err, tc.c, tc.oh, tc.ow)
			}
		})
	}
}

func TestPNetSmallestInput(t *testing.T) {
	net, err := Load(mtcnnFile(t, "PNet.dat"))
	if err != nil {
		t.Fatal(err)
	}
	if c, oh, ow, err := net.OutShape(12, 12); err != nil || c != 6 || oh != 1 || ow != 1 {
		t.Errorf("OutShape(12,12) = %d,%d,%d,%v; want 6,1,1", c, oh, ow, err)
	}
	if _, _, _, err := net.OutShape(10, 12); !errors.Is(err, ErrShape) {
		t.Errorf("OutShape(10,12) error = %v, want ErrShape", err)
	}
}

// TestLayoutAgainstRawBytes checks the two rearrangements Read makes, using
// values read straight from PNet.dat: conv kernels regrouped from
// input-major to output-major, and FC weights transposed.
func TestLayoutAgainstRawBytes(t *testing.T) {
	path := mtcnnFile(t, "PNet.dat")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	net, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	f32 := func(off int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(raw[off:])) }

	c := net.Layers[0].(*Conv)
	const head = 16 // depth, type, n_in, n_k
	for k := 0; k < 10; k++ {
		if c.Bias[k] != f32(head+4*k) {
			t.Fatalf("conv bias %d = %v, file has %v", k, c.Bias[k], f32(head+4*k))
		}
	}
	for _, idx := range [][4]int{{0, 0, 0, 0}, {1, 2, 0, 1}, {9, 2, 2, 2}, {7, 1, 1, 0}} {
		o, i, y, x := idx[0], idx[1], idx[2], idx[3]
		mat := head + 40 + (i*10+o)*(12+36) // file order: input map outer
		want := f32(mat + 12 + 4*(y*3+x))
		if got := c.Kernels[((o*3+i)*3+y)*3+x]; got != want {
			t.Errorf("kernel o=%d i=%d (%d,%d) = %v, file has %v", o, i, y, x, got, want)
		}
	}

	fc := net.Layers[len(net.Layers)-1].(*FC)
	stored := len(raw) - 4*32*6 // the weights (32×6) end the file
	for _, io := range [][2]int{{0, 0}, {31, 5}, {3, 4}, {17, 1}} {
		i, o := io[0], io[1]
		if got, want := fc.Weights[o*32+i], f32(stored+4*(i*6+o)); got != want {
			t.Errorf("FC weight out=%d in=%d = %v, file has %v", o, i, got, want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	raw, err := os.ReadFile(mtcnnFile(t, "PNet.dat"))
	if err != nil {
		t.Fatal(err)
	}
	patch := func(off int, v int32) []byte {
		b := bytes.Clone(raw)
		binary.LittleEndian.PutUint32(b[off:], uint32(v))
		return b
	}
	// Offsets in PNet.dat: 0 depth, 4 type of layer 0, 8 n_in, 12 n_k,
	// 16 biases, 56 first kernel matrix (rows, cols, type). Layer 1 (PReLU)
	// starts at 56 + 30*48 = 1496.
	const layer1 = 56 + 30*48
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated reading layer count"},
		{"header only", raw[:10], "truncated reading conv input maps"},
		{"cut in kernels", raw[:700], "truncated reading conv kernels: need 1428 bytes, 632 left"},
		{"cut in last matrix", raw[:len(raw)-5], "truncated or corrupt: FC weights claims 32x6 values, only 763 bytes left"},
		{"trailing bytes", append(bytes.Clone(raw), 0, 0, 0, 0), "4 unexpected bytes after the last layer"},
		{"zero layers", patch(0, 0), "layer count 0"},
		{"absurd layer count", patch(0, 1<<30), "layer count 1073741824"},
		{"negative layer count", patch(0, -5), "layer count -5"},
		{"unknown layer type", patch(layer1, 7), "unknown layer type 7"},
		{"absurd map count", patch(8, 1<<30), "conv 1073741824->10 maps"},
		{"absurd kernel count", patch(12, 1<<20), "conv 3->1048576 maps"},
		{"absurd kernel size", patch(56, 100000), "claims 100000x3 values"},
		{"huge matrix", patch(56, 1<<30), "claims 1073741824x3 values"},
		{"negative matrix", patch(56, -1), "negative size -1x3"},
		{"double matrix", patch(64, 6), "matrix type 6, want 5"},
		{"kernel size mismatch", patch(56+48, 2), "is 2x3, want 3x3"},
		{"first layer not conv", synth(func(w *datWriter) {
			w.i32(1, typePReLU)
			w.mat(1, 1, 0.5)
		}), "first layer is PReLU, want a convolution"},
		{"prelu count mismatch", synth(func(w *datWriter) {
			w.i32(2)
			w.conv(1, 2, 1)
			w.i32(typePReLU)
			w.mat(3, 1, 1, 2, 3)
		}), "layer 1 (PReLU): 3 slopes for 2 maps"},
		{"conv map mismatch", synth(func(w *datWriter) {
			w.i32(2)
			w.conv(1, 2, 1)
			w.conv(3, 1, 1)
		}), "expects 3 input maps, previous layer gives 2"},
		{"FC size mismatch", synth(func(w *datWriter) {
			w.i32(2)
			w.conv(1, 2, 1)
			w.i32(typeFC)
			w.mat(1, 1, 0)
			w.mat(5, 1, 1, 2, 3, 4, 5)
		}), "input size 5 does not fit 2 maps"},
		{"FC bias not a column", synth(func(w *datWriter) {
			w.i32(2)
			w.conv(1, 2, 1)
			w.i32(typeFC)
			w.mat(1, 2, 0, 0)
		}), "FC bias is 1x2"},
		{"FC weights mismatch", synth(func(w *datWriter) {
			w.i32(2)
			w.conv(1, 2, 1)
			w.i32(typeFC)
			w.mat(2, 1, 0, 0)
			w.mat(2, 3, 1, 2, 3, 4, 5, 6)
		}), "FC weights are 2x3, want inputs x 2 outputs"},
		{"pool stride zero", synth(func(w *datWriter) {
			w.i32(2)
			w.conv(1, 2, 1)
			w.i32(typePool, 2, 2, 0, 2)
		}), "pool stride x is 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tc.data))
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}

	// Every prefix must fail cleanly; a sample keeps the test fast.
	for n := 0; n < len(raw); n += 97 {
		if _, err := Read(bytes.NewReader(raw[:n])); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "truncated") {
			t.Fatalf("prefix of %d bytes: error %v, want a truncation error", n, err)
		}
	}
}

// datWriter builds small synthetic .dat files.
type datWriter struct{ bytes.Buffer }

func (w *datWriter) i32(v ...int32) {
	for _, x := range v {
		binary.Write(&w.Buffer, binary.LittleEndian, x)
	}
}

func (w *datWriter) mat(rows, cols int32, v ...float32) {
	w.i32(rows, cols, cvFloat32)
	binary.Write(&w.Buffer, binary.LittleEndian, v)
}

// conv writes a conv layer with k×k kernels of ones and zero biases.
func (w *datWriter) conv(in, out, k int32) {
	w.i32(typeConv, in, out)
	binary.Write(&w.Buffer, binary.LittleEndian, make([]float32, out))
	ones := make([]float32, k*k)
	for i := range ones {
		ones[i] = 1
	}
	for i := int32(0); i < in*out; i++ {
		w.mat(k, k, ones...)
	}
}

func synth(build func(*datWriter)) []byte {
	var w datWriter
	build(&w)
	return w.Bytes()
}

func TestLoadNamesFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "RNet.dat")
	if err := os.WriteFile(bad, []byte{1, 0, 0, 0, 9, 0, 0, 0}, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(bad)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "unknown layer type 9") {
		t.Errorf("Load(corrupt) error = %v", err)
	}
	missing := filepath.Join(dir, "nope.dat")
	_, err = Load(missing)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load(missing) error = %v", err)
	}
}
