package pdm

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"facemirror/internal/reference"
	"facemirror/internal/sharedtest"
)

func TestLoadModels(t *testing.T) {
	models := sharedtest.Models(t)
	tests := []struct {
		path    string
		n, m    int
		mean0   float32
		eigen0  float32
		eigenLn int
	}{
		{"AU_predictors/In-the-wild_aligned_PDM_68.txt", 68, 34, -73.393523, 826.21, 34},
		{"model/pdms/In-the-wild_aligned_PDM_68.txt", 68, 34, -73.393523, 826.21, 34},
		{"model/model_inner/pdms/pdm_51_inner.txt", 51, 32, 0, 0, 32},
		{"model/model_eye/pdms/pdm_28_eye_3D_closed.txt", 28, 10, 0, 0, 10},
		{"model/model_eye/pdms/pdm_28_l_eye_3D_closed.txt", 28, 10, 0, 0, 10},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			md, err := Load(filepath.Join(models, tc.path))
			if err != nil {
				t.Fatal(err)
			}
			if md.NumPoints() != tc.n || md.NumModes() != tc.m {
				t.Fatalf("n=%d m=%d, want %d and %d", md.NumPoints(), md.NumModes(), tc.n, tc.m)
			}
			if len(md.Mean) != 3*tc.n || len(md.PrincComp) != 3*tc.n*tc.m || len(md.EigenValues) != tc.eigenLn {
				t.Fatalf("sizes %d %d %d", len(md.Mean), len(md.PrincComp), len(md.EigenValues))
			}
			if tc.mean0 != 0 && md.Mean[0] != tc.mean0 {
				t.Errorf("mean[0] = %v, want %v", md.Mean[0], tc.mean0)
			}
			if tc.eigen0 != 0 && math.Abs(float64(md.EigenValues[0]-tc.eigen0)) > 0.01 {
				t.Errorf("eigenvalue 0 = %v, want %v", md.EigenValues[0], tc.eigen0)
			}
		})
	}
}

func TestReadRejectsCorruptFiles(t *testing.T) {
	good := "# mean\n6\n1\n6\n1\n2\n3\n4\n5\n6\n# pc\n6 1 6\n1 1 1 1 1 1\n# ev\n1 1 6\n2.5\n"
	md, err := Read(strings.NewReader(good))
	if err != nil {
		t.Fatalf("valid file: %v", err)
	}
	if md.NumPoints() != 2 || md.NumModes() != 1 || md.Mean[5] != 6 || md.EigenValues[0] != 2.5 {
		t.Fatalf("parsed %+v", md)
	}
	tests := []struct{ name, text string }{
		{"empty", ""},
		{"only comment", "# nothing\n"},
		{"truncated values", "# mean\n6 1 6\n1 2 3\n"},
		{"missing eigenvalues", "# mean\n6 1 6\n1 2 3 4 5 6\n# pc\n6 1 6\n1 1 1 1 1 1\n"},
		{"mean not 3n", "# mean\n4 1 6\n1 2 3 4\n# pc\n4 1 6\n1 1 1 1\n# ev\n1 1 6\n1\n"},
		{"component rows differ", "# mean\n6 1 6\n1 2 3 4 5 6\n# pc\n3 1 6\n1 1 1\n# ev\n1 1 6\n1\n"},
		{"eigen count differs", "# mean\n6 1 6\n1 2 3 4 5 6\n# pc\n6 1 6\n1 1 1 1 1 1\n# ev\n1 2 6\n1 2\n"},
		{"not a number", "# mean\n6 1 6\n1 2 x 4 5 6\n# pc\n6 1 6\n1 1 1 1 1 1\n# ev\n1 1 6\n1\n"},
		{"bad type", "# mean\n6 1 7\n1 2 3 4 5 6\n# pc\n6 1 6\n1 1 1 1 1 1\n# ev\n1 1 6\n1\n"},
		{"huge header", "# mean\n999999999 999999 6\n1\n"},
		{"negative size", "# mean\n-6 1 6\n1\n"},
		{"zero eigenvalue", "# mean\n6 1 6\n1 2 3 4 5 6\n# pc\n6 1 6\n1 1 1 1 1 1\n# ev\n1 1 6\n0\n"},
		{"infinite value", "# mean\n6 1 6\n1 2 3 4 5 inf\n# pc\n6 1 6\n1 1 1 1 1 1\n# ev\n1 1 6\n1\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tc.text))
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("err = %v, want ErrFormat", err)
			}
		})
	}
}

