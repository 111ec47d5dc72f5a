package auplot

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

var testNames = []string{"AU01", "AU12", "AU45"}

// add adds frames to c, failing the test on error. Each frame is at
// frame/30 seconds.
func add(t testing.TB, c *Curves, side string, frame int, values ...float64) {
	t.Helper()
	if err := c.Add(side, frame, float64(frame)/30, values); err != nil {
		t.Fatalf("Add(%q, %d, %v): %v", side, frame, values, err)
	}
}

func TestNamesIsACopy(t *testing.T) {
	names := slices.Clone(testNames)
	c := NewCurves(names)
	names[0] = "changed"
	got := c.Names()
	got[1] = "changed"
	if !slices.Equal(c.Names(), testNames) {
		t.Errorf("Names() = %v, want %v", c.Names(), testNames)
	}
}

func TestAddOutOfOrderAndRepeated(t *testing.T) {
	c := NewCurves(testNames)
	add(t, c, SideLeft, 2, 2, 2, 2)
	add(t, c, SideLeft, 0, 0, 0, 0)
	add(t, c, SideLeft, 1, 1, 1, 1)
	// A retried helper starts again at frame 0 with new values.
	add(t, c, SideLeft, 0, 4, 4, 4)
	add(t, c, SideRight, 0, 1, 1, 1)

	for _, tt := range []struct {
		side string
		want int
	}{
		{SideLeft, 3},
		{SideRight, 1},
		{SideSource, 0},
		{"middle", 0},
	} {
		if got := c.Len(tt.side); got != tt.want {
			t.Errorf("Len(%q) = %d, want %d", tt.side, got, tt.want)
		}
	}
	want := []float32{4, 1, 2}
	if got := c.tracks[left].v[1]; !slices.Equal(got, want) {
		t.Errorf("left AU12 by frame = %v, want %v", got, want)
	}
	if l, r, ok := c.Latest("AU12"); l != 4 || r != 1 || !ok {
		t.Errorf("Latest(AU12) = %v, %v, %v; want 4, 1, true", l, r, ok)
	}
}

func TestAddErrors(t *testing.T) {
	tests := []struct {
		name      string
		side      string
		frame     int
		t         float64
		intensity []float64
		is        error  // wrapped error, if any
		msg       string // substring of the message
	}{
		{"unknown side", "middle", 0, 0, []float64{1, 2, 3}, ErrUnknownSide, `"middle"`},
		{"empty side", "", 0, 0, []float64{1, 2, 3}, ErrUnknownSide, "unknown side"},
		{"too few", SideLeft, 0, 0, []float64{1, 2}, nil, "got 2 intensities, want 3"},
		{"too many", SideRight, 0, 0, []float64{1, 2, 3, 4}, nil, "got 4 intensities, want 3"},
		{"nil", SideSource, 0, 0, nil, nil, "got 0 intensities, want 3"},
		{"negative frame", SideLeft, -1, 0, []float64{1, 2, 3}, nil, "out of range"},
		{"huge frame", SideLeft, maxFrames, 0, []float64{1, 2, 3}, nil, "out of range"},
		{"NaN time", SideLeft, 0, math.NaN(), []float64{1, 2, 3}, nil, "invalid time"},
		{"negative time", SideLeft, 0, -1, []float64{1, 2, 3}, nil, "invalid time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCurves(testNames)
			err := c.Add(tt.side, tt.frame, tt.t, tt.intensity)
			if err == nil {
				t.Fatal("Add succeeded, want error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Add error %q does not wrap %q", err, tt.is)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "auplot: ") || !strings.Contains(msg, tt.msg) {
				t.Errorf("Add error = %q, want auplot: ...%s...", msg, tt.msg)
			}
			for _, side := range []string{SideSource, SideLeft, SideRight} {
				if n := c.Len(side); n != 0 {
					t.Errorf("after failed Add, Len(%q) = %d, want 0", side, n)
				}
			}
		})
	}
}

// frames gives, for one side, AU12 per frame; NaN means a NaN value and
// absent means the frame is not added.
type frames []float64

var absent = math.Inf(1)

