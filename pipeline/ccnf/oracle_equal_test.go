package ccnf

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"testing"
)

// The tests in this file hold the current response code (the band
// layout, the statistics and neuron kernels, the portable path and the
// warp with its hoisted terms) to the frozen copy in oracle_test.go, bit
// for bit: on areas of interest sampled from real frames of several
// videos with every model and window size the tracker uses, and on random
// areas and random experts including extreme values.

// kernelPaths are the code paths every case runs through: the SIMD
// kernels when the CPU has them, and the portable Go.
func kernelPaths() []bool {
	if simd {
		return []bool{true, false}
	}
	return []bool{false}
}

// checkAgainstOracle computes one expert response with the oracle and
// with each kernel path (in a reused scratch, as Response does) and
// requires identical bits in the result and in every pre-activation.
func checkAgainstOracle(t *testing.T, name string, e *Expert, sigma, aoi []float32, aw, ah int, sc *[2]scratch) {
	t.Helper()
	ws := ah - e.Height + 1
	p := ws * ws
	var osc oracleScratch
	want := make([]float32, p)
	oracleExpertResponse(e, sigma, aoi, aw, ah, want, &osc)
	for i, fast := range kernelPaths() {
		got := make([]float32, p)
		expertResponseWith(e, sigma, aoi, aw, ah, got, &sc[i], fast)
		for j := range e.Neurons {
			for q := 0; q < p; q++ {
				if g, w := sc[i].z[j*p+q], osc.z[j*p+q]; math.Float32bits(g) != math.Float32bits(w) {
					t.Fatalf("%s (simd %v): neuron %d position %d: pre-activation %v (%#x), oracle %v (%#x)", name, fast, j, q, g, math.Float32bits(g), w, math.Float32bits(w))
				}
			}
		}
		for q := range want {
			if math.Float32bits(got[q]) != math.Float32bits(want[q]) {
				t.Fatalf("%s (simd %v): cell %d: %v (%#x), oracle %v (%#x)", name, fast, q, got[q], math.Float32bits(got[q]), want[q], math.Float32bits(want[q]))
			}
		}
	}
}

// checkAreaAgainstOracle samples one area of interest with the current
// warp (SIMD kernel where the CPU has it, and portable) and the frozen one
// and requires identical bits.
func checkAreaAgainstOracle(t *testing.T, name string, img *image.Gray, x, y, a1, b1 float32, aw, ah int) []float32 {
	t.Helper()
	got := AreaOfInterest(img, x, y, a1, b1, aw, ah, nil)
	port := areaOfInterest(img, x, y, a1, b1, aw, ah, nil, false)
	want := oracleAreaOfInterest(img, x, y, a1, b1, aw, ah, nil)
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) || math.Float32bits(port[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: area pixel %d: %v (portable %v), oracle %v", name, i, got[i], port[i], want[i])
		}
	}
	return got
}