// TestShape2DReproducesLandmarks: v01 never runs the hierarchical stage, so
// OpenFace's final landmarks are CalcShape2D of the CLNF parameters.
func TestShape2DReproducesLandmarks(t *testing.T) {
	md := loadMainPDM(t)
	tb := reference.Frames(t, refVideos[0].name)
	lc, pc := reference.LandmarkColumns("", 68), reference.ParamColumns("clnf_p_", 34)
	for r := range tb.Rows {
		p := tb.F32s(t, r, pc)
		want := tb.F32s(t, r, lc)
		got, err := md.Shape2D(globalFrom(p), p[6:], nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("frame %d value %d: %v, want %v (bit-exact)", r, i, got[i], want[i])
			}
		}
	}
}

// errStats collects the largest relative and absolute errors of a group of
// parameters.
type errStats struct{ rel, abs float64 }

func (s *errStats) add(got, want float32) {
	d := math.Abs(float64(got) - float64(want))
	s.abs = math.Max(s.abs, d)
	if want != 0 {
		s.rel = math.Max(s.rel, d/math.Abs(float64(want)))
	} else if d != 0 {
		s.rel = math.Inf(1)
	}
}

// TestCalcParamsMatchesFaceAnalyser refits the FaceAnalyser's parameters
// (fa_p_*) from OpenFace's full-precision landmarks on every successful
// frame of v01, v02 and v04.
func TestCalcParamsMatchesFaceAnalyser(t *testing.T) {
	md := loadMainPDM(t)
	for _, v := range refVideos {
		t.Run(v.short, func(t *testing.T) {
			t.Parallel()
			tb := reference.Frames(t, v.name)
			lc, pc := reference.LandmarkColumns("", 68), reference.ParamColumns("fa_p_", 34)
			var glob, loc errStats
			frames, exact := 0, 0
			for r := range tb.Rows {
				if !tb.Has(r, "fa_p_scale") {
					continue
				}
				frames++
				want := tb.F32s(t, r, pc)
				p, err := md.CalcParams(tb.F32s(t, r, lc), Euler{})
				if err != nil {
					t.Fatalf("frame %d: %v", r, err)
				}
				got := append([]float32{p.Global.Scale, p.Global.Rx, p.Global.Ry, p.Global.Rz, p.Global.Tx, p.Global.Ty}, p.Local...)
				same := true
				for i := range got {
					if i < 6 {
						glob.add(got[i], want[i])
					} else {
						loc.add(got[i], want[i])
					}
					same = same && got[i] == want[i]
				}
				if same {
					exact++
				}
			}
			t.Logf("%d/%d frames bit-exact; global max rel %.3g abs %.3g; local max rel %.3g abs %.3g",
				exact, frames, glob.rel, glob.abs, loc.rel, loc.abs)
			if frames == 0 || glob.rel > 1e-4 || loc.rel > 1e-4 {
				t.Errorf("parameters differ beyond 1e-4 relative (or no frames)")
			}
		})
	}
}

