package helper

import (
	"bytes"
	"testing"
)

// An analysed frame's event data decode to what was encoded, the result
// sharing the data's memory; damaged data give an error, never a frame.
func TestAnalysedFrameBinary(t *testing.T) {
	for _, f := range []AnalysedFrame{
		{Index: 0, Result: []byte{1, 2, 3}},
		{Side: SideLeft, Index: 299, Result: bytes.Repeat([]byte{9}, 20000)},
		{Side: SideRight, Index: 1 << 20},
		{Index: 7, Result: []byte{}},
	} {
		data, err := f.MarshalBinary()
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		var got AnalysedFrame
		if err := got.UnmarshalBinary(data); err != nil {
			t.Fatalf("%s frame %d: %v", f.Side, f.Index, err)
		}
		if got.Side != f.Side || got.Index != f.Index || !bytes.Equal(got.Result, f.Result) {
			t.Errorf("%s frame %d came back as %s frame %d with %d bytes", f.Side, f.Index, got.Side, got.Index, len(got.Result))
		}
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "analysed frame event of 0 bytes is shorter than its side"},
		{"short side", []byte{5, 'l', 'e'}, "analysed frame event of 3 bytes is shorter than its side"},
		{"no index", []byte{0}, "analysed frame event has no valid frame index"},
		{"unterminated index", []byte{0, 0x80, 0x80}, "analysed frame event has no valid frame index"},
		{"index too large", []byte{0, 0xff, 0xff, 0xff, 0xff, 0x0f}, "analysed frame event has no valid frame index"},
	} {
		var f AnalysedFrame
		if err := f.UnmarshalBinary(tc.data); err == nil || err.Error() != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := (AnalysedFrame{Index: -1}).MarshalBinary(); err == nil {
		t.Error("a negative index was encoded")
	}
}
