package onnxrt

import (
	"context"
	"encoding/csv"
	"fmt"
	"image"
	"math"
	"os"
	"strconv"
	"testing"

	"gocv.io/x/gocv"

	"facemirror/internal/sharedtest"
	"facemirror/models/cnn"
)

// Real pictures, as MTCNN prepares them: the BGR frame as float32, resized
// with INTER_LINEAR, normalised to (x-127.5)/128 and split into R, G, B
// planes.

func floatImage(t testing.TB, m gocv.Mat) gocv.Mat {
	t.Helper()
	if m.Empty() {
		t.Fatal("empty image")
	}
	f := gocv.NewMat()
	m.ConvertTo(&f, gocv.MatTypeCV32FC3)
	return f
}

func readImage(t testing.TB, rel string) gocv.Mat {
	t.Helper()
	m := gocv.IMRead(sharedtest.Media(t, rel), gocv.IMReadColor)
	defer m.Close()
	return floatImage(t, m)
}

func readFirstFrame(t testing.TB, rel string) gocv.Mat {
	t.Helper()
	vc, err := gocv.VideoCaptureFile(sharedtest.Media(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	m := gocv.NewMat()
	defer m.Close()
	if !vc.Read(&m) {
		t.Fatalf("%s: no frame", rel)
	}
	return floatImage(t, m)
}

// putPlanes resizes img to w×h and writes it as sample b of dst.
func putPlanes(t testing.TB, img gocv.Mat, w, h int, dst cnn.Tensor, b int) {
	t.Helper()
	r := gocv.NewMat()
	defer r.Close()
	gocv.Resize(img, &r, image.Pt(w, h), 0, 0, gocv.InterpolationLinear)
	px, err := r.DataPtrFloat32()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < w*h; i++ {
		for c := 0; c < 3; c++ {
			dst.Data[(b*3+c)*w*h+i] = (px[i*3+2-c] - 127.5) * 0.0078125
		}
	}
}

// squareCrop cuts the MTCNN canvas for a square box of side n at (x, y):
// (n+1)×(n+1), shifted one pixel up and left, zero outside the image.
func squareCrop(t testing.TB, img gocv.Mat, x, y, n int) gocv.Mat {
	t.Helper()
	canvas := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(0, 0, 0, 0), n+1, n+1, gocv.MatTypeCV32FC3)
	dst, err := canvas.DataPtrFloat32()
	if err != nil {
		t.Fatal(err)
	}
	src, err := img.DataPtrFloat32()
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r <= n; r++ {
		for c := 0; c <= n; c++ {
			ix, iy := x-1+c, y-1+r
			if ix >= 0 && iy >= 0 && ix < img.Cols() && iy < img.Rows() {
				copy(dst[(r*(n+1)+c)*3:][:3], src[(iy*img.Cols()+ix)*3:])
			}
		}
	}
	return canvas
}

type box struct{ x, y, n int }

// faceBoxes returns square boxes around the face OpenFace found in a file
// (reference/mtcnn/mtcnn_boxes.csv, frame 0), and shifted and scaled
// variants of it, like the candidates RNet and ONet see.
func faceBoxes(t testing.TB, video string) []box {
	t.Helper()
	f, err := os.Open(sharedtest.Reference(t, "mtcnn/mtcnn_boxes.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows[1:] {
		if row[0] != video || row[1] != "0" || row[2] != "1" {
			continue
		}
		var v [4]float64
		for i := range v {
			if v[i], err = strconv.ParseFloat(row[4+i], 64); err != nil {
				t.Fatal(err)
			}
		}
		n := int(math.Max(v[2], v[3]))
		cx, cy := int(v[0]+v[2]/2), int(v[1]+v[3]/2)
		var boxes []box
		for _, d := range []struct{ dx, dy, dn int }{{0, 0, 0}, {-9, 4, 0}, {7, -6, 0}, {0, 0, -n / 5}, {3, 2, n / 4}, {-n / 3, 0, 0}} {
			m := n + d.dn
			boxes = append(boxes, box{cx - m/2 + d.dx, cy - m/2 + d.dy, m})
		}
		return boxes
	}
	t.Fatalf("no frame-0 face for %s in mtcnn_boxes.csv", video)
	return nil
}

// cropBatch stacks the boxes' crops of every image, resized to side×side.
func cropBatch(t testing.TB, side int, imgs []gocv.Mat, boxes [][]box) cnn.Tensor {
	t.Helper()
	total := 0
	for _, b := range boxes {
		total += len(b)
	}
	in := cnn.NewTensor(total, 3, side, side)
	k := 0
	for i, img := range imgs {
		for _, b := range boxes[i] {
			c := squareCrop(t, img, b.x, b.y, b.n)
			putPlanes(t, c, side, side, in, k)
			c.Close()
			k++
		}
	}
	return in
}

type agreementCase struct {
	name string
	net  string
	in   cnn.Tensor
}

// agreementCases builds the inputs: whole downscaled frames for PNet (a
// batch of two as well), and batches of face crops for RNet and ONet.
func agreementCases(t testing.TB) []agreementCase {
	t.Helper()
	v01 := readFirstFrame(t, "videos/v01_talking_frontal_glasses_480x360.mp4")
	i01 := readImage(t, "images/i01_single_face_smile_572x562.jpg")
	i03 := readImage(t, "images/i03_posed_surprise_512x512.jpg")
	defer v01.Close()
	defer i01.Close()
	defer i03.Close()

	whole := func(img gocv.Mat, w, h int) cnn.Tensor {
		in := cnn.NewTensor(1, 3, h, w)
		putPlanes(t, img, w, h, in, 0)
		return in
	}
	pair := cnn.NewTensor(2, 3, 128, 128)
	putPlanes(t, i01, 128, 128, pair, 0)
	putPlanes(t, i03, 128, 128, pair, 1)

	imgs := []gocv.Mat{v01, i01, i03}
	boxes := [][]box{
		faceBoxes(t, "v01_talking_frontal_glasses_480x360"),
		faceBoxes(t, "i01_single_face_smile_572x562"),
		faceBoxes(t, "i03_posed_surprise_512x512"),
	}
	return []agreementCase{
		{"PNet v01 96x72", "PNet.dat", whole(v01, 96, 72)},
		{"PNet i01 115x113", "PNet.dat", whole(i01, 115, 113)},
		{"PNet i01 286x281", "PNet.dat", whole(i01, 286, 281)},
		{"PNet i01+i03 2x128x128", "PNet.dat", pair},
		{"RNet 18 face crops", "RNet.dat", cropBatch(t, 24, imgs, boxes)},
		{"ONet 18 face crops", "ONet.dat", cropBatch(t, 48, imgs, boxes)},
	}
}

// TestAgreementWithGo converts each real network, runs it through ONNX
// Runtime and through the plain-Go forward pass on the same real inputs,
// and requires every output to agree within 1e-4.
func TestAgreementWithGo(t *testing.T) {
	r := openRuntime(t, EPCPU)
	nets := map[string]*cnn.Net{}
	sessions := map[string]*Session{}
	for _, f := range []string{"PNet.dat", "RNet.dat", "ONet.dat"} {
		nets[f] = loadNet(t, f)
		sessions[f] = session(t, r, nets[f], f[:4])
	}
	ctx := context.Background()
	for _, tc := range agreementCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			want, err := nets[tc.net].Run(ctx, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sessions[tc.net].Run(ctx, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.N != want.N || got.C != want.C || got.H != want.H || got.W != want.W {
				t.Fatalf("ONNX Runtime shape %dx%dx%dx%d, Go %dx%dx%dx%d", got.N, got.C, got.H, got.W, want.N, want.C, want.H, want.W)
			}
			worst, at := 0.0, 0
			for i := range got.Data {
				if d := math.Abs(float64(got.Data[i] - want.Data[i])); d > worst || math.IsNaN(d) {
					worst, at = d, i
				}
			}
			t.Logf("%d outputs, max |ONNX Runtime - Go| = %.3g", len(got.Data), worst)
			if !(worst <= 1e-4) {
				t.Errorf("output %d: ONNX Runtime %g, Go %g", at, got.Data[at], want.Data[at])
			}
		})
	}
}

func BenchmarkNets(b *testing.B) {
	r := openRuntime(b, EPCPU)
	i01 := readImage(b, "images/i01_single_face_smile_572x562.jpg")
	defer i01.Close()
	boxes := faceBoxes(b, "i01_single_face_smile_572x562")
	crops := func(side, n int) cnn.Tensor {
		bs := make([]box, n)
		for i := range bs {
			bs[i] = boxes[i%len(boxes)]
		}
		return cropBatch(b, side, []gocv.Mat{i01}, [][]box{bs})
	}
	whole := func(w, h int) cnn.Tensor {
		in := cnn.NewTensor(1, 3, h, w)
		putPlanes(b, i01, w, h, in, 0)
		return in
	}
	cases := []struct {
		net string
		in  cnn.Tensor
	}{
		{"PNet.dat", whole(96, 72)},   // largest pyramid level of a 480x360 frame
		{"PNet.dat", whole(288, 216)}, // ... of a 1440x1080 frame
		{"RNet.dat", crops(24, 16)},
		{"ONet.dat", crops(48, 4)},
	}
	ctx := context.Background()
	for _, bc := range cases {
		net := loadNet(b, bc.net)
		runners := []struct {
			name string
			r    cnn.Runner
		}{{"go", net}, {"ort", session(b, r, net, bc.net[:4])}}
		for _, run := range runners {
			name := fmt.Sprintf("%s/%dx%dx%d/%s", bc.net[:4], bc.in.N, bc.in.H, bc.in.W, run.name)
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					if _, err := run.r.Run(ctx, bc.in); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