// TestCalcParamsPartModels checks the part PDMs' fits to the mapped main
// landmarks (the eyes have only 6 of 28 points present, so this covers
// missing points and OpenCV's small-product path) and the main model's
// re-fit after the hierarchical merge.
func TestCalcParamsPartModels(t *testing.T) {
	models := sharedtest.Models(t)
	parts := map[string]string{
		"inner":        "model/model_inner/pdms/pdm_51_inner.txt",
		"left_eye_28":  "model/model_eye/pdms/pdm_28_l_eye_3D_closed.txt",
		"right_eye_28": "model/model_eye/pdms/pdm_28_eye_3D_closed.txt",
	}
	pdms := map[string]*Model{}
	for name, p := range parts {
		md, err := Load(filepath.Join(models, p))
		if err != nil {
			t.Fatal(err)
		}
		pdms[name] = md
	}
	checked := map[string]int{}
	for _, file := range []string{"v01_clnf_frame0_parts.csv", "v01_clnf_frame1_parts.csv", "v04_clnf_frame0_parts.csv", "v04_clnf_frame1_parts.csv"} {
		tb := reference.ReadTable(t, sharedtest.Reference(t, "fullprec/"+file))
		for r, row := range tb.Rows {
			if row[tb.Col["stage"]] != "mapped" {
				continue
			}
			name := row[tb.Col["part_name"]]
			md := pdms[name]
			want := tb.F32s(t, r, reference.ParamColumns("p_", md.NumModes()))
			p, err := md.CalcParams(tb.F32s(t, r, reference.LandmarkColumns("", md.NumPoints())), Euler{})
			if err != nil {
				t.Fatal(err)
			}
			got := append([]float32{p.Global.Scale, p.Global.Rx, p.Global.Ry, p.Global.Rz, p.Global.Tx, p.Global.Ty}, p.Local...)
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s row %d %s parameter %d: %v, want %v", file, r, name, i, got[i], want[i])
					break
				}
			}
			checked[name]++
		}
	}
	main := loadMainPDM(t)
	for _, file := range []string{"v04_clnf_frame0_scales.csv", "v04_clnf_frame1_scales.csv"} {
		tb := reference.ReadTable(t, sharedtest.Reference(t, "fullprec/"+file))
		for r, row := range tb.Rows {
			if row[tb.Col["stage"]] != "hierarchical" {
				continue
			}
			merged := tb.F32s(t, r-1, reference.LandmarkColumns("", 68))
			if tb.Rows[r-1][tb.Col["stage"]] != "parts_merged" {
				t.Fatalf("%s row %d: hierarchical row not preceded by parts_merged", file, r)
			}
			want := tb.F32s(t, r, reference.ParamColumns("p_", 34))
			p, err := main.CalcParams(merged, Euler{})
			if err != nil {
				t.Fatal(err)
			}
			got := append([]float32{p.Global.Scale, p.Global.Rx, p.Global.Ry, p.Global.Rz, p.Global.Tx, p.Global.Ty}, p.Local...)
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s row %d hierarchical parameter %d: %v, want %v", file, r, i, got[i], want[i])
					break
				}
			}
			shape, _ := main.Shape2D(p.Global, p.Local, nil)
			wantShape := tb.F32s(t, r, reference.LandmarkColumns("", 68))
			for i := range shape {
				if shape[i] != wantShape[i] {
					t.Errorf("%s row %d hierarchical landmark %d: %v, want %v", file, r, i, shape[i], wantShape[i])
					break
				}
			}
			checked["hierarchical"]++
		}
	}
	t.Logf("bit-exact fits checked: %v", checked)
	if checked["inner"] == 0 || checked["left_eye_28"] == 0 || checked["hierarchical"] == 0 {
		t.Fatal("reference rows missing")
	}
}

// TestCalcParamsBox checks the initial parameters of each rotation
// hypothesis at detection time: the corrected MTCNN box and the hypothesis
// rotation give the trace's "init" row.
func TestCalcParamsBox(t *testing.T) {
	md := loadMainPDM(t)
	for _, v := range []struct{ frames, trace string }{
		{refVideos[0].name, "v01_clnf_frame0_scales.csv"},
		{refVideos[2].name, "v04_clnf_frame0_scales.csv"},
	} {
		fr := reference.Frames(t, v.frames)
		b := fr.F32s(t, 0, []string{"mtcnn_x", "mtcnn_y", "mtcnn_w", "mtcnn_h"})
		box := Box{X: b[0], Y: b[1], W: b[2], H: b[3]}
		tb := reference.ReadTable(t, sharedtest.Reference(t, "fullprec/"+v.trace))
		n := 0
		for r, row := range tb.Rows {
			if row[tb.Col["stage"]] != "init" {
				continue
			}
			rot := tb.F32s(t, r, []string{"rot_x", "rot_y", "rot_z"})
			want := tb.F32s(t, r, reference.ParamColumns("p_", 6)[:6])
			g, err := md.CalcParamsBox(box, make([]float32, 34), Euler{rot[0], rot[1], rot[2]})
			if err != nil {
				t.Fatal(err)
			}
			got := []float32{g.Scale, g.Rx, g.Ry, g.Rz, g.Tx, g.Ty}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s hypothesis %s parameter %d: %v, want %v", v.trace, row[tb.Col["hypothesis"]], i, got[i], want[i])
				}
			}
			n++
		}
		if n != 11 {
			t.Errorf("%s: %d hypotheses, want 11", v.trace, n)
		}
	}
}

