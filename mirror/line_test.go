package mirror

import (
	"math"
	"strings"
	"testing"
)

// landmarks returns 136 values, 68 x then 68 y, with point i at (i, 100+i)
// and the given overrides.
func landmarks(set map[int]Point) []float32 {
	lm := make([]float32, 136)
	for i := range 68 {
		lm[i], lm[68+i] = float32(i), float32(100+i)
	}
	for i, p := range set {
		lm[i], lm[68+i] = float32(p.X), float32(p.Y)
	}
	return lm
}

func TestFromLandmarks(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name    string
		lm      []float32
		want    Line
		wantErr string
	}{
		{
			name: "upright face",
			lm:   landmarks(map[int]Point{21: {300, 200}, 22: {341, 204}, 8: {318.5, 410.25}}),
			want: Line{Glabella: Point{320.5, 202}, Chin: Point{318.5, 410.25}},
		},
		{
			name: "only landmarks 8, 21 and 22 matter",
			lm:   landmarks(map[int]Point{21: {10, 20}, 22: {30, 40}, 8: {20, 90}, 0: {-1e6, 1e6}}),
			want: Line{Glabella: Point{20, 30}, Chin: Point{20, 90}},
		},
		{name: "too short", lm: make([]float32, 135), wantErr: "got 135 landmark values, want 136"},
		{name: "x and y of 2D+3D", lm: make([]float32, 204), wantErr: "got 204"},
		{name: "NaN x", lm: func() []float32 { lm := landmarks(nil); lm[30] = nan; return lm }(), wantErr: "value 30 (x 30) is NaN"},
		{name: "infinite y", lm: func() []float32 { lm := landmarks(nil); lm[68+5] = float32(math.Inf(-1)); return lm }(), wantErr: "(y 5) is -Inf"},
		{name: "glabella on the chin", lm: landmarks(map[int]Point{21: {4, 6}, 22: {6, 4}, 8: {5, 5}}), wantErr: "coincide at (5, 5)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromLandmarks(tc.lm)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %+v, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
