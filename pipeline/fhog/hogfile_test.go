package fhog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"testing"

	"facemirror/internal/sharedtest"
)

// TestHOGFileRoundTrip writes the reference file's frames back with
// WriteHOGFrame and expects OpenFace's exact bytes.
func TestHOGFileRoundTrip(t *testing.T) {
	path := sharedtest.Reference(t, v01+"/"+v01+".hog")
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	frames, err := ReadHOGFile(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 300 {
		t.Fatalf("read %d frames, want 300", len(frames))
	}
	var buf bytes.Buffer
	for i, f := range frames {
		if err := WriteHOGFrame(&buf, f.Descriptor, f.Success); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("rewritten file differs from OpenFace's (%d vs %d bytes)", buf.Len(), len(want))
	}
	// Spot values decoded straight from the file's bytes.
	frameBytes := 16 + 4*4464
	for _, probe := range []struct{ frame, value int }{{0, 0}, {0, 4463}, {150, 2000}, {299, 31*77 + 30}} {
		off := probe.frame*frameBytes + 16 + 4*probe.value
		v := math.Float32frombits(binary.LittleEndian.Uint32(want[off:]))
		if got := frames[probe.frame].Data[probe.value]; got != v {
			t.Errorf("frame %d value %d = %v, want %v", probe.frame, probe.value, got, v)
		}
	}
}

func TestHOGWriterFlagAndLayout(t *testing.T) {
	d := Descriptor{Rows: 1, Cols: 2, Data: make([]float32, 2*NumFeatures)}
	for i := range d.Data {
		d.Data[i] = float32(i) / 4
	}
	var buf bytes.Buffer
	if err := WriteHOGFrame(&buf, d, false); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if len(b) != 16+4*2*NumFeatures {
		t.Fatalf("%d bytes, want %d", len(b), 16+4*2*NumFeatures)
	}
	if cols, rows, ch := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[8:]); cols != 2 || rows != 1 || ch != NumFeatures {
		t.Fatalf("header cols %d rows %d channels %d, want 2 1 31", cols, rows, ch)
	}
	if flag := math.Float32frombits(binary.LittleEndian.Uint32(b[12:])); flag != -1 {
		t.Fatalf("flag %v, want -1", flag)
	}
	frames, err := ReadHOGFile(&buf)
	if err != nil || len(frames) != 1 {
		t.Fatalf("read back: %d frames, %v", len(frames), err)
	}
	f := frames[0]
	if f.Success || f.Rows != 1 || f.Cols != 2 || f.Channels != NumFeatures || f.At(0, 1, 3) != float32(NumFeatures+3)/4 {
		t.Fatalf("read back %+v", f)
	}

	if err := WriteHOGFrame(io.Discard, Descriptor{Rows: 12, Cols: 12, Data: make([]float32, 4463)}, true); err == nil {
		t.Fatal("WriteHOGFrame accepted 4463 values for 12x12 cells")
	}
}

func TestHOGReaderErrors(t *testing.T) {
	header := func(cols, rows, ch int32, flag float32) []byte {
		b := make([]byte, 16)
		binary.LittleEndian.PutUint32(b, uint32(cols))
		binary.LittleEndian.PutUint32(b[4:], uint32(rows))
		binary.LittleEndian.PutUint32(b[8:], uint32(ch))
		binary.LittleEndian.PutUint32(b[12:], math.Float32bits(flag))
		return b
	}
	good := append(header(1, 1, 31, 1), make([]byte, 4*31)...)
	tests := []struct {
		name    string
		data    []byte
		frames  int
		wantErr bool
	}{
		{"empty stream", nil, 0, false},
		{"one frame", good, 1, false},
		{"partial header", append(append([]byte{}, good...), 1, 2, 3), 1, true},
		{"truncated values", good[:len(good)-1], 0, true},
		{"negative rows", header(12, -1, 31, 1), 0, true},
		{"huge header", header(1<<15, 1<<15, 31, 1), 0, true},
		{"bad flag", append(header(1, 1, 31, 0.5), make([]byte, 4*31)...), 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frames, err := ReadHOGFile(bytes.NewReader(tc.data))
			if len(frames) != tc.frames {
				t.Errorf("%d frames before the error, want %d", len(frames), tc.frames)
			}
			if tc.wantErr != (err != nil) {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrHOGFormat) {
				t.Fatalf("err = %v, want ErrHOGFormat", err)
			}
		})
	}
}
