package ccnf

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"facemirror/internal/sharedtest"
)

const (
	general025 = "model/patch_experts/ccnf_patches_0.25_general.txt"
	general035 = "model/patch_experts/ccnf_patches_0.35_general.txt"
	general05  = "model/patch_experts/ccnf_patches_0.5_general.txt"
	inner      = "model/model_inner/patch_experts/ccnf_patches_1.00_inner.txt"
	leftEye1   = "model/model_eye/patch_experts/left_ccnf_patches_1.00_synth_lid_.txt"
	leftEye15  = "model/model_eye/patch_experts/left_ccnf_patches_1.50_synth_lid_.txt"
	rightEye1  = "model/model_eye/patch_experts/ccnf_patches_1.00_synth_lid_.txt"
	rightEye15 = "model/model_eye/patch_experts/ccnf_patches_1.50_synth_lid_.txt"
)

func modelPath(t testing.TB, rel string) string {
	return filepath.Join(sharedtest.Models(t), filepath.FromSlash(rel))
}

func loadScale(t testing.TB, rel string) *Scale {
	t.Helper()
	s, err := Load(modelPath(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFileFacts checks the parsed files against CLNF_FACTS §1.4.
func TestFileFacts(t *testing.T) {
	for _, c := range []struct {
		file               string
		scaling            float64
		views, points      int
		windows            []int
		comps              int
		empty              int
		minAlpha, maxAlpha float64
		smallAlpha         int
		minConf, maxConf   float64
	}{
		{general025, 0.25, 7, 68, []int{7, 9, 11, 15}, 3, 66, 7.2231e-5, 16.0355, 4, 0.16498, 0.72153},
		{general035, 0.35, 7, 68, []int{7, 9, 11, 15}, 3, 66, 1.9607e-4, 15.2192, 0, 0.09422, 0.68199},
		{general05, 0.5, 7, 68, []int{7, 9, 11, 15}, 3, 66, 2.0624e-4, 14.0101, 0, 0.04504, 0.66193},
		{inner, 1, 7, 51, []int{7, 9, 11, 15}, 3, 50, 1.7369, 11.4922, 0, 0.04408, 0.52656},
		{leftEye1, 1, 1, 28, []int{3, 5, 7, 9, 11, 15}, 0, 0, 3.1842e-6, 21.5767, 4, 0.2464, 0.50955},
		{leftEye15, 1.5, 1, 28, []int{3, 5, 7, 9, 11, 15}, 0, 0, -1, -1, -1, -1, -1},
		{rightEye1, 1, 1, 28, []int{7, 9, 11, 15}, 0, 0, -1, -1, -1, -1, -1},
		{rightEye15, 1.5, 1, 28, []int{7, 9, 11, 15}, 0, 0, 2.8471e-5, 17.8157, 2, 0.09377, 0.42057},
	} {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			s := loadScale(t, c.file)
			if s.PatchScaling != c.scaling || s.NumViews() != c.views || s.NumPoints() != c.points {
				t.Fatalf("scaling %v, %d views, %d points; want %v, %d, %d", s.PatchScaling, s.NumViews(), s.NumPoints(), c.scaling, c.views, c.points)
			}
			if len(s.Windows) != len(c.windows) {
				t.Fatalf("%d windows, want %v", len(s.Windows), c.windows)
			}
			for i, w := range s.Windows {
				if w.Size != c.windows[i] || len(w.Components) != c.comps {
					t.Errorf("window %d: size %d with %d components, want %d with %d", i, w.Size, len(w.Components), c.windows[i], c.comps)
				}
			}
			empty, small := 0, 0
			minA, maxA, minC, maxC := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
			for v := range s.Experts {
				for i, e := range s.Experts[v] {
					if e.Empty() != !s.Visible(v, i) {
						t.Errorf("view %d landmark %d: empty %v but visible %v", v, i, e.Empty(), s.Visible(v, i))
					}
					if e.Empty() {
						empty++
						continue
					}
					if e.Width != 11 || e.Height != 11 || len(e.Neurons) != 7 || len(e.Betas) != c.comps {
						t.Errorf("view %d landmark %d: %d×%d, %d neurons, %d betas", v, i, e.Width, e.Height, len(e.Neurons), len(e.Betas))
					}
					minC, maxC = math.Min(minC, e.Confidence), math.Max(maxC, e.Confidence)
					for _, nr := range e.Neurons {
						if nr.Type != 0 {
							t.Errorf("neuron type %d", nr.Type)
						}
						minA, maxA = math.Min(minA, nr.Alpha), math.Max(maxA, nr.Alpha)
						if nr.Alpha <= alphaCutoff {
							small++
						}
					}
				}
			}
			if empty != c.empty {
				t.Errorf("%d empty experts, want %d", empty, c.empty)
			}
			if c.minAlpha < 0 {
				return
			}
			near := func(got, want float64) bool { return math.Abs(got-want) <= 1e-4*math.Max(1, math.Abs(want)) }
			if !near(minA, c.minAlpha) || !near(maxA, c.maxAlpha) || small != c.smallAlpha {
				t.Errorf("alpha %.6g..%.6g with %d ≤ 1e-4; want %.6g..%.6g with %d", minA, maxA, small, c.minAlpha, c.maxAlpha, c.smallAlpha)
			}
			if !near(minC, c.minConf) || !near(maxC, c.maxConf) {
				t.Errorf("confidence %.6g..%.6g, want %.6g..%.6g", minC, maxC, c.minConf, c.maxConf)
			}
		})
	}
}

func TestViewsAndVisibility(t *testing.T) {
	s := loadScale(t, general025)
	yaws := []float64{0, -20, -45, -70, 70, 45, 20}
	for v, yaw := range yaws {
		c := s.Centers[v]
		if c[0] != 0 || c[2] != 0 || c[1] != (yaw*math.Pi)*(1.0/180.0) {
			t.Errorf("view %d centre %v, want yaw %v°", v, c, yaw)
		}
	}
	invisible := map[int][]int{
		3: {9, 10, 11, 12, 13, 14, 15, 16, 21, 22, 23, 24, 25, 26, 32, 34, 35, 39, 42, 43, 44, 45, 46, 47, 52, 53, 54, 55, 56, 60, 63, 64, 65},
		4: {0, 1, 2, 3, 4, 5, 6, 7, 17, 18, 19, 20, 21, 22, 31, 32, 34, 36, 37, 38, 39, 40, 41, 42, 48, 49, 50, 58, 59, 60, 61, 64, 67},
	}
	for v := 0; v < 7; v++ {
		hidden := map[int]bool{}
		for _, i := range invisible[v] {
			hidden[i] = true
		}
		for i := 0; i < 68; i++ {
			if s.Visible(v, i) == hidden[i] {
				t.Errorf("view %d landmark %d: visible %v", v, i, s.Visible(v, i))
			}
		}
	}
	in := loadScale(t, inner)
	for _, v := range []int{3, 4} {
		n := 0
		for i := 0; i < 51; i++ {
			if in.Visible(v, i) {
				n++
			}
		}
		if n != 26 {
			t.Errorf("inner view %d: %d visible, want 26", v, n)
		}
	}
	for _, c := range []struct {
		yaw  float32
		want int
	}{{0, 0}, {-0.3, 1}, {-0.6, 2}, {-1.1, 3}, {-1.6, 3}, {1.1, 4}, {0.7, 5}, {0.2, 6}, {0.17, 0}} {
		if got := s.ViewIndex(pdmEuler(0, c.yaw, 0)); got != c.want {
			t.Errorf("ViewIndex(yaw %v) = %d, want %d", c.yaw, got, c.want)
		}
	}
}

// The Patch_experts object keeps the sigma components of the last file it
// read and uses them for every scale; Scale uses its own, which is the
// same thing because all CCNF files share the components.
func TestSigmaComponentsShared(t *testing.T) {
	ref := loadScale(t, general05)
	for _, f := range []string{general025, general035, inner} {
		s := loadScale(t, f)
		for w := range ref.Windows {
			for c := range ref.Windows[w].Components {
				a, b := ref.Windows[w].Components[c], s.Windows[w].Components[c]
				for k := range a {
					if a[k] != b[k] {
						t.Fatalf("%s window %d component %d differs from the last general file", f, w, c)
					}
				}
			}
		}
	}
}

func TestWeightLayout(t *testing.T) {
	s := loadScale(t, general035)
	e := s.Experts[0][30]
	k := 1 + e.Width*e.Height
	for j, nr := range e.Neurons {
		row := e.weights[j*k : (j+1)*k]
		if row[0] != float32(nr.Bias) {
			t.Fatalf("neuron %d bias %v, want %v", j, row[0], float32(nr.Bias))
		}
		for yy := 0; yy < e.Height; yy++ {
			for xx := 0; xx < e.Width; xx++ {
				if got, want := row[1+xx*e.Height+yy], nr.Weights[yy*e.Width+xx]*float32(nr.NormWeights); got != want {
					t.Fatalf("neuron %d W[%d][%d]: %v, want %v", j, yy, xx, got, want)
				}
			}
		}
	}
}

// floatMat copies a float32 slice into a new rows×cols CV_32F Mat.
func floatMat(t testing.TB, rows, cols int, v []float32) gocv.Mat {
	t.Helper()
	m := gocv.NewMatWithSize(rows, cols, gocv.MatTypeCV32F)
	d, err := m.DataPtrFloat32()
	if err != nil {
		t.Fatal(err)
	}
	copy(d, v)
	return m
}

// openCVSigma evaluates ComputeSigmas with OpenCV's own operations.
func openCVSigma(t *testing.T, e *Expert, ws int, comps [][]float32) []float32 {
	n := ws * ws
	var sum float32
	for _, nr := range e.Neurons {
		sum = float32(float64(sum) + nr.Alpha)
	}
	q1 := gocv.Eye(n, n, gocv.MatTypeCV32F)
	defer q1.Close()
	q1.MultiplyFloat(sum)
	q2 := gocv.Zeros(n, n, gocv.MatTypeCV32F)
	defer q2.Close()
	for b, c := range comps {
		cm := floatMat(t, n, n, c)
		gocv.ScaleAdd(cm, float64(float32(e.Betas[b])), q2, &q2)
		cm.Close()
	}
	inv := gocv.NewMat()
	defer inv.Close()
	gocv.Add(q1, q2, &inv)
	inv.MultiplyFloat(2)
	sigma := gocv.NewMat()
	defer sigma.Close()
	gocv.Invert(inv, &sigma, gocv.SolveDecompositionCholesky)
	d, err := sigma.DataPtrFloat32()
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), d...)
}

