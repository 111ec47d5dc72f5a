package cnn_test

import (
	"bufio"
	"context"
	"image"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"facemirror/internal/sharedtest"
	"facemirror/models/cnn"
)

// stageBox is one line of reference/mtcnn/v01_frame0_stages.txt: a box and
// the network outputs OpenFace computed for it (%.9g, so exact float32).
type stageBox struct {
	x, y, w, h int
	score      float32
	reg        [4]float32
}

type stages struct {
	scales map[int]float32 // PNet scale index -> float scale
	pyr    map[int][2]int  // PNet scale index -> pyramid width, height
	pnet   map[int][]stageBox
	rnet   []stageBox
	onet   []stageBox
}

var (
	scaleLine = regexp.MustCompile(`^scale (\d+): .*\(float ([0-9.e-]+)\) pyr=(\d+)x(\d+)`)
	boxLine   = regexp.MustCompile(`^\s+\d+ x=([0-9.-]+) y=([0-9.-]+) w=([0-9.]+) h=([0-9.]+) score=([0-9.e-]+)(?: reg=\(([^)]*)\))?`)
	pnetHead  = regexp.MustCompile(`^# PNet scale (\d+) boxes`)
)

func parseStages(t *testing.T, path string) stages {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := stages{scales: map[int]float32{}, pyr: map[int][2]int{}, pnet: map[int][]stageBox{}}
	var add func(stageBox)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := scaleLine.FindStringSubmatch(line); m != nil {
			i, _ := strconv.Atoi(m[1])
			v, _ := strconv.ParseFloat(m[2], 32)
			w, _ := strconv.Atoi(m[3])
			h, _ := strconv.Atoi(m[4])
			s.scales[i], s.pyr[i] = float32(v), [2]int{w, h}
			continue
		}
		if strings.HasPrefix(line, "#") {
			add = nil
			switch m := pnetHead.FindStringSubmatch(line); {
			case m != nil:
				i, _ := strconv.Atoi(m[1])
				add = func(b stageBox) { s.pnet[i] = append(s.pnet[i], b) }
			case strings.HasPrefix(line, "# RNet outputs"):
				add = func(b stageBox) { s.rnet = append(s.rnet, b) }
			case strings.HasPrefix(line, "# ONet outputs"):
				add = func(b stageBox) { s.onet = append(s.onet, b) }
			}
			continue
		}
		m := boxLine.FindStringSubmatch(line)
		if m == nil || add == nil || m[6] == "" {
			continue
		}
		var b stageBox
		num := func(str string) float64 {
			v, err := strconv.ParseFloat(strings.TrimSpace(str), 64)
			if err != nil {
				t.Fatalf("bad number %q in %q", str, line)
			}
			return v
		}
		b.x, b.y, b.w, b.h = int(num(m[1])), int(num(m[2])), int(num(m[3])), int(num(m[4]))
		b.score = float32(num(m[5]))
		for i, r := range strings.Split(m[6], ",") {
			b.reg[i] = float32(num(r))
		}
		add(b)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(s.pnet) == 0 || len(s.rnet) == 0 || len(s.onet) == 0 {
		t.Fatalf("%s: parsed %d PNet scales, %d RNet and %d ONet boxes", path, len(s.pnet), len(s.rnet), len(s.onet))
	}
	return s
}

// firstFrame decodes frame 0 of a video as a float32 BGR Mat, as OpenFace
// does before building its pyramid.
func firstFrame(t *testing.T, path string) gocv.Mat {
	t.Helper()
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	if !vc.Read(&frame) || frame.Empty() {
		t.Fatalf("%s: no frame", path)
	}
	f := gocv.NewMat()
	frame.ConvertTo(&f, gocv.MatTypeCV32FC3)
	return f
}

// toPlanes resizes a float BGR image with INTER_LINEAR and stores it as
// normalised R, G, B planes into sample b of dst.
func toPlanes(t *testing.T, img gocv.Mat, w, h int, dst cnn.Tensor, b int) {
	t.Helper()
	r := gocv.NewMat()
	defer r.Close()
	gocv.Resize(img, &r, image.Pt(w, h), 0, 0, gocv.InterpolationLinear)
	px, err := r.DataPtrFloat32()
	if err != nil {
		t.Fatal(err)
	}
	plane := w * h
	for i := 0; i < plane; i++ {
		for c := 0; c < 3; c++ {
			dst.Data[(b*3+c)*plane+i] = (px[i*3+2-c] - 127.5) * 0.0078125
		}
	}
}

