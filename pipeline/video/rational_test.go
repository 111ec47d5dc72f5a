package video

import (
	"math"
	"testing"
)

func TestRationalFromFPS(t *testing.T) {
	cases := []struct {
		num, den int64
	}{
		{30, 1}, {25, 1}, {24, 1}, {60, 1}, {21, 1},
		{30000, 1001}, {24000, 1001}, {60000, 1001}, {120000, 1001},
		{2997, 100},                     // a muxer that stored 29.97 literally keeps it
		{519168, 19667}, {150528, 6359}, // e02 and e03's averages
		{90000, 3001}, {1, 3}, {1000000, 33367}, {7654321, 1234567},
	}
	for _, c := range cases {
		fps := float64(c.num) / float64(c.den)
		got := rationalFromFPS(fps)
		if got != (Rational{c.num, c.den}) {
			t.Errorf("rationalFromFPS(%v) = %v, want %d/%d", fps, got, c.num, c.den)
		}
		if got.Float() != fps {
			t.Errorf("%v.Float() = %v, want %v bit for bit", got, got.Float(), fps)
		}
	}
	for _, bad := range []float64{0, -30, math.NaN(), math.Inf(1)} {
		if got := rationalFromFPS(bad); got != (Rational{0, 1}) {
			t.Errorf("rationalFromFPS(%v) = %v, want 0/1", bad, got)
		}
	}
}

func TestRationalString(t *testing.T) {
	for r, want := range map[Rational]string{
		{30000, 1001}: "30000/1001", {24000, 1001}: "24000/1001", {30, 1}: "30/1", {0, 1}: "0/1", {}: "0/1",
	} {
		if r.String() != want {
			t.Errorf("%#v.String() = %q, want %q", r, r.String(), want)
		}
	}
	if (Rational{}).Float() != 0 || (Rational{30000, 1001}).Float() != 30000.0/1001.0 {
		t.Error("Float")
	}
}