// TestSigmaMatchesOpenCV compares Sigma with cv::scaleAdd, cv::add and
// cv::invert(DECOMP_CHOLESKY) run by the local OpenCV: exactly below 100
// unknowns, where OpenCV uses its own Cholesky, and to float accuracy for
// ws = 11, where OpenCV hands the inverse to LAPACK.
func TestSigmaMatchesOpenCV(t *testing.T) {
	for _, c := range []struct {
		file      string
		view, lmk int
		ws        int
		exact     bool
	}{
		{general035, 0, 30, 9, true},
		// These three have elements where cv::scaleAdd's fused
		// multiply-add differs from a separate multiply and add.
		{general035, 0, 1, 9, true},
		{general05, 0, 20, 9, true},
		{general05, 0, 30, 7, true},
		{general05, 0, 48, 7, true},
		{general05, 3, 0, 7, true},
		{general035, 6, 8, 9, true},
		{general025, 0, 36, 11, false},
		{inner, 0, 10, 9, true},
		{leftEye1, 0, 5, 3, true},
		{leftEye15, 0, 20, 5, true},
	} {
		s := loadScale(t, c.file)
		got, err := s.Sigma(c.view, c.lmk, c.ws)
		if err != nil {
			t.Fatal(err)
		}
		want := openCVSigma(t, s.Experts[c.view][c.lmk], c.ws, s.components(c.ws))
		bad, worst := 0, 0.0
		for k := range want {
			if got[k] != want[k] {
				bad++
				worst = math.Max(worst, math.Abs(float64(got[k]-want[k]))/math.Max(1e-3, math.Abs(float64(want[k]))))
			}
		}
		if c.exact && bad > 0 {
			t.Errorf("%s view %d landmark %d ws %d: %d of %d elements differ from OpenCV (worst relative %g)", filepath.Base(c.file), c.view, c.lmk, c.ws, bad, len(want), worst)
		}
		if !c.exact && worst > 1e-5 {
			t.Errorf("%s ws %d: worst relative difference %g from OpenCV/LAPACK", filepath.Base(c.file), c.ws, worst)
		}
		again, _ := s.Sigma(c.view, c.lmk, c.ws)
		if &again[0] != &got[0] {
			t.Errorf("Sigma is not cached")
		}
	}
}