// TestHeadPoseMatchesGetPose reproduces FeatureExtraction's pose_* from the
// CLNF parameters and landmarks, which is what GetPose uses.
func TestHeadPoseMatchesGetPose(t *testing.T) {
	md := loadMainPDM(t)
	names := []string{"pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz"}
	for _, v := range refVideos {
		t.Run(v.short, func(t *testing.T) {
			tb := reference.Frames(t, v.name)
			cam := DefaultCamera(v.w, v.h)
			lc, pc := reference.LandmarkColumns("", 68), reference.ParamColumns("clnf_p_", 34)
			var trans, rot errStats
			exact, frames := 0, 0
			for r := range tb.Rows {
				if !tb.Has(r, "pose_Tx") {
					continue
				}
				frames++
				p := tb.F32s(t, r, pc)
				want := tb.F32s(t, r, names)
				pose, err := md.HeadPose(tb.F32s(t, r, lc), globalFrom(p), p[6:], cam)
				if err != nil {
					t.Fatal(err)
				}
				got := []float32{pose.Tx, pose.Ty, pose.Tz, pose.Rx, pose.Ry, pose.Rz}
				same := true
				for i := range got {
					if i < 3 {
						trans.add(got[i], want[i])
					} else {
						rot.add(got[i], want[i])
					}
					same = same && got[i] == want[i]
				}
				if same {
					exact++
				}
			}
			t.Logf("camera %+v: %d/%d frames bit-exact; translation max abs %.3g, rotation max abs %.3g", cam, exact, frames, trans.abs, rot.abs)
			if frames == 0 || trans.abs > 1e-4*1000 || rot.abs > 1e-4 || trans.rel > 1e-4 {
				t.Errorf("pose differs beyond 1e-4")
			}
		})
	}
}

func TestDefaultCamera(t *testing.T) {
	tests := []struct {
		w, h int
		want Camera
	}{
		{480, 360, Camera{375, 375, 240, 180}},
		{640, 360, Camera{437.5, 437.5, 320, 180}},
		{512, 480, Camera{450, 450, 256, 240}},
	}
	for _, tc := range tests {
		if got := DefaultCamera(tc.w, tc.h); got != tc.want {
			t.Errorf("DefaultCamera(%d, %d) = %+v, want %+v", tc.w, tc.h, got, tc.want)
		}
	}
}

// TestCameraShapeMatchesCSV compares the camera-space 3D landmarks with the
// X_*, Y_*, Z_* columns of the v01 CSV, character for character.
func TestCameraShapeMatchesCSV(t *testing.T) {
	md := loadMainPDM(t)
	v := refVideos[0]
	tb := reference.Frames(t, v.name)
	ref := reference.ReadTable(t, sharedtest.Reference(t, v.name+"/"+v.name+".csv"))
	if len(ref.Rows) != len(tb.Rows) {
		t.Fatalf("CSV has %d rows, full-precision file %d", len(ref.Rows), len(tb.Rows))
	}
	cam := DefaultCamera(v.w, v.h)
	lc, pc := reference.LandmarkColumns("", 68), reference.ParamColumns("clnf_p_", 34)
	var names []string
	for _, a := range []string{"X_", "Y_", "Z_"} {
		for i := 0; i < 68; i++ {
			names = append(names, a+strconv.Itoa(i))
		}
	}
	for r := range tb.Rows {
		p := tb.F32s(t, r, pc)
		got, err := md.CameraShape(tb.F32s(t, r, lc), globalFrom(p), p[6:], cam)
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range names {
			s := strconv.FormatFloat(float64(got[i]), 'f', 1, 64)
			if want := ref.Rows[r][ref.Col[n]]; s != want {
				t.Fatalf("frame %d %s = %s (%v), CSV has %s", r, n, s, got[i], want)
			}
		}
	}
}

