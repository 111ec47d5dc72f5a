package ofmat

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadDecoder(t *testing.T) {
	d, err := ReadDecoder(bytes.NewReader(i32(42)), 4, errTest)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := d.Int32("v"); err != nil || v != 42 || d.End() != nil {
		t.Errorf("Int32 = %v, %v", v, err)
	}
	if _, err := ReadDecoder(bytes.NewReader(make([]byte, 5)), 4, errTest); !errors.Is(err, errTest) || !strings.Contains(err.Error(), "larger than 4 bytes") {
		t.Errorf("oversize input: %v", err)
	}
	if _, err := ReadDecoder(io.MultiReader(bytes.NewReader([]byte{1}), errReader{}), 4, errTest); !errors.Is(err, errBroken) || errors.Is(err, errTest) {
		t.Errorf("failing reader: %v", err)
	}
}

var errBroken = errors.New("broken reader")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.bin")
	if err := os.WriteFile(path, encode(1, 1, DepthF32, f32(2)), 0o644); err != nil {
		t.Fatal(err)
	}
	readMat := func(r io.Reader) ([]float32, error) {
		d, err := ReadDecoder(r, 1<<10, errTest)
		if err != nil {
			return nil, err
		}
		m, err := d.Mat("m")
		if err != nil {
			return nil, err
		}
		return m.Float32s("m")
	}
	if v, err := LoadFile(path, "test matrix", readMat); err != nil || len(v) != 1 || v[0] != 2 {
		t.Errorf("LoadFile = %v, %v", v, err)
	}
	missing := filepath.Join(dir, "missing.bin")
	if _, err := LoadFile(missing, "test matrix", readMat); !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "open test matrix "+missing) {
		t.Errorf("missing file: %v", err)
	}
	if err := os.WriteFile(path, i32(1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path, "test matrix", readMat); !errors.Is(err, errTest) || !strings.HasPrefix(err.Error(), "read test matrix "+path) {
		t.Errorf("truncated file: %v", err)
	}
}

// ReadLimited returns the whole input up to maxSize+1 bytes, from files
// (read into a buffer of their size) and other readers alike.
func TestReadLimited(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 4095, 4096, 4097, 100000} {
		data := bytes.Repeat([]byte{7}, n)
		path := filepath.Join(dir, "f")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, max := range []int{n, n - 1, 10 * n} {
			if max < 0 {
				continue
			}
			want := min(n, max+1)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ReadLimited(f, max)
			f.Close()
			if err != nil || len(got) != want {
				t.Errorf("file of %d bytes, max %d: %d bytes, %v; want %d", n, max, len(got), err, want)
			}
			if got, err := ReadLimited(bytes.NewReader(data), max); err != nil || len(got) != want {
				t.Errorf("reader of %d bytes, max %d: %d bytes, %v; want %d", n, max, len(got), err, want)
			}
		}
	}
}

// ReadLimited on LoadFile's reader (the mapped file) returns the file's
// bytes, and a file longer than the limit still shows as longer.
func TestLoadFileReadLimited(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	data := bytes.Repeat([]byte{1, 2, 3, 4, 5}, 20)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ max, want int }{{1000, 100}, {100, 100}, {99, 100}, {10, 11}} {
		got, err := LoadFile(path, "test bytes", func(r io.Reader) ([]byte, error) {
			b, err := ReadLimited(r, tc.max)
			return bytes.Clone(b), err // the mapping ends when LoadFile returns
		})
		if err != nil || !bytes.Equal(got, data[:tc.want]) {
			t.Errorf("max %d: got %d bytes (%v), want the first %d", tc.max, len(got), err, tc.want)
		}
	}
}