// TestAreaOfInterestMatchesOpenCV compares the AOI sampling with
// cv::warpAffine(WARP_INVERSE_MAP | INTER_LINEAR) on the float image for
// random similarities and positions, borders and far-outside positions
// included.
func TestAreaOfInterestMatchesOpenCV(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const w, h = 61, 47
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.Intn(256))
	}
	src := make([]float32, w*h)
	for i, p := range img.Pix {
		src[i] = float32(p)
	}
	srcM := floatMat(t, h, w, src)
	defer srcM.Close()
	for trial := 0; trial < 400; trial++ {
		scale := 0.3 + 2*rng.Float64()
		theta := (rng.Float64() - 0.5) * 1.5
		a1, b1 := float32(scale*math.Cos(theta)), float32(scale*math.Sin(theta))
		x := float32(rng.Float64()*(w+40) - 20)
		y := float32(rng.Float64()*(h+40) - 20)
		if trial%7 == 0 {
			x, y = float32(math.Round(float64(x))), float32(math.Round(float64(y)))
		}
		if trial == 0 {
			x, y = 5000, -3000
		}
		size := []int{17, 19, 21, 25}[trial%4]
		got := AreaOfInterest(img, x, y, a1, b1, size, size, nil)

		half := float32(size) - 1
		tx := float32(x-float32(a1*half)/2) + float32(b1*half)/2
		ty := float32(y-float32(a1*half)/2) - float32(b1*half)/2
		m := floatMat(t, 2, 3, []float32{a1, -b1, tx, b1, a1, ty})
		dst := gocv.NewMat()
		gocv.WarpAffineWithParams(srcM, &dst, m, image.Pt(size, size), gocv.WarpInverseMap|gocv.InterpolationLinear, gocv.BorderConstant, color.RGBA{})
		want, _ := dst.DataPtrFloat32()
		for k := range want {
			if got[k] != want[k] {
				t.Fatalf("trial %d (x %v y %v a1 %v b1 %v size %d) pixel %d: %v, warpAffine %v", trial, x, y, a1, b1, size, k, got[k], want[k])
			}
		}
		m.Close()
		dst.Close()
	}
}

