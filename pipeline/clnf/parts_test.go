package clnf

import (
	"context"
	"fmt"
	"testing"

	"facemirror/internal/sharedtest"
	"facemirror/pipeline/pdm"
)

// TestPartsAgainstTrace checks the hierarchical stage of v04 frames 0 and 1
// (the only traced fits with part models; v01's face is too small for
// them) stage by stage from OpenFace's inputs: the index maps from the
// main fit to each part, each part PDM's CalcParams on the mapped points,
// each part fit (every NU-RLMS iteration), the merge of the part landmarks
// into the main shape and the main PDM re-fit.
func TestPartsAgainstTrace(t *testing.T) {
	m := testModel(t)
	md := m.main.pdm
	n, nm := md.NumPoints(), md.NumModes()
	byName := map[string]*part{}
	for _, p := range m.parts {
		byName[p.name] = p
	}
	frames := grayFrames(t, "v04", 2)
	for fr := 0; fr < 2; fr++ {
		scales := readTable(t, sharedtest.Reference(t, fmt.Sprintf("fullprec/v04_clnf_frame%d_scales.csv", fr)))
		parts := readTable(t, sharedtest.Reference(t, fmt.Sprintf("fullprec/v04_clnf_frame%d_parts.csv", fr)))
		for _, init := range scales.where("stage", "init") {
			h := scales.str(init, "hypothesis")
			fits := scales.where("hypothesis", h, "stage", "fit")
			mainL := scales.landmarks(fits[len(fits)-1], n)
			merged := append([]float32(nil), mainL...)
			for _, pt := range m.parts {
				t.Run(fmt.Sprintf("frame%d/hyp%s/%s", fr, h, pt.name), func(t *testing.T) {
					np, pm := pt.pdm.NumPoints(), pt.pdm.NumModes()
					mapped := parts.where("hypothesis", h, "part_name", pt.name, "stage", "mapped")[0]
					wantLocs := parts.landmarks(mapped, np)
					locs := make([]float32, 2*np)
					for _, mp := range pt.mapping {
						locs[mp[1]] = mainL[mp[0]]
						locs[mp[1]+np] = mainL[mp[0]+n]
					}
					if d := maxDist(locs, wantLocs); d != 0 {
						t.Errorf("mapped landmarks differ by up to %g px", d)
					}
					fitted, err := pt.pdm.CalcParams(wantLocs, pdm.Euler{})
					if err != nil {
						t.Fatal(err)
					}
					got := params{g: fitted.Global, local: fitted.Local}
					if d := maxParamDiff(got, parts.params(mapped, pm)); d > 1e-4 {
						t.Errorf("part CalcParams differs by %g", d)
					}
					p := parts.params(parts.where("hypothesis", h, "part_name", pt.name, "stage", "init")[0], pm)
					rec := &recorder{}
					if _, _, _, err := pt.fit(context.Background(), testFrame(frames[fr]), &p, pt.set.windowsInit, rec); err != nil {
						t.Fatal(err)
					}
					want := parts.where("hypothesis", h, "part_name", pt.name, "stage", "iteration")
					if len(rec.iters) != len(want) {
						t.Fatalf("%d iterations, want %d", len(rec.iters), len(want))
					}
					var worst float64
					for i, ev := range rec.iters {
						gl, _ := pt.pdm.Shape2D(ev.p.g, ev.p.local, nil)
						worst = max(worst, meanDist(gl, parts.landmarks(want[i], np)))
						if ev.ws != parts.int(want[i], "window_size") || ev.view != parts.int(want[i], "view") {
							t.Fatalf("iteration %d: window %d view %d, want %s/%s", i, ev.ws, ev.view, parts.str(want[i], "window_size"), parts.str(want[i], "view"))
						}
					}
					wfits := parts.where("hypothesis", h, "part_name", pt.name, "stage", "fit")
					final := parts.landmarks(wfits[len(wfits)-1], np)
					gl, _ := pt.pdm.Shape2D(p.g, p.local, nil)
					t.Logf("%d iterations, worst mean error %.2e px, final %.2e px (max %.2e)", len(rec.iters), worst, meanDist(gl, final), maxDist(gl, final))
					if worst > 0.05 {
						t.Errorf("mean landmark error %.3g px exceeds 0.05 px", worst)
					}
					for _, mp := range pt.mapping {
						merged[mp[0]] = final[mp[1]]
						merged[mp[0]+n] = final[mp[1]+np]
					}
				})
			}
			t.Run(fmt.Sprintf("frame%d/hyp%s/merge", fr, h), func(t *testing.T) {
				want := scales.landmarks(scales.where("hypothesis", h, "stage", "parts_merged")[0], n)
				if d := maxDist(merged, want); d != 0 {
					t.Errorf("merged landmarks differ by up to %g px", d)
				}
				hier := scales.where("hypothesis", h, "stage", "hierarchical")[0]
				refit, err := md.CalcParams(want, pdm.Euler{})
				if err != nil {
					t.Fatal(err)
				}
				got := params{g: refit.Global, local: refit.Local}
				gl, _ := md.Shape2D(got.g, got.local, nil)
				d := meanDist(gl, scales.landmarks(hier, n))
				t.Logf("main re-fit: parameters within %.2e, landmarks %.2e px", maxParamDiff(got, scales.params(hier, nm)), d)
				if d > 1e-3 {
					t.Errorf("re-fitted landmarks differ by %.3g px", d)
				}
			})
		}
	}
}

// TestPartStates checks the part models' state a tracked frame leaves
// (what OpenFace's eye landmarks and gaze are read from) against the
// part traces of frame 1, bit for bit: fitted to the picture on v04,
// only fitted to the mapped landmarks on v01, whose face is too small.
func TestPartStates(t *testing.T) {
	m := testModel(t)
	nm := m.main.pdm.NumModes()
	for _, short := range []string{"v01", "v04"} {
		t.Run(short, func(t *testing.T) {
			ref := readTable(t, sharedtest.Reference(t, "fullprec/"+testVideos[short]+"_frames.csv"))
			parts := readTable(t, sharedtest.Reference(t, "fullprec/"+short+"_clnf_frame1_parts.csv"))
			frames := grayFrames(t, short, 2)
			r, err := m.detectLandmarks(context.Background(), testFrame(frames[1]), frameParams(ref, ref.rows[0], nm), m.main.set.windowsSmall, ref.f32(ref.rows[0], "model_likelihood"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.parts) != len(m.parts) {
				t.Fatalf("%d part states, the model has %d parts", len(r.parts), len(m.parts))
			}
			for k, pt := range m.parts {
				var last []string
				for _, row := range parts.where("part_name", pt.name) {
					if st := parts.str(row, "stage"); st == "fit" || st == "not_fitted" {
						last = row
					}
				}
				if last == nil {
					t.Fatalf("%s: no final state in the trace", pt.name)
				}
				np, pm := pt.pdm.NumPoints(), pt.pdm.NumModes()
				if d := maxParamDiff(r.parts[k].p, parts.params(last, pm)); d != 0 {
					t.Errorf("%s (%s): parameters differ by up to %g", pt.name, parts.str(last, "stage"), d)
				}
				if d := maxDist(r.parts[k].landmarks, parts.landmarks(last, np)); d != 0 {
					t.Errorf("%s (%s): landmarks differ by up to %g px", pt.name, parts.str(last, "stage"), d)
				}
			}
		})
	}
}
