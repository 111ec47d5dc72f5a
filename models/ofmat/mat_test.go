package ofmat

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

var errTest = errors.New("test: invalid file")

// encode builds a binary matrix: header then the given raw element bytes.
func encode(rows, cols, typ int32, elems ...[]byte) []byte {
	var b []byte
	for _, v := range []int32{rows, cols, typ} {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	for _, e := range elems {
		b = append(b, e...)
	}
	return b
}

func f32(v float32) []byte { return binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)) }
func f64(v float64) []byte { return binary.LittleEndian.AppendUint64(nil, math.Float64bits(v)) }
func i32(v int32) []byte   { return binary.LittleEndian.AppendUint32(nil, uint32(v)) }

func TestScalars(t *testing.T) {
	buf := append(append(i32(-7), f32(1.5)...), f64(-2.25)...)
	d := NewDecoder(buf, errTest)
	if v, err := d.Int32("i"); err != nil || v != -7 {
		t.Fatalf("Int32 = %v, %v", v, err)
	}
	if v, err := d.Float32("f"); err != nil || v != 1.5 {
		t.Fatalf("Float32 = %v, %v", v, err)
	}
	if v, err := d.Float64("d"); err != nil || v != -2.25 {
		t.Fatalf("Float64 = %v, %v", v, err)
	}
	if err := d.End(); err != nil {
		t.Fatal(err)
	}
	_, err := d.Int32("past the end")
	if !errors.Is(err, errTest) || !strings.Contains(err.Error(), "past the end at byte 16: needs 4 bytes, 0 left") {
		t.Errorf("read past the end: %v", err)
	}
}

func TestMat(t *testing.T) {
	tests := []struct {
		name     string
		buf      []byte
		rows     int
		float32s []float32
		float64s []float64
		int32s   []int32
		uint8s   []uint8
	}{
		{"f32", encode(1, 2, DepthF32, f32(0.25), f32(-3)), 1, []float32{0.25, -3}, nil, nil, []uint8{0, 0}},
		{"f64", encode(2, 1, DepthF64, f64(0.1), f64(254.5)), 2, nil, []float64{0.1, 254.5}, nil, []uint8{0, 254}},
		{"s32", encode(1, 3, DepthS32, i32(-1), i32(300), i32(3)), 1, nil, nil, []int32{-1, 300, 3}, []uint8{0, 255, 3}},
		{"u8", encode(1, 2, DepthU8, []byte{0, 255}), 1, nil, nil, nil, []uint8{0, 255}},
		{"s8", encode(1, 1, DepthS8, []byte{0xff}), 1, nil, nil, nil, []uint8{0}},
		{"s16", encode(1, 1, DepthS16, []byte{0x02, 0x80}), 1, nil, nil, nil, []uint8{0}},
		{"u16", encode(1, 1, DepthU16, []byte{0x02, 0x01}), 1, nil, nil, nil, []uint8{255}},
		{"empty", encode(0, 5, DepthF32), 0, []float32{}, nil, nil, []uint8{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(tc.buf, errTest)
			m, err := d.Mat("m")
			if err != nil {
				t.Fatal(err)
			}
			if err := d.End(); err != nil {
				t.Fatal(err)
			}
			if m.Rows != tc.rows {
				t.Errorf("rows %d, want %d", m.Rows, tc.rows)
			}
			if got := m.ToUint8(); !reflect.DeepEqual(got, tc.uint8s) {
				t.Errorf("ToUint8 = %v, want %v", got, tc.uint8s)
			}
			if got, err := m.Float32s("m"); tc.float32s != nil && (err != nil || !reflect.DeepEqual(got, tc.float32s)) {
				t.Errorf("Float32s = %v, %v; want %v", got, err, tc.float32s)
			} else if tc.float32s == nil && !errors.Is(err, errTest) {
				t.Errorf("Float32s of depth %d: err = %v", m.Depth, err)
			}
			if got, err := m.Float64s("m"); tc.float64s != nil && (err != nil || !reflect.DeepEqual(got, tc.float64s)) {
				t.Errorf("Float64s = %v, %v; want %v", got, err, tc.float64s)
			} else if tc.float64s == nil && !errors.Is(err, errTest) {
				t.Errorf("Float64s of depth %d: err = %v", m.Depth, err)
			}
			if got, err := m.Int32s("m"); tc.int32s != nil && (err != nil || !reflect.DeepEqual(got, tc.int32s)) {
				t.Errorf("Int32s = %v, %v; want %v", got, err, tc.int32s)
			} else if tc.int32s == nil && !errors.Is(err, errTest) {
				t.Errorf("Int32s of depth %d: err = %v", m.Depth, err)
			}
		})
	}
}

func TestMatErrors(t *testing.T) {
	tests := []struct {
		name, buf, want string
	}{
		{"truncated header", string(i32(2)), "w cols at byte 4: needs 4 bytes, 0 left"},
		{"negative size", string(encode(-1, 2, DepthF32)), "w at byte 12: bad size -1×2"},
		{"huge", string(encode(1<<13, 1<<12, DepthF32)), "bad size 8192×4096"},
		{"multi-channel", string(encode(1, 1, 13)), "unsupported element type 13"},
		{"CV_16F", string(encode(1, 1, 7)), "unsupported element type 7"},
		{"short data", string(encode(2, 2, DepthF64, f64(1))), "w data at byte 12: needs 32 bytes, 8 left"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewDecoder([]byte(tc.buf), errTest).Mat("w")
			if !errors.Is(err, errTest) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q wrapping errTest", err, tc.want)
			}
		})
	}
	d := NewDecoder(append(encode(1, 1, DepthU8, []byte{1}), 9, 9), errTest)
	if _, err := d.Mat("m"); err != nil {
		t.Fatal(err)
	}
	if err := d.End(); !errors.Is(err, errTest) || !strings.Contains(err.Error(), "end of file at byte 13: 2 trailing bytes") {
		t.Errorf("End with leftovers: %v", err)
	}
}