// TestJacobianMatchesUpdate checks each Jacobian column against the shape
// change that UpdateParams makes for a small step of that parameter.
func TestJacobianMatchesUpdate(t *testing.T) {
	md := loadMainPDM(t)
	tb := reference.Frames(t, refVideos[1].name)
	p := tb.F32s(t, 100, reference.ParamColumns("fa_p_", 34))
	g, local := globalFrom(p), p[6:]
	jac, err := md.FullJacobian(g, local, nil)
	if err != nil {
		t.Fatal(err)
	}
	rigid, err := md.RigidJacobian(g, local, nil)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := md.Shape2D(g, local, nil)
	for c := 0; c < jac.Cols; c++ {
		// Steps large enough for float32 differences, small enough for the
		// rotation's curvature (the other parameters act linearly).
		step := float32(0.1)
		switch {
		case c == 0:
			step = 0.01
		case c < 4:
			step = 1e-3
		case c < 6:
			step = 1
		}
		delta := make([]float32, jac.Cols)
		delta[c] = step
		g2, l2 := g, append([]float32(nil), local...)
		if err := md.UpdateParams(delta, &g2, l2); err != nil {
			t.Fatal(err)
		}
		moved, _ := md.Shape2D(g2, l2, nil)
		for r := 0; r < jac.Rows; r++ {
			fd := float64(moved[r]-base[r]) / float64(step)
			j := float64(jac.J[r*jac.Cols+c])
			// float32 rounding of the two shapes, plus 2% for curvature.
			noise := 4 * math.Abs(float64(base[r])) * epsFloat32 / float64(step)
			if math.Abs(fd-j) > 0.02*math.Max(1, math.Abs(j))+noise {
				t.Fatalf("column %d row %d: Jacobian %v, finite difference %v", c, r, j, fd)
			}
			if jac.WT[c*jac.Rows+r] != jac.J[r*jac.Cols+c] {
				t.Fatalf("WT is not the transpose at (%d, %d)", c, r)
			}
			if c < 6 && rigid.J[r*6+c] != jac.J[r*jac.Cols+c] {
				t.Fatalf("rigid Jacobian differs at (%d, %d)", r, c)
			}
		}
	}
	// Weights scale the rows of the weighted transpose.
	w := make([]float32, 2*md.NumPoints())
	for i := range w {
		w[i] = 2
	}
	wj, err := md.FullJacobian(g, local, w)
	if err != nil {
		t.Fatal(err)
	}
	if wj.WT[5] != 2*jac.WT[5] {
		t.Errorf("weighted transpose %v, want %v", wj.WT[5], 2*jac.WT[5])
	}
}

// TestClamp checks PDM::Clamp's bound 3·sqrt(λ), computed in double and
// rounded once to float: on the main model it differs from the
// float-rounded 3·(float)sqrt(λ) for some modes.
func TestClamp(t *testing.T) {
	md := loadMainPDM(t)
	local := make([]float32, 34)
	for i := range local {
		local[i] = 1000
		if i%2 == 1 {
			local[i] = -1000
		}
	}
	local[2] = 1
	if err := md.Clamp(local); err != nil {
		t.Fatal(err)
	}
	differ := 0
	for i, ev := range md.EigenValues {
		lim := float32(3 * math.Sqrt(float64(ev)))
		if lim != 3*float32(math.Sqrt(float64(ev))) {
			differ++
		}
		want := lim
		switch {
		case i == 2:
			want = 1
		case i%2 == 1:
			want = -lim
		}
		if local[i] != want {
			t.Errorf("mode %d clamped to %v, want %v", i, local[i], want)
		}
	}
	t.Logf("%d of %d bounds differ from the float-rounded computation", differ, len(md.EigenValues))
}

