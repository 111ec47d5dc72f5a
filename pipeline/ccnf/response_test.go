package ccnf

import (
	"context"
	"encoding/csv"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"gocv.io/x/gocv"

	"facemirror/internal/sharedtest"
	"facemirror/pipeline/pdm"
)

const v01 = "v01_talking_frontal_glasses_480x360"

func loadPDM(t testing.TB) *pdm.Model {
	t.Helper()
	md, err := pdm.Load(modelPath(t, "model/pdms/In-the-wild_aligned_PDM_68.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return md
}

// videoFrame returns frame i of a shared video in grey (OpenCV's BGR2GRAY).
func videoFrame(t testing.TB, video string, index int) *image.Gray {
	t.Helper()
	vc, err := gocv.VideoCaptureFile(sharedtest.Media(t, "videos/"+video+".mp4"))
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	bgr, gray := gocv.NewMat(), gocv.NewMat()
	defer bgr.Close()
	defer gray.Close()
	for i := 0; i <= index; i++ {
		if !vc.Read(&bgr) || bgr.Empty() {
			t.Fatalf("%s has no frame %d", video, index)
		}
	}
	gocv.CvtColor(bgr, &gray, gocv.ColorBGRToGray)
	return &image.Gray{Pix: gray.ToBytes(), Stride: gray.Cols(), Rect: image.Rect(0, 0, gray.Cols(), gray.Rows())}
}

// referenceParams returns OpenFace's CLNF parameters after frame index of
// the video (fullprec frames file).
func referenceParams(t testing.TB, video string, index int) (pdm.Global, []float32) {
	t.Helper()
	f, err := os.Open(sharedtest.Reference(t, "fullprec/"+video+"_frames.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for i := 0; ; i++ {
		rec, err := r.Read()
		if err == io.EOF {
			t.Fatalf("no frame %d", index)
		}
		if err != nil {
			t.Fatal(err)
		}
		if i != index {
			continue
		}
		get := func(name string) float32 {
			v, err := strconv.ParseFloat(rec[col[name]], 32)
			if err != nil {
				t.Fatal(err)
			}
			return float32(v)
		}
		g := pdm.Global{Scale: get("clnf_p_scale"), Rx: get("clnf_p_rx"), Ry: get("clnf_p_ry"), Rz: get("clnf_p_rz"), Tx: get("clnf_p_tx"), Ty: get("clnf_p_ty")}
		local := make([]float32, 34)
		for k := range local {
			local[k] = get("clnf_p_" + strconv.Itoa(k))
		}
		return g, local
	}
}

// reference64 computes one expert's response in float64 straight from
// the definition (row-major loops, no im2col, no BLAS order, Sigma from a
// float64 inverse), for comparison to float32 accuracy.
func reference64(t *testing.T, s *Scale, e *Expert, aoi []float32, ws int) []float64 {
	aw := ws + e.Width - 1
	n := ws * ws
	resp := make([]float64, n)
	for y := 0; y < ws; y++ {
		for x := 0; x < ws; x++ {
			var mean float64
			for yy := 0; yy < e.Height; yy++ {
				for xx := 0; xx < e.Width; xx++ {
					mean += float64(aoi[(y+yy)*aw+x+xx])
				}
			}
			mean /= float64(e.Width * e.Height)
			var ss float64
			for yy := 0; yy < e.Height; yy++ {
				for xx := 0; xx < e.Width; xx++ {
					d := float64(aoi[(y+yy)*aw+x+xx]) - mean
					ss += d * d
				}
			}
			norm := math.Sqrt(ss)
			if norm == 0 {
				norm = 1
			}
			for _, nr := range e.Neurons {
				if nr.Alpha <= alphaCutoff {
					continue
				}
				var dot float64
				for yy := 0; yy < e.Height; yy++ {
					for xx := 0; xx < e.Width; xx++ {
						dot += float64(nr.Weights[yy*e.Width+xx]) * (float64(aoi[(y+yy)*aw+x+xx]) - mean) / norm
					}
				}
				z := nr.Bias + nr.NormWeights*dot
				resp[y*ws+x] += 2 * nr.Alpha / (1 + math.Exp(-z))
			}
		}
	}
	var sumAlpha float64
	for _, nr := range e.Neurons {
		sumAlpha += nr.Alpha
	}
	inv := gocv.NewMatWithSize(n, n, gocv.MatTypeCV64F)
	defer inv.Close()
	d, _ := inv.DataPtrFloat64()
	comps := s.components(ws)
	for k := range d {
		v := 0.0
		if k/n == k%n {
			v = sumAlpha
		}
		for b, c := range comps {
			v += e.Betas[b] * float64(c[k])
		}
		d[k] = 2 * v
	}
	sg := gocv.NewMat()
	defer sg.Close()
	gocv.Invert(inv, &sg, gocv.SolveDecompositionLu)
	sd, _ := sg.DataPtrFloat64()
	out := make([]float64, n)
	minV := math.Inf(1)
	for j := range out {
		for k := 0; k < n; k++ {
			out[j] += sd[j*n+k] * resp[k]
		}
		minV = math.Min(minV, out[j])
	}
	if minV < 0 {
		for j := range out {
			out[j] -= minV
		}
	}
	return out
}

// TestExpertResponseAgainstFloat64 checks every visible landmark's
// response on a real frame against the float64 definition, for each
// window size the tracker uses.
func TestExpertResponseAgainstFloat64(t *testing.T) {
	md := loadPDM(t)
	img := videoFrame(t, v01, 1)
	g, local := referenceParams(t, v01, 0)
	for _, c := range []struct {
		file string
		ws   int
	}{{general025, 11}, {general035, 9}, {general05, 7}} {
		s := loadScale(t, c.file)
		var r Responses
		if err := s.Response(context.Background(), img, md, g, local, c.ws, nil, &r); err != nil {
			t.Fatal(err)
		}
		a1, b1 := r.RefToImg[0][0], -r.RefToImg[0][1]
		worst := 0.0
		for i := 0; i < 68; i++ {
			if !s.Visible(r.View, i) {
				continue
			}
			e := s.Experts[r.View][i]
			aoi := AreaOfInterest(img, r.Landmarks[i], r.Landmarks[i+68], a1, b1, c.ws+10, c.ws+10, nil)
			want := reference64(t, s, e, aoi, c.ws)
			var peak float64
			for _, v := range want {
				peak = math.Max(peak, v)
			}
			for k, v := range want {
				worst = math.Max(worst, math.Abs(float64(r.Maps[i][k])-v)/peak)
			}
		}
		t.Logf("ws %d: worst difference %.2g of the map's peak", c.ws, worst)
		if worst > 1e-4 {
			t.Errorf("ws %d: responses differ from the float64 definition by %.3g of the peak", c.ws, worst)
		}
	}
}

// TestResponseGeometry checks on a real frame that the maps are in the
// reference frame with x along columns: moving the shape 2 px right in
// the image moves every response 2·(patch scaling/scale) cells left.
func TestResponseGeometry(t *testing.T) {
	md := loadPDM(t)
	img := videoFrame(t, v01, 1)
	g, local := referenceParams(t, v01, 0)
	s := loadScale(t, general035)
	const ws = 9
	centroid := func(g pdm.Global) (cx, cy float64) {
		var r Responses
		if err := s.Response(context.Background(), img, md, g, local, ws, nil, &r); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range r.Maps {
			if m == nil {
				continue
			}
			var sx, sy, sw float64
			for k, v := range m {
				sx += float64(k%ws) * float64(v)
				sy += float64(k/ws) * float64(v)
				sw += float64(v)
			}
			cx += sx / sw
			cy += sy / sw
			n++
		}
		return cx / float64(n), cy / float64(n)
	}
	x0, y0 := centroid(g)
	g2 := g
	g2.Tx += 2
	x1, y1 := centroid(g2)
	g3 := g
	g3.Ty -= 2
	x2, y2 := centroid(g3)
	cells := 2 * 0.35 / float64(g.Scale)
	t.Logf("centroid (%.3f, %.3f); shape moved right: (%+.3f, %+.3f); moved up: (%+.3f, %+.3f); 2 px = %.3f cells", x0, y0, x1-x0, y1-y0, x2-x0, y2-y0, cells)
	if !(x1-x0 < -0.3*cells) || math.Abs(y1-y0) > 0.15*cells {
		t.Errorf("moving the shape right moved the responses by (%+.3f, %+.3f) cells", x1-x0, y1-y0)
	}
	if !(y2-y0 > 0.3*cells) || math.Abs(x2-x0) > 0.15*cells {
		t.Errorf("moving the shape up moved the responses by (%+.3f, %+.3f) cells", x2-x0, y2-y0)
	}
}

func TestResponseDriver(t *testing.T) {
	md := loadPDM(t)
	img := videoFrame(t, v01, 1)
	g, local := referenceParams(t, v01, 0)
	s := loadScale(t, general05)
	const ws = 7
	var one, two, none Responses
	ctx := context.Background()
	if err := s.Response(ctx, img, md, g, local, ws, NewWorkspace(1), &one); err != nil {
		t.Fatal(err)
	}
	if err := s.Response(ctx, img, md, g, local, ws, NewWorkspace(2), &two); err != nil {
		t.Fatal(err)
	}
	if err := s.Response(ctx, img, md, g, local, ws, nil, &none); err != nil {
		t.Fatal(err)
	}
	want, _ := md.Shape2D(g, local, nil)
	for i := range want {
		if one.Landmarks[i] != want[i] {
			t.Fatalf("landmark value %d: %v, want CalcShape2D %v", i, one.Landmarks[i], want[i])
		}
	}
	if one.View != 0 || one.WindowSize != ws {
		t.Errorf("view %d, window %d", one.View, one.WindowSize)
	}
	for i := range one.Maps {
		if len(one.Maps[i]) != ws*ws {
			t.Fatalf("landmark %d map has %d values", i, len(one.Maps[i]))
		}
		minV := float32(math.Inf(1))
		for k, v := range one.Maps[i] {
			if v != two.Maps[i][k] || v != none.Maps[i][k] {
				t.Fatalf("landmark %d: results depend on the workers", i)
			}
			minV = min(minV, v)
		}
		if minV < 0 {
			t.Errorf("landmark %d: negative response %v", i, minV)
		}
	}
	// The two similarities are inverses, and with no rotation the scale is
	// the patch scaling over the face scale.
	p := one.ImgToRef
	q := one.RefToImg
	for i := 0; i < 2; i++ {
		for j := 0; j < 2; j++ {
			v := p[i][0]*q[0][j] + p[i][1]*q[1][j]
			if want := float32(map[bool]int{true: 1}[i == j]); math.Abs(float64(v-want)) > 1e-6 {
				t.Errorf("ImgToRef·RefToImg[%d][%d] = %v", i, j, v)
			}
		}
	}
	if sc := math.Hypot(float64(p[0][0]), float64(p[1][0])); math.Abs(sc-0.5/float64(g.Scale)) > 0.01*sc {
		t.Errorf("similarity scale %v, want about %v", sc, 0.5/float64(g.Scale))
	}

	// A profile rotation selects view 4 (yaw +70°), whose invisible
	// landmarks get no map; the buffers are reused.
	g70 := g
	g70.Ry = 1.2
	if err := s.Response(ctx, img, md, g70, local, ws, nil, &one); err != nil {
		t.Fatal(err)
	}
	if one.View != 4 {
		t.Fatalf("view %d for yaw 1.2, want 4", one.View)
	}
	for i, m := range one.Maps {
		if (m == nil) == s.Visible(4, i) {
			t.Errorf("landmark %d: map present %v, visible %v", i, m != nil, s.Visible(4, i))
		}
	}

	// Bad input is rejected without panicking.
	if err := s.Response(ctx, nil, md, g, local, ws, nil, &one); err == nil {
		t.Error("nil image accepted")
	}
	if err := s.Response(ctx, img, md, g, local[:3], ws, nil, &one); err == nil {
		t.Error("3 local parameters accepted")
	}
	if err := s.Response(ctx, img, md, g, local, 0, nil, &one); err == nil {
		t.Error("window 0 accepted")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Response(cancelled, img, md, g, local, ws, nil, &one); err == nil {
		t.Error("cancelled context ignored")
	}
	inner := loadScale(t, inner)
	if err := inner.Response(ctx, img, md, g, local, ws, nil, &one); err == nil {
		t.Error("68-point PDM accepted for the 51-point inner experts")
	}
	// Far outside the image every area of interest is black, so each map
	// is its expert's response to a zero area.
	gFar := g
	gFar.Tx, gFar.Ty = -5000, -5000
	if err := s.Response(ctx, img, md, gFar, local, ws, nil, &one); err != nil {
		t.Fatal(err)
	}
	zero := make([]float32, (ws+10)*(ws+10))
	for i, m := range one.Maps {
		want, err := s.ExpertResponse(one.View, i, zero, ws, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range m {
			if v != want[k] {
				t.Fatalf("landmark %d outside the image: %v, want %v", i, v, want[k])
			}
		}
	}
	if _, err := s.ExpertResponse(one.View, 0, zero[:5], ws, nil, nil); err == nil {
		t.Error("short area of interest accepted")
	}
}

// TestConstantPatch is a hand case: on a flat area every patch has zero
// contrast, so im2col leaves it at 0 (norm 1), every pre-activation is the
// bias, and the response before Sigma is the same everywhere.
func TestConstantPatch(t *testing.T) {
	s := loadScale(t, general035)
	e := s.Experts[0][30]
	const ws = 9
	aoi := make([]float32, (ws+10)*(ws+10))
	for i := range aoi {
		aoi[i] = 117
	}
	var sc scratch
	sg, _ := s.Sigma(0, 30, ws)
	out := make([]float32, ws*ws)
	expertResponse(e, sg, aoi, ws+10, ws+10, out, &sc)
	for j, nr := range e.Neurons {
		for q := 0; q < ws*ws; q++ {
			if sc.z[j*ws*ws+q] != float32(nr.Bias) {
				t.Fatalf("neuron %d position %d: pre-activation %v, want bias %v", j, q, sc.z[j*ws*ws+q], float32(nr.Bias))
			}
		}
	}
	var want float32
	for _, nr := range e.Neurons {
		if nr.Alpha > alphaCutoff {
			want = float32(float64(want) + 2*nr.Alpha/(1+math.Exp(-float64(float32(nr.Bias)))))
		}
	}
	for q, v := range sc.resp {
		if v != want {
			t.Fatalf("position %d: response %v, want %v", q, v, want)
		}
	}
	// Σ·(c·1) is c times Sigma's row sums.
	for j := 0; j < ws*ws; j++ {
		var rs float64
		for k := 0; k < ws*ws; k++ {
			rs += float64(sg[j*ws*ws+k])
		}
		if d := math.Abs(float64(out[j]) - float64(want)*rs); d > 1e-5*math.Abs(float64(want)*rs)+1e-6 {
			t.Fatalf("output %d: %v, want about %v", j, out[j], float64(want)*rs)
		}
	}
}

func benchmarkResponse(b *testing.B, file string, ws, workers int) {
	md := loadPDM(b)
	img := videoFrame(b, v01, 1)
	g, local := referenceParams(b, v01, 0)
	s := loadScale(b, file)
	w := NewWorkspace(workers)
	var r Responses
	ctx := context.Background()
	if err := s.Response(ctx, img, md, g, local, ws, w, &r); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Response(ctx, img, md, g, local, ws, w, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResponse measures one Patch_experts::Response call (68
// landmarks of the frontal view) at the window sizes OpenFace uses:
// 11 at scale 0.25 (detection only), 9 at 0.35 and 7 at 0.5 (every frame).
func BenchmarkResponse(b *testing.B) {
	for _, c := range []struct {
		name string
		file string
		ws   int
	}{{"ws11", general025, 11}, {"ws9", general035, 9}, {"ws7", general05, 7}} {
		for _, workers := range []int{1, 2} {
			b.Run(c.name+"/workers"+strconv.Itoa(workers), func(b *testing.B) { benchmarkResponse(b, c.file, c.ws, workers) })
		}
	}
}

var _ = filepath.Join

// TestConcurrentResponses runs Response from several goroutines on one
// freshly loaded Scale (so the Sigma cache fills concurrently), each with
// its own Workspace, and requires identical results.
func TestConcurrentResponses(t *testing.T) {
	md := loadPDM(t)
	img := videoFrame(t, v01, 1)
	g, local := referenceParams(t, v01, 0)
	s := loadScale(t, general035)
	const goroutines = 4
	results := make([]Responses, goroutines)
	errs := make(chan error, goroutines)
	for k := 0; k < goroutines; k++ {
		go func(k int) {
			errs <- s.Response(context.Background(), img, md, g, local, 9, NewWorkspace(2), &results[k])
		}(k)
	}
	for k := 0; k < goroutines; k++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for k := 1; k < goroutines; k++ {
		for i := range results[0].Maps {
			for c, v := range results[0].Maps[i] {
				if results[k].Maps[i][c] != v {
					t.Fatalf("goroutine %d landmark %d differs", k, i)
				}
			}
		}
	}
}
