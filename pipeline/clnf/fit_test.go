package clnf

import (
	"context"
	"fmt"
	"testing"

	"facemirror/internal/sharedtest"
)

// TestMainFitAgainstTrace runs the main model's Fit from each traced
// starting point (frame 0: every hypothesis's box initialisation, window
// sizes 11/9/7; frame 1: frame 0's result, window sizes 0/9/7) and compares
// every NU-RLMS iteration and every scale's result with OpenFace's.
func TestMainFitAgainstTrace(t *testing.T) {
	m := testModel(t)
	md := m.main.pdm
	n, nm := md.NumPoints(), md.NumModes()
	for _, short := range []string{"v01", "v04"} {
		frames := grayFrames(t, short, 2)
		for fr := 0; fr < 2; fr++ {
			scales := readTable(t, sharedtest.Reference(t, fmt.Sprintf("fullprec/%s_clnf_frame%d_scales.csv", short, fr)))
			iters := readTable(t, sharedtest.Reference(t, fmt.Sprintf("fullprec/%s_clnf_frame%d_iters.csv", short, fr)))
			windows := m.main.set.windowsInit
			if fr == 1 {
				windows = m.main.set.windowsSmall
			}
			for _, init := range scales.where("stage", "init") {
				h := scales.str(init, "hypothesis")
				t.Run(fmt.Sprintf("%s/frame%d/hyp%s", short, fr, h), func(t *testing.T) {
					p := scales.params(init, nm)
					rec := &recorder{}
					_, lik, hasLik, err := m.main.fit(context.Background(), testFrame(frames[fr]), &p, windows, rec)
					if err != nil {
						t.Fatal(err)
					}
					want := iters.where("hypothesis", h)
					if len(rec.iters) != len(want) {
						t.Fatalf("%d iterations, want %d", len(rec.iters), len(want))
					}
					var worstMean, worstMax, worstParam float64
					for i, ev := range rec.iters {
						w := want[i]
						phase := "nonrigid"
						if ev.rigid {
							phase = "rigid"
						}
						if got := fmt.Sprintf("%d/%d/%s/%d/%d", ev.scale, ev.ws, phase, ev.iter, ev.view); got != fmt.Sprintf("%s/%s/%s/%s/%s", iters.str(w, "scale"), iters.str(w, "window_size"), iters.str(w, "phase"), iters.str(w, "iteration"), iters.str(w, "view")) {
							t.Fatalf("iteration %d is %s, want scale/ws/phase/iter/view %s/%s/%s/%s/%s", i, got, iters.str(w, "scale"), iters.str(w, "window_size"), iters.str(w, "phase"), iters.str(w, "iteration"), iters.str(w, "view"))
						}
						gotL, _ := md.Shape2D(ev.p.g, ev.p.local, nil)
						wantL := iters.landmarks(w, n)
						md1, mx := meanDist(gotL, wantL), maxDist(gotL, wantL)
						pd := maxParamDiff(ev.p, iters.params(w, nm))
						if md1 > worstMean {
							worstMean = md1
						}
						worstMax = max(worstMax, mx)
						worstParam = max(worstParam, pd)
					}
					fits := scales.where("hypothesis", h, "stage", "fit")
					if len(rec.scales) != len(fits) {
						t.Fatalf("%d scales fitted, want %d", len(rec.scales), len(fits))
					}
					for i, ev := range rec.scales {
						w := fits[i]
						if ev.scale != scales.int(w, "scale") || ev.ws != scales.int(w, "window_size") || ev.view != scales.int(w, "view") {
							t.Errorf("scale fit %d: scale/window/view %d/%d/%d, want %s/%s/%s", i, ev.scale, ev.ws, ev.view, scales.str(w, "scale"), scales.str(w, "window_size"), scales.str(w, "view"))
						}
						gl, _ := md.Shape2D(ev.p.g, ev.p.local, nil)
						if d := meanDist(gl, scales.landmarks(w, n)); d != 0 {
							t.Errorf("scale %d: mean landmark error %.3g px", ev.scale, d)
						}
					}
					last := fits[len(fits)-1]
					wantLik := scales.f32(last, "model_likelihood")
					t.Logf("iterations %d: worst mean landmark error %.2e px, worst point %.2e px, worst parameter %.2e; likelihood %.9g want %.9g (has %v)",
						len(rec.iters), worstMean, worstMax, worstParam, lik, wantLik, hasLik)
					// Detection (window sizes 11/9/7) and tracking fits
					// (0/9/7) both follow OpenFace bit for bit.
					if worstParam != 0 || worstMean != 0 {
						t.Errorf("parameters differ by up to %.3g (mean landmark error %.3g px), want bit-exact", worstParam, worstMean)
					}
					if !hasLik || lik != wantLik {
						t.Errorf("likelihood %v (computed %v), want %v", lik, hasLik, wantLik)
					}
				})
			}
		}
	}
}