// TestResponsesMatchOracleOnVideos runs every visible expert of the main
// model's scales (several views) and of the part models (inner face,
// both eyes) on areas of interest of real frames of three videos.
func TestResponsesMatchOracleOnVideos(t *testing.T) {
	md := loadPDM(t)
	type model struct {
		file string
		ws   []int
	}
	main := []model{{general025, []int{11}}, {general035, []int{9}}, {general05, []int{7, 5}}}
	parts := []model{{inner, []int{9}}, {leftEye1, []int{3, 5}}, {leftEye15, []int{5, 3}}, {rightEye1, []int{3, 5}}, {rightEye15, []int{5, 3}}}
	scales := map[string]*Scale{}
	load := func(f string) *Scale {
		if scales[f] == nil {
			scales[f] = loadScale(t, f)
		}
		return scales[f]
	}
	var sc [2]scratch
	checked := 0
	for _, fr := range []struct {
		video string
		index int
	}{{v01, 0}, {v01, 120}, {"v02_emotions_sad_to_laughing_640x360_pexels", 30}, {"v04_eyeclosure_cheekpuff_smile_glasses_512x480", 10}} {
		img := videoFrame(t, fr.video, fr.index)
		g, local := referenceParams(t, fr.video, fr.index)
		for _, yaw := range []float32{0, -0.6, 0.9} {
			gc := g
			gc.Ry += yaw
			for _, m := range main {
				s := load(m.file)
				for _, ws := range m.ws {
					var r Responses
					if err := s.Response(context.Background(), img, md, gc, local, ws, NewWorkspace(1), &r); err != nil {
						t.Fatal(err)
					}
					a1, b1 := r.RefToImg[0][0], -r.RefToImg[0][1]
					for i := range r.Maps {
						if r.Maps[i] == nil {
							continue
						}
						name := fmt.Sprintf("%s frame %d yaw %+.1f %s ws %d view %d landmark %d", fr.video, fr.index, yaw, m.file, ws, r.View, i)
						aoi := checkAreaAgainstOracle(t, name, img, r.Landmarks[i], r.Landmarks[i+68], a1, b1, ws+10, ws+10)
						sg, err := s.Sigma(r.View, i, ws)
						if err != nil {
							t.Fatal(err)
						}
						checkAgainstOracle(t, name, s.Experts[r.View][i], sg, aoi, ws+10, ws+10, &sc)
						// The driver's maps are the same computation.
						var osc oracleScratch
						want := make([]float32, ws*ws)
						oracleExpertResponse(s.Experts[r.View][i], sg, aoi, ws+10, ws+10, want, &osc)
						for q, v := range want {
							if math.Float32bits(r.Maps[i][q]) != math.Float32bits(v) {
								t.Fatalf("%s: Response map cell %d: %v, oracle %v", name, q, r.Maps[i][q], v)
							}
						}
						checked++
					}
				}
			}
			if yaw != 0 {
				continue
			}
			// The part models' experts on areas around the face's own
			// landmarks (inner face: landmarks 17..67; eyes: the six eye
			// corners and lids, in turn), at the part's patch scaling.
			lm, err := md.Shape2D(g, local, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range parts {
				s := load(m.file)
				n := s.NumPoints()
				f := float32(s.PatchScaling) / g.Scale
				for _, ws := range m.ws {
					for i := 0; i < n; i++ {
						if !s.Visible(0, i) {
							continue
						}
						src := 17 + i%51
						if n != 51 {
							src = 36 + i%12
						}
						name := fmt.Sprintf("%s frame %d %s ws %d landmark %d", fr.video, fr.index, m.file, ws, i)
						aoi := checkAreaAgainstOracle(t, name, img, lm[src]+float32(i%3), lm[src+68]-float32(i%2), 1/f, 0.02*float32(i%5-2), ws+10, ws+10)
						sg, err := s.Sigma(0, i, ws)
						if err != nil {
							t.Fatal(err)
						}
						checkAgainstOracle(t, name, s.Experts[0][i], sg, aoi, ws+10, ws+10, &sc)
						checked++
					}
				}
			}
		}
	}
	t.Logf("%d responses identical to the oracle", checked)
}

// randomArea fills an area of interest in one of several styles: pixel
// values, smooth and noisy floats, constants, huge and tiny magnitudes,
// subnormals, signed zeros and infinities.
func randomArea(r *rand.Rand, aoi []float32, style int) {
	switch style {
	case 0: // 8-bit pixels, as the warp gives them at integer positions
		for i := range aoi {
			aoi[i] = float32(r.IntN(256))
		}
	case 1: // warped pixels: multiples of 1/1024 in [0, 255]
		for i := range aoi {
			aoi[i] = float32(r.IntN(255*1024+1)) / 1024
		}
	case 2: // a constant area, in places broken by one pixel
		c := float32(r.IntN(256))
		for i := range aoi {
			aoi[i] = c
		}
		if r.IntN(2) == 0 {
			aoi[r.IntN(len(aoi))] = c + 1
		}
	case 3: // normal floats of every magnitude
		for i := range aoi {
			aoi[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(61)-30)))
		}
	case 4: // extremes mixed into pixels
		extremes := []float32{0, float32(math.Copysign(0, -1)), math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, 1e-40, 1e30, -1e30, 1e19, 3e-39}
		for i := range aoi {
			if r.IntN(4) == 0 {
				aoi[i] = extremes[r.IntN(len(extremes))]
			} else {
				aoi[i] = float32(r.IntN(256))
			}
		}
	case 5: // infinities among pixels
		for i := range aoi {
			switch r.IntN(40) {
			case 0:
				aoi[i] = float32(math.Inf(1))
			case 1:
				aoi[i] = float32(math.Inf(-1))
			default:
				aoi[i] = float32(r.IntN(256))
			}
		}
	case 6: // subnormals and signed zeros only
		for i := range aoi {
			aoi[i] = math.Float32frombits(uint32(r.IntN(1<<23)) | uint32(r.IntN(2))<<31)
		}
	default: // small contrast on a large offset (cancellation in the mean)
		for i := range aoi {
			aoi[i] = 1e6 + float32(r.IntN(17))/16
		}
	}
}

