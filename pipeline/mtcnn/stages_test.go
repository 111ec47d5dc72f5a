package mtcnn

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"facemirror/internal/sharedtest"
)

// stageRef is reference/mtcnn/v01_frame0_stages.txt: every intermediate
// list OpenFace's DetectFaces produced on v01 frame 0.
type stageRef struct {
	width, height int
	scales        []stageScale
	perScale      [][]candidate
	crossScale    int
	rnetIn        []candidate
	rnetOut       []candidate
	rnetAbove     int
	rnetNMS       int
	onetIn        []candidate
	onetOut       []candidate
	onetAbove     int
	onetNMS       int
	raw           []candidate
	corrected     []candidate
}

type stageScale struct {
	scale      float64
	scaleF     float32
	w, h       int
	mapW, mapH int
	maxProb    float32
	aboveT1    int
	afterNMS   int
}

var (
	reImage = regexp.MustCompile(`^image (\d+)x(\d+) `)
	reScale = regexp.MustCompile(`^scale (\d+): scale=(\S+) \(float (\S+)\) pyr=(\d+)x(\d+) \(w x h\) pnet_map=(\d+)x(\d+) max_prob=(\S+) above_t1=(\d+) after_scale_nms\(0\.5,IoU\)=(\d+)$`)
	reCount = regexp.MustCompile(`^(PNet|RNet|ONet): (.*) = (\d+)$`)
	reBox   = regexp.MustCompile(`^\s+\d+ x=(\S+) y=(\S+) w=(\S+) h=(\S+) score=(\S+)(?: reg=\((\S+),(\S+),(\S+),(\S+)\))?$`)
)

func parseF32(t testing.TB, s string) float32 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 32)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return float32(v)
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	v, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return v
}

func loadStageRef(t testing.TB) *stageRef {
	t.Helper()
	path := sharedtest.Reference(t, "mtcnn/v01_frame0_stages.txt")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ref := &stageRef{}
	var cur *[]candidate
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case reImage.MatchString(line):
			m := reImage.FindStringSubmatch(line)
			ref.width, ref.height = atoi(t, m[1]), atoi(t, m[2])
		case reScale.MatchString(line):
			m := reScale.FindStringSubmatch(line)
			s, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				t.Fatal(err)
			}
			ref.scales = append(ref.scales, stageScale{
				scale: s, scaleF: parseF32(t, m[3]),
				w: atoi(t, m[4]), h: atoi(t, m[5]), mapW: atoi(t, m[6]), mapH: atoi(t, m[7]),
				maxProb: parseF32(t, m[8]), aboveT1: atoi(t, m[9]), afterNMS: atoi(t, m[10]),
			})
		case reCount.MatchString(line):
			m := reCount.FindStringSubmatch(line)
			n := atoi(t, m[3])
			switch {
			case m[1] == "PNet" && strings.HasPrefix(m[2], "after cross-scale"):
				ref.crossScale = n
			case m[1] == "RNet" && strings.HasPrefix(m[2], "above"):
				ref.rnetAbove = n
			case m[1] == "RNet" && strings.HasPrefix(m[2], "after NMS"):
				ref.rnetNMS = n
			case m[1] == "ONet" && strings.HasPrefix(m[2], "above"):
				ref.onetAbove = n
			case m[1] == "ONet" && strings.HasPrefix(m[2], "after"):
				ref.onetNMS = n
			}
		case strings.HasPrefix(line, "# PNet scale"):
			ref.perScale = append(ref.perScale, []candidate{})
			cur = &ref.perScale[len(ref.perScale)-1]
		case strings.HasPrefix(line, "# RNet input"):
			cur = &ref.rnetIn
		case strings.HasPrefix(line, "# RNet outputs"):
			cur = &ref.rnetOut
		case strings.HasPrefix(line, "# ONet input"):
			cur = &ref.onetIn
		case strings.HasPrefix(line, "# ONet outputs"):
			cur = &ref.onetOut
		case strings.HasPrefix(line, "# final raw"):
			cur = &ref.raw
		case strings.HasPrefix(line, "# final corrected"):
			cur = &ref.corrected
		case reBox.MatchString(line):
			if cur == nil {
				t.Fatalf("box line outside a block: %q", line)
			}
			m := reBox.FindStringSubmatch(line)
			c := candidate{
				box:   Rect{parseF32(t, m[1]), parseF32(t, m[2]), parseF32(t, m[3]), parseF32(t, m[4])},
				score: parseF32(t, m[5]),
			}
			if m[6] != "" {
				c.reg = [4]float32{parseF32(t, m[6]), parseF32(t, m[7]), parseF32(t, m[8]), parseF32(t, m[9])}
			}
			*cur = append(*cur, c)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(ref.scales) == 0 || len(ref.perScale) != len(ref.scales) || len(ref.rnetOut) == 0 || len(ref.corrected) == 0 {
		t.Fatalf("%s: incomplete parse (%d scales, %d per-scale blocks)", path, len(ref.scales), len(ref.perScale))
	}
	return ref
}

func fmtCand(c candidate) string {
	return fmt.Sprintf("(%.6f,%.6f,%.6f,%.6f) score=%.9g", c.box.X, c.box.Y, c.box.W, c.box.H, c.score)
}

// sameBoxes reports every difference between got and want: count, and
// per entry the box fields (exact; the reference prints 6 decimals of
// integer-valued or float32 numbers) and, if checkScore, the score.
func sameBoxes(t *testing.T, what string, got, want []candidate, tolBox float64, checkScore bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d boxes, want %d", what, len(got), len(want))
		for i := range got {
			t.Logf("  got  %d %s", i, fmtCand(got[i]))
		}
		for i := range want {
			t.Logf("  want %d %s", i, fmtCand(want[i]))
		}
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		d := maxEdgeDiff(g.box, w.box)
		if d > tolBox || (checkScore && g.score != w.score) {
			t.Errorf("%s[%d]: got %s, want %s (box diff %.6g)", what, i, fmtCand(g), fmtCand(w), d)
		}
	}
}

func abs64(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// maxEdgeDiff is the largest difference of the four fields of two boxes.
func maxEdgeDiff(a, b Rect) float64 {
	return max(abs64(float64(a.X)-float64(b.X)), abs64(float64(a.Y)-float64(b.Y)),
		abs64(float64(a.W)-float64(b.W)), abs64(float64(a.H)-float64(b.H)))
}