func abs64(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// TestNURLMSStepsAgainstTrace isolates every NU-RLMS step of the traced
// main-model fits: each step starts from OpenFace's own parameters before
// it (with the responses computed at OpenFace's parameters at the start of
// the scale), so errors cannot accumulate. Every step must give OpenFace's
// parameters bit for bit, also at window size 11 (scale 0.25, first frame
// and after failures only), where OpenFace inverts the 121×121 Sigma with
// LAPACK (OpenBLAS sposv, which exactmath.CholeskyInvertLAPACK emulates).
func TestNURLMSStepsAgainstTrace(t *testing.T) {
	m := testModel(t)
	md := m.main.pdm
	n, nm := md.NumPoints(), md.NumModes()
	for _, short := range []string{"v01", "v04"} {
		frames := grayFrames(t, short, 2)
		for fr := 0; fr < 2; fr++ {
			scales := readTable(t, sharedtest.Reference(t, fmt.Sprintf("fullprec/%s_clnf_frame%d_scales.csv", short, fr)))
			iters := readTable(t, sharedtest.Reference(t, fmt.Sprintf("fullprec/%s_clnf_frame%d_iters.csv", short, fr)))
			steps, exact, small, smallExact := 0, 0, 0, 0
			var worst float64
			for _, init := range scales.where("stage", "init") {
				h := scales.str(init, "hypothesis")
				prev := scales.params(init, nm)
				var in *scaleInput
				for _, w := range iters.where("hypothesis", h) {
					rigid := iters.str(w, "phase") == "rigid"
					if rigid && iters.str(w, "iteration") == "0" {
						var err error
						in, err = m.main.prepareScale(context.Background(), testFrame(frames[fr]), prev, iters.int(w, "scale"), iters.int(w, "window_size"))
						if err != nil {
							t.Fatal(err)
						}
					}
					p := prev.clone()
					if _, err := nurlms(md, &p.g, p.local, in, rigid, 1, false, nil); err != nil {
						t.Fatal(err)
					}
					want := iters.params(w, nm)
					gl, _ := md.Shape2D(p.g, p.local, nil)
					d := meanDist(gl, iters.landmarks(w, n))
					worst = max(worst, d)
					steps++
					same := maxParamDiff(p, want) == 0
					if same {
						exact++
					}
					if in.ws != 11 {
						small++
						if same {
							smallExact++
						}
					}
					prev = want
				}
			}
			t.Logf("%s frame %d: %d steps, %d bit-exact (%d of %d at window sizes 9 and 7), worst mean landmark error of one step %.2e px",
				short, fr, steps, exact, smallExact, small, worst)
			if exact != steps {
				t.Errorf("%s frame %d: %d of %d steps differ from OpenFace (%d of them at window sizes 9 and 7); worst %.3g px",
					short, fr, steps-exact, steps, small-smallExact, worst)
			}
		}
	}
}