// crop cuts OpenFace's (w+1)×(h+1) RNet/ONet canvas for a box: image pixel
// (x-1+c, y-1+r) goes to canvas (c, r), and whatever falls outside the image
// stays 0.
func crop(t *testing.T, img gocv.Mat, x, y, w, h int) gocv.Mat {
	t.Helper()
	canvas := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(0, 0, 0, 0), h+1, w+1, gocv.MatTypeCV32FC3)
	dst, err := canvas.DataPtrFloat32()
	if err != nil {
		t.Fatal(err)
	}
	src, err := img.DataPtrFloat32()
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r <= h; r++ {
		for c := 0; c <= w; c++ {
			ix, iy := x-1+c, y-1+r
			if ix < 0 || iy < 0 || ix >= img.Cols() || iy >= img.Rows() {
				continue
			}
			copy(dst[(r*(w+1)+c)*3:(r*(w+1)+c)*3+3], src[(iy*img.Cols()+ix)*3:])
		}
	}
	return canvas
}

func faceProb(o0, o1 float32) float32 {
	return float32(1 / (1 + math.Exp(float64(o0-o1))))
}

// TestOpenFaceReference runs the three networks on the inputs OpenFace
// used for frame 0 of v01 and compares with the outputs it recorded
// (reference/mtcnn/v01_frame0_stages.txt): PNet regressions at every
// surviving cell of every pyramid level, and RNet/ONet regressions for every
// box that entered those stages. The regressions are raw network outputs
// printed with 9 digits, so they are compared exactly: the forward pass
// reproduces OpenFace's float32 arithmetic bit for bit, given the same
// decoded frame and OpenCV resize.
func TestOpenFaceReference(t *testing.T) {
	ref := parseStages(t, sharedtest.Reference(t, "mtcnn/v01_frame0_stages.txt"))
	img := firstFrame(t, sharedtest.Media(t, "videos/v01_talking_frontal_glasses_480x360.mp4"))
	defer img.Close()
	load := func(name string) *cnn.Net {
		n, err := cnn.Load(filepath.Join(sharedtest.Models(t), "model", "mtcnn_detector", name))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	ctx := context.Background()

	var checked, exact int
	var worstReg, worstProb float64
	compare := func(what string, b stageBox, out cnn.Tensor, n, y, x int) {
		checked++
		same := true
		for i := 0; i < 4; i++ {
			got := out.At(n, 2+i, y, x)
			worstReg = max(worstReg, math.Abs(float64(got-b.reg[i])))
			same = same && got == b.reg[i]
		}
		if same {
			exact++
		}
		p := faceProb(out.At(n, 0, y, x), out.At(n, 1, y, x))
		worstProb = max(worstProb, math.Abs(float64(p-b.score)))
		if !same {
			t.Logf("%s box (%d,%d,%d,%d): reg %v, OpenFace %v", what, b.x, b.y, b.w, b.h,
				[]float32{out.At(n, 2, y, x), out.At(n, 3, y, x), out.At(n, 4, y, x), out.At(n, 5, y, x)}, b.reg)
		}
	}

	pnet := load("PNet.dat")
	for level, boxes := range ref.pnet {
		scale, size := ref.scales[level], ref.pyr[level]
		in := cnn.NewTensor(1, 3, size[1], size[0])
		toPlanes(t, img, size[0], size[1], in, 0)
		out, err := pnet.Run(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range boxes {
			found := false
			for cx := 0; cx < out.W && !found; cx++ {
				for cy := 0; cy < out.H && !found; cy++ {
					x1, y1 := int(float32(2*cx+1)/scale), int(float32(2*cy+1)/scale)
					x2 := int(float32(2*cx+12) / scale)
					if x1 == b.x && y1 == b.y && x2-x1 == b.w {
						found = true
						compare("PNet level "+strconv.Itoa(level), b, out, 0, cy, cx)
					}
				}
			}
			if !found {
				t.Errorf("PNet level %d: no cell gives box (%d,%d,%d,%d)", level, b.x, b.y, b.w, b.h)
			}
		}
	}

	for _, stage := range []struct {
		file  string
		side  int
		boxes []stageBox
	}{{"RNet.dat", 24, ref.rnet}, {"ONet.dat", 48, ref.onet}} {
		net := load(stage.file)
		in := cnn.NewTensor(len(stage.boxes), 3, stage.side, stage.side)
		for i, b := range stage.boxes {
			c := crop(t, img, b.x, b.y, b.w, b.h)
			toPlanes(t, c, stage.side, stage.side, in, i)
			c.Close()
		}
		out, err := net.Run(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range stage.boxes {
			compare(stage.file[:4], b, out, i, 0, 0)
		}
	}

	t.Logf("%d boxes checked, %d with bit-identical regressions; max |reg diff| %.3g, max |prob diff| %.3g", checked, exact, worstReg, worstProb)
	if checked != 19+19+9 {
		t.Errorf("checked %d boxes, want 47", checked)
	}
	// The regressions must be bit-identical. The probabilities go through
	// exp, where Go's math.Exp and OpenCV's cv::exp may differ in the last
	// float32 bit.
	if exact != checked {
		t.Errorf("%d of %d boxes differ from OpenFace (max %g)", checked-exact, checked, worstReg)
	}
	if worstProb > 1.2e-7 {
		t.Errorf("face probabilities differ from OpenFace by up to %g, want <= 1.2e-7", worstProb)
	}
}
