package reference

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestReadTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.csv")
	data := "name,flag,f32,f64\na,1,0.1,0.10000000000000001\nb,0,-2.5e-07,\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	tb := ReadTable(t, path)
	if tb.Path != path || len(tb.Rows) != 2 || tb.Index(t, "f64") != 3 {
		t.Fatalf("table %+v", tb)
	}
	tests := []struct {
		row  int
		name string
		flag bool
		f32  float32
		has  bool
	}{
		{0, "a", true, 0.1, true},
		{1, "b", false, -2.5e-07, false},
	}
	for _, tc := range tests {
		if got := tb.Str(t, tc.row, "name"); got != tc.name {
			t.Errorf("row %d name %q, want %q", tc.row, got, tc.name)
		}
		if got := tb.Flag(t, tc.row, "flag"); got != tc.flag {
			t.Errorf("row %d flag %v, want %v", tc.row, got, tc.flag)
		}
		// float32(0.1) must come back bit for bit, not via float64.
		if got := tb.F32(t, tc.row, "f32"); got != tc.f32 {
			t.Errorf("row %d f32 %v, want %v", tc.row, got, tc.f32)
		}
		if got := tb.Has(tc.row, "f64"); got != tc.has {
			t.Errorf("row %d has f64 %v, want %v", tc.row, got, tc.has)
		}
	}
	if got := tb.F64(t, 0, "f64"); got != 0.1 {
		t.Errorf("f64 %v, want 0.1", got)
	}
	if tb.Has(0, "missing") {
		t.Error("Has reports a missing column")
	}
}

// TestFrames checks the first v01 frame against values read off the
// reference file (OpenFace's own MTCNN box and first landmark).
func TestFrames(t *testing.T) {
	tb := Frames(t, "v01_talking_frontal_glasses_480x360")
	if len(tb.Rows) != 300 {
		t.Fatalf("%d frames, want 300", len(tb.Rows))
	}
	if !tb.Flag(t, 0, "success") {
		t.Error("frame 0 not successful")
	}
	got := tb.F32s(t, 0, []string{"detection_certainty", "mtcnn_x", "mtcnn_w", "x_0"})
	want := []float32{0.983333349, 213.593979, 88.1307831, 213.976273}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("value %d: %v, want %v", i, got[i], want[i])
		}
	}
}

func TestColumns(t *testing.T) {
	tests := []struct {
		got  []string
		want []string
	}{
		{LandmarkColumns("", 2), []string{"x_0", "x_1", "y_0", "y_1"}},
		{LandmarkColumns("eye_lmk_", 1), []string{"eye_lmk_x_0", "eye_lmk_y_0"}},
		{ParamColumns("fa_p_", 0), []string{"fa_p_scale", "fa_p_rx", "fa_p_ry", "fa_p_rz", "fa_p_tx", "fa_p_ty"}},
		{ParamColumns("p_", 2)[6:], []string{"p_0", "p_1"}},
	}
	for i, tc := range tests {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("case %d: %v, want %v", i, tc.got, tc.want)
		}
	}
	// The reference frames file has every column these name.
	tb := Frames(t, "v01_talking_frontal_glasses_480x360")
	for _, c := range append(LandmarkColumns("", 68), append(ParamColumns("clnf_p_", 34), ParamColumns("fa_p_", 34)...)...) {
		tb.Index(t, c)
	}
}