func curvesOf(t *testing.T, l, r frames) *Curves {
	t.Helper()
	c := NewCurves(testNames)
	for side, vs := range map[string]frames{SideLeft: l, SideRight: r} {
		for f, v := range vs {
			if v != absent {
				add(t, c, side, f, 0, v, 0)
			}
		}
	}
	return c
}

func TestLatest(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name         string
		l, r         frames
		au           string
		wantL, wantR float64
		wantOK       bool
	}{
		{"empty", nil, nil, "AU12", 0, 0, false},
		{"one side only", frames{1, 2}, nil, "AU12", 0, 0, false},
		{"same length", frames{1, 2, 3}, frames{4, 5, 6}, "AU12", 3, 6, true},
		{"left ahead", frames{1, 2, 3, 4}, frames{5, 6}, "AU12", 2, 6, true},
		{"right ahead", frames{1}, frames{5, 6, 7}, "AU12", 1, 5, true},
		{"frame missing on one side", frames{1, 2, 3}, frames{4, 5, absent}, "AU12", 2, 5, true},
		{"NaN skipped", frames{1, 2, 3}, frames{4, 5, nan}, "AU12", 2, 5, true},
		{"no common frame", frames{1, absent}, frames{absent, 2}, "AU12", 0, 0, false},
		{"other AU", frames{1, 2}, frames{3, 4}, "AU45", 0, 0, true},
		{"unknown AU", frames{1, 2}, frames{3, 4}, "AU99", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := curvesOf(t, tt.l, tt.r)
			l, r, ok := c.Latest(tt.au)
			if l != tt.wantL || r != tt.wantR || ok != tt.wantOK {
				t.Errorf("Latest(%q) = %v, %v, %v; want %v, %v, %v", tt.au, l, r, ok, tt.wantL, tt.wantR, tt.wantOK)
			}
		})
	}
}

func TestAsymmetry(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name   string
		l, r   frames
		au     string
		want   float64
		wantOK bool
	}{
		{"empty", nil, nil, "AU12", 0, false},
		{"one side only", frames{1, 2}, nil, "AU12", 0, false},
		// meanL 2, meanR 1: (2-1)/(2+1).
		{"left stronger", frames{1, 2, 3}, frames{1, 1, 1}, "AU12", 1.0 / 3, true},
		{"right stronger", frames{1, 1, 1}, frames{1, 2, 3}, "AU12", -1.0 / 3, true},
		{"symmetric", frames{0.5, 2.5}, frames{2.5, 0.5}, "AU12", 0, true},
		{"right still", frames{1, 2}, frames{0, 0}, "AU12", 1, true},
		// Frames 2 and 3 are on one side only and frame 1 is NaN on the
		// left, leaving frame 0: (2-1)/(2+1).
		{"only common values", frames{2, nan, 4}, frames{1, 3, absent, 5}, "AU12", 1.0 / 3, true},
		{"both still", frames{0, 0}, frames{0, 0}, "AU12", 0, false},
		{"all NaN", frames{nan}, frames{1}, "AU12", 0, false},
		{"unknown AU", frames{1}, frames{1}, "AU99", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := curvesOf(t, tt.l, tt.r)
			got, ok := c.Asymmetry(tt.au)
			if math.Abs(got-tt.want) > 1e-12 || ok != tt.wantOK {
				t.Errorf("Asymmetry(%q) = %v, %v; want %v, %v", tt.au, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestTitle(t *testing.T) {
	tests := []struct {
		name string
		l, r frames
		want string
	}{
		{"no data", nil, nil, "AU12"},
		{"left only", frames{1}, nil, "AU12"},
		{"both sides", frames{1, 2, 3}, frames{1, 1, 1}, "AU12  asym +0.33"},
		{"right stronger", frames{1, 1, 1}, frames{1, 2, 3}, "AU12  asym -0.33"},
		{"undefined", frames{0}, frames{0}, "AU12  asym –"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := curvesOf(t, tt.l, tt.r).title("AU12"); got != tt.want {
				t.Errorf("title(AU12) = %q, want %q", got, tt.want)
			}
		})
	}
}