func TestBadArguments(t *testing.T) {
	md := loadMainPDM(t)
	if _, err := md.CalcParams(make([]float32, 10), Euler{}); err == nil {
		t.Error("short landmark vector accepted")
	}
	if _, err := md.CalcParams(make([]float32, 136), Euler{}); !errors.Is(err, ErrNoLandmarks) {
		t.Errorf("all-missing landmarks: %v, want ErrNoLandmarks", err)
	}
	nan := make([]float32, 136)
	nan[3] = float32(math.NaN())
	if _, err := md.CalcParams(nan, Euler{}); err == nil {
		t.Error("NaN landmark accepted")
	}
	if _, err := md.Shape3D(make([]float32, 3), nil); err == nil {
		t.Error("wrong local parameter count accepted")
	}
	if err := md.UpdateParams(make([]float32, 7), &Global{}, make([]float32, 34)); err == nil {
		t.Error("update of 7 values accepted")
	}
	if p, err := md.HeadPose(make([]float32, 136), Global{}, make([]float32, 34), DefaultCamera(640, 480)); err != nil || p != (Pose{}) {
		t.Errorf("zero scale pose = %+v, %v; want the zero pose", p, err)
	}
}

func BenchmarkCalcParams(b *testing.B) {
	md := loadMainPDM(b)
	tb := reference.Frames(b, refVideos[1].name)
	lm := tb.F32s(b, 0, reference.LandmarkColumns("", 68))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := md.CalcParams(lm, Euler{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHeadPose(b *testing.B) {
	md := loadMainPDM(b)
	tb := reference.Frames(b, refVideos[0].name)
	lm := tb.F32s(b, 0, reference.LandmarkColumns("", 68))
	p := tb.F32s(b, 0, reference.ParamColumns("clnf_p_", 34))
	cam := DefaultCamera(480, 360)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := md.HeadPose(lm, globalFrom(p), p[6:], cam); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkShape2D(b *testing.B) {
	md := loadMainPDM(b)
	tb := reference.Frames(b, refVideos[0].name)
	p := tb.F32s(b, 0, reference.ParamColumns("clnf_p_", 34))
	dst := make([]float32, 136)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := md.Shape2D(globalFrom(p), p[6:], dst); err != nil {
			b.Fatal(fmt.Errorf("shape: %w", err))
		}
	}
}

// TestGeometryMatchesFaceAnalyser compares the geometry descriptor samples
// that the FaceAnalyser logged (geom_0, geom_100 of princ_comp·local, and
// geom_237, the last local parameter) on every successful frame.
func TestGeometryMatchesFaceAnalyser(t *testing.T) {
	md := loadMainPDM(t)
	for _, v := range refVideos {
		fr := reference.Frames(t, v.name)
		on := reference.ReadTable(t, sharedtest.Reference(t, "fullprec/"+v.name+"_au_online.csv"))
		n := 0
		for r := range fr.Rows {
			if !fr.Has(r, "fa_p_scale") {
				continue
			}
			local := fr.F32s(t, r, reference.ParamColumns("fa_p_", 34))[6:]
			geom, err := md.Geometry(local)
			if err != nil {
				t.Fatal(err)
			}
			got := map[int]float64{0: geom[0], 100: geom[100], 237: float64(local[33])}
			for idx, g := range got {
				want, err := strconv.ParseFloat(on.Rows[r][on.Col["geom_"+strconv.Itoa(idx)]], 64)
				if err != nil {
					t.Fatal(err)
				}
				if g != want {
					t.Fatalf("%s frame %d geom_%d = %.17g, want %.17g", v.short, r, idx, g, want)
				}
			}
			n++
		}
		if n == 0 {
			t.Fatalf("%s: no successful frames", v.short)
		}
		t.Logf("%s: %d frames bit-exact", v.short, n)
	}
}