func TestReadCorrupt(t *testing.T) {
	data, err := os.ReadFile(modelPath(t, leftEye1))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 7, 8, 12, 40, 100, 1000, len(data) / 2, len(data) - 1} {
		if _, err := Read(bytes.NewReader(data[:n])); !errors.Is(err, ErrFormat) {
			t.Errorf("truncated at %d: err = %v, want ErrFormat", n, err)
		}
	}
	if _, err := Read(bytes.NewReader(append(append([]byte(nil), data...), 1, 2))); !errors.Is(err, ErrFormat) {
		t.Errorf("trailing bytes: err = %v", err)
	}
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < 300; i++ {
		b := append([]byte(nil), data...)
		for k := 0; k < 4; k++ {
			b[rng.Intn(2000)] = byte(rng.Intn(256))
		}
		if _, err := Read(bytes.NewReader(b)); err != nil && !errors.Is(err, ErrFormat) {
			t.Fatalf("corruption %d: %v does not wrap ErrFormat", i, err)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.txt")); err == nil {
		t.Error("missing file loaded")
	}
}

func FuzzRead(f *testing.F) {
	data, err := os.ReadFile(modelPath(f, leftEye1))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data[:3000])
	f.Add(data)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Read(bytes.NewReader(b))
		if err == nil && (s.NumViews() == 0 || s.NumPoints() == 0) {
			t.Fatal("empty model and no error")
		}
	})
}