// TestResponsesMatchOracleOnRandomAreas runs real experts on random
// areas of every style at the tracker's window sizes and others.
func TestResponsesMatchOracleOnRandomAreas(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 14))
	var sc [2]scratch
	for _, c := range []struct {
		file string
		ws   []int
	}{{general05, []int{1, 2, 4, 7, 8, 15, 17}}, {general035, []int{9, 16}}, {leftEye1, []int{3, 5, 6}}, {inner, []int{9, 11}}} {
		s := loadScale(t, c.file)
		for _, ws := range c.ws {
			for style := 0; style < 8; style++ {
				i := r.IntN(s.NumPoints())
				for !s.Visible(0, i) {
					i = r.IntN(s.NumPoints())
				}
				e := s.Experts[0][i]
				aw, ah := ws+e.Width-1, ws+e.Height-1
				aoi := make([]float32, aw*ah)
				randomArea(r, aoi, style)
				sg, err := s.Sigma(0, i, ws)
				if err != nil {
					t.Fatal(err)
				}
				checkAgainstOracle(t, fmt.Sprintf("%s ws %d landmark %d style %d", c.file, ws, i, style), e, sg, aoi, aw, ah, &sc)
			}
		}
	}
}

// randomExpert returns an expert with the given support and neuron count
// and random weights (some extreme), laid out as Read lays them out.
func randomExpert(r *rand.Rand, pw, ph, neurons int, extreme bool) *Expert {
	e := &Expert{Width: pw, Height: ph, Neurons: make([]Neuron, neurons)}
	for j := range e.Neurons {
		nr := &e.Neurons[j]
		nr.NormWeights = r.Float64()*4 + 0.1
		nr.Bias = r.NormFloat64()
		nr.Alpha = r.Float64() * 2
		if j%5 == 3 {
			nr.Alpha = 0 // below the cutoff
		}
		nr.Weights = make([]float32, pw*ph)
		for k := range nr.Weights {
			nr.Weights[k] = float32(r.NormFloat64())
			if extreme && r.IntN(10) == 0 {
				nr.Weights[k] *= float32(math.Pow(10, float64(r.IntN(61)-30)))
			}
		}
	}
	e.buildWeights()
	return e
}

// TestResponsesMatchOracleOnRandomExperts varies what the files never
// do: non-square supports, neuron counts around the panels' eight,
// random Sigmas, window sizes across the chain and lane boundaries.
func TestResponsesMatchOracleOnRandomExperts(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 18))
	var sc [2]scratch
	for n := 0; n < 300; n++ {
		pw, ph := 1+r.IntN(14), 1+r.IntN(14)
		if n%3 == 0 {
			pw, ph = 11, 11
		}
		neurons := 1 + r.IntN(18)
		ws := 1 + r.IntN(20)
		e := randomExpert(r, pw, ph, neurons, n%4 == 1)
		p := ws * ws
		sigma := make([]float32, p*p)
		for i := range sigma {
			sigma[i] = float32(r.NormFloat64() * 0.1)
		}
		aw, ah := ws+pw-1, ws+ph-1
		aoi := make([]float32, aw*ah)
		randomArea(r, aoi, n%8)
		checkAgainstOracle(t, fmt.Sprintf("case %d: %d×%d support, %d neurons, ws %d, style %d", n, pw, ph, neurons, ws, n%8), e, sigma, aoi, aw, ah, &sc)
	}
}

// TestAreaOfInterestMatchesOracle samples areas with random similarities,
// in and around and far outside the image, at every size up to the
// largest the tracker could ask for.
func TestAreaOfInterestMatchesOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	img := &image.Gray{Pix: make([]byte, 97*61), Stride: 97, Rect: image.Rect(0, 0, 89, 61)}
	for i := range img.Pix {
		img.Pix[i] = byte(r.IntN(256))
	}
	for n := 0; n < 2000; n++ {
		aw, ah := 1+r.IntN(80), 1+r.IntN(80)
		if n%50 == 0 {
			aw = 130 + r.IntN(20) // beyond the stack buffer of column terms
		}
		x := float32(r.Float64()*140 - 25)
		y := float32(r.Float64()*110 - 25)
		if n%97 == 0 {
			x, y = -5000, 3e4
		}
		a1 := float32(r.Float64()*3 - 1.5)
		b1 := float32(r.Float64()*2 - 1)
		checkAreaAgainstOracle(t, fmt.Sprintf("case %d", n), img, x, y, a1, b1, aw, ah)
	}
}
