package au

import (
	"bytes"
	"context"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"

	"facemirror/internal/reference"
	"facemirror/internal/sharedtest"
	"facemirror/pipeline/openfacecsv"
)

// Tolerances of the agreement with OpenFace's full-precision dumps. The
// implementation reproduces them bit for bit on the reference data; the
// tolerances are the contract.
const (
	onlineTol  = 1e-6
	offlineTol = 0.005
)

var (
	medianHOGIdx  = []int{0, 100, 1000, 4463}
	medianGeomIdx = []int{0, 100, 237}
)

// frameSource returns the HOG descriptor of a frame of the video (nil for
// frames whose HOG OpenFace computed from the black face).
type frameSource func(frame int) []float32

// videoResult collects agreement figures for the report.
type videoResult struct {
	onlineMax, repredMax, offlineMax float64
	onlineExact, onlineN             int
	classFlips                       int
}

// runVideo feeds a video's reference inputs to an Analyser and checks the
// online predictions, the running medians of every frame, the final
// medians and the offline values against the dumps.
func runVideo(t *testing.T, v refVideo, hog frameSource) videoResult {
	p, md := loadModels(t)
	in := loadInputs(t, v)
	on := reference.Fullprec(t, v.name, "au_online")
	off := reference.Fullprec(t, v.name, "au_offline")
	if len(on.Rows) != len(in.success) || len(off.Rows) != len(in.success) {
		t.Fatalf("%s: %d frames, %d online rows, %d offline rows", v.short, len(in.success), len(on.Rows), len(off.Rows))
	}
	a, err := NewAnalyser(p, md)
	if err != nil {
		t.Fatal(err)
	}
	var res videoResult
	iNames, oNames := p.IntensityNames(), p.OccurrenceNames()
	for r := range in.success {
		got, err := a.Add(Frame{HOG: hog(r), Local: in.local[r], Success: in.success[r]})
		if err != nil {
			t.Fatalf("%s frame %d: %v", v.short, r, err)
		}
		for j, n := range iNames {
			want := on.F64(t, r, n+"_r")
			d := math.Abs(got.Intensity[j] - want)
			res.onlineMax = max(res.onlineMax, d)
			res.onlineN++
			if d == 0 {
				res.onlineExact++
			}
			if d > onlineTol {
				t.Errorf("%s frame %d %s_r online = %.17g, OpenFace %.17g", v.short, r, n, got.Intensity[j], want)
			}
		}
		for j, n := range oNames {
			if want := on.F64(t, r, n+"_c"); got.Occurrence[j] != want {
				t.Errorf("%s frame %d %s_c online = %v, OpenFace %v", v.short, r, n, got.Occurrence[j], want)
			}
		}
		if want := int(on.F64(t, r, "hog_hist_count")); a.MedianFrames() != want {
			t.Errorf("%s frame %d: %d frames in the medians, OpenFace %d", v.short, r, a.MedianFrames(), want)
		}
		hm, gm := a.HOGMedian(), a.GeomMedian()
		for _, i := range medianHOGIdx {
			if want := on.F64(t, r, "hog_median_"+strconv.Itoa(i)); hm[i] != want {
				t.Errorf("%s frame %d: HOG median %d = %.17g, OpenFace %.17g", v.short, r, i, hm[i], want)
			}
		}
		for _, i := range medianGeomIdx {
			if want := on.F64(t, r, "geom_median_"+strconv.Itoa(i)); gm[i] != want {
				t.Errorf("%s frame %d: geometry median %d = %.17g, OpenFace %.17g", v.short, r, i, gm[i], want)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	checkFinalMedians(t, v, a, true)

	offl, err := a.Postprocess(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for r := range in.success {
		for j, n := range iNames {
			want := off.F64(t, r, n+"_r_repredicted")
			d := math.Abs(offl.RepredictedIntensity[r][j] - want)
			res.repredMax = max(res.repredMax, d)
			if d > onlineTol {
				t.Errorf("%s frame %d %s_r re-predicted = %.17g, OpenFace %.17g", v.short, r, n, offl.RepredictedIntensity[r][j], want)
			}
			want = off.F64(t, r, n+"_r")
			d = math.Abs(offl.Intensity[r][j] - want)
			res.offlineMax = max(res.offlineMax, d)
			if d > offlineTol {
				t.Errorf("%s frame %d %s_r offline = %.17g, OpenFace %.17g", v.short, r, n, offl.Intensity[r][j], want)
			}
		}
		for j, n := range oNames {
			if want := off.F64(t, r, n+"_c_repredicted"); offl.RepredictedOccurrence[r][j] != want {
				t.Errorf("%s frame %d %s_c re-predicted = %v, OpenFace %v", v.short, r, n, offl.RepredictedOccurrence[r][j], want)
			}
			if want := off.F64(t, r, n+"_c"); offl.Occurrence[r][j] != want {
				res.classFlips++
				t.Errorf("%s frame %d %s_c offline = %v, OpenFace %v", v.short, r, n, offl.Occurrence[r][j], want)
			}
		}
	}
	checkCSVText(t, v, offl)
	t.Logf("%s: online |Δ| max %.3g (%d/%d intensities bit-identical), re-predicted |Δ| max %.3g, offline |Δ| max %.3g, occurrence mismatches %d",
		v.short, res.onlineMax, res.onlineExact, res.onlineN, res.repredMax, res.offlineMax, res.classFlips)
	return res
}

// checkFinalMedians compares the Analyser's medians with final_medians.csv:
// every dimension, or with hogAll false only the HOG dimensions the online
// dump samples.
func checkFinalMedians(t *testing.T, v refVideo, a *Analyser, hogAll bool) {
	t.Helper()
	fm := reference.Fullprec(t, v.name, "final_medians")
	hm, gm := a.HOGMedian(), a.GeomMedian()
	sampled := map[int]bool{}
	for _, i := range medianHOGIdx {
		sampled[i] = true
	}
	var checked int
	for r := range fm.Rows {
		i, err := strconv.Atoi(fm.Str(t, r, "index"))
		if err != nil {
			t.Fatal(err)
		}
		want := fm.F64(t, r, "value")
		if n := int(fm.F64(t, r, "hist_count")); n != a.MedianFrames() {
			t.Fatalf("%s: final medians hold %d frames, ours %d", v.short, n, a.MedianFrames())
		}
		var got float64
		switch fm.Str(t, r, "descriptor") {
		case "hog":
			if !hogAll && !sampled[i] {
				continue
			}
			got = hm[i]
		case "geom":
			got = gm[i]
		default:
			t.Fatalf("%s row %d: unknown descriptor", fm.Path, r)
		}
		checked++
		if got != want {
			t.Errorf("%s final %s median %d = %.17g, OpenFace %.17g", v.short, fm.Str(t, r, "descriptor"), i, got, want)
		}
	}
	t.Logf("%s: %d final median values identical", v.short, checked)
}

// TestV01MatchesOpenFace runs v01 on OpenFace's own HOG descriptors (the
// .hog file) and FaceAnalyser parameters.
func TestV01MatchesOpenFace(t *testing.T) {
	hogs := v01HOG(t)
	in := loadInputs(t, refVideos[0])
	if len(hogs) != len(in.success) {
		t.Fatalf("%d .hog frames, %d frames", len(hogs), len(in.success))
	}
	for r, h := range hogs {
		if h.Success != in.success[r] {
			t.Fatalf("frame %d: .hog success %v, frames.csv %v", r, h.Success, in.success[r])
		}
	}
	runVideo(t, refVideos[0], func(r int) []float32 { return hogs[r].Data })
}

// TestMediansFromSampledDimensions checks the running medians of v02 and
// v04 (which have no .hog file) on every frame: the geometry median on
// all dimensions from the FaceAnalyser parameters, and the HOG median on
// the four dimensions whose per-frame values the online dump records (each
// dimension's histogram is independent of the others).
func TestMediansFromSampledDimensions(t *testing.T) {
	p, md := loadModels(t)
	for _, v := range refVideos {
		t.Run(v.short, func(t *testing.T) {
			in := loadInputs(t, v)
			on := reference.Fullprec(t, v.name, "au_online")
			a, err := NewAnalyser(p, md)
			if err != nil {
				t.Fatal(err)
			}
			hog := make([]float32, HOGLen)
			for r := range in.success {
				for _, i := range medianHOGIdx {
					hog[i] = float32(on.F64(t, r, "hog_"+strconv.Itoa(i)))
				}
				if _, err := a.Add(Frame{HOG: hog, Local: in.local[r], Success: in.success[r]}); err != nil {
					t.Fatal(err)
				}
				hm, gm := a.HOGMedian(), a.GeomMedian()
				for _, i := range medianHOGIdx {
					if want := on.F64(t, r, "hog_median_"+strconv.Itoa(i)); hm[i] != want {
						t.Fatalf("frame %d: HOG median %d = %.17g, OpenFace %.17g", r, i, hm[i], want)
					}
				}
				for _, i := range medianGeomIdx {
					if want := on.F64(t, r, "geom_median_"+strconv.Itoa(i)); gm[i] != want {
						t.Fatalf("frame %d: geometry median %d = %.17g, OpenFace %.17g", r, i, gm[i], want)
					}
				}
			}
			checkFinalMedians(t, v, a, false)
		})
	}
}

// TestGeometryMatchesOpenFace compares the geometry descriptor values the
// online dump records for every successful frame, bit for bit.
func TestGeometryMatchesOpenFace(t *testing.T) {
	_, md := loadModels(t)
	for _, v := range refVideos {
		t.Run(v.short, func(t *testing.T) {
			in := loadInputs(t, v)
			on := reference.Fullprec(t, v.name, "au_online")
			var n int
			for r, loc := range in.local {
				if loc == nil {
					continue
				}
				g, err := Geometry(md, loc, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, i := range medianGeomIdx {
					if want := on.F64(t, r, "geom_"+strconv.Itoa(i)); g[i] != want {
						t.Errorf("frame %d: geometry %d = %.17g, OpenFace %.17g", r, i, g[i], want)
					}
					n++
				}
			}
			t.Logf("%d geometry values identical", n)
		})
	}
}

// TestFinaliseMatchesOpenFace redoes the offline offsets, clamping and
// smoothing from the dumped re-predicted histories of all three videos
// (v02 has a failed frame) and expects the final values bit for bit.
func TestFinaliseMatchesOpenFace(t *testing.T) {
	p, _ := loadModels(t)
	iNames, oNames := p.IntensityNames(), p.OccurrenceNames()
	width := len(iNames) + len(oNames)
	for _, v := range refVideos {
		t.Run(v.short, func(t *testing.T) {
			off := reference.Fullprec(t, v.name, "au_offline")
			n := len(off.Rows)
			success := make([]bool, n)
			hist := make([]float64, n*width)
			for r := 0; r < n; r++ {
				success[r] = off.Flag(t, r, "success")
				for j, name := range iNames {
					hist[r*width+j] = off.F64(t, r, name+"_r_repredicted")
				}
				for j, name := range oNames {
					hist[r*width+len(iNames)+j] = off.F64(t, r, name+"_c_repredicted")
				}
			}
			finalise(hist, width, success, p.Intensity)
			for r := 0; r < n; r++ {
				for j, name := range iNames {
					if got, want := hist[r*width+j], off.F64(t, r, name+"_r"); got != want {
						t.Errorf("frame %d %s_r = %.17g, OpenFace %.17g", r, name, got, want)
					}
				}
				for j, name := range oNames {
					if got, want := hist[r*width+len(iNames)+j], off.F64(t, r, name+"_c"); got != want {
						t.Errorf("frame %d %s_c = %v, OpenFace %v", r, name, got, want)
					}
				}
			}
		})
	}
}

// checkCSVText puts the offline AUs into OpenFace's CSV for the video and
// expects the written file to be byte-identical to the reference.
func checkCSVText(t *testing.T, v refVideo, offl *Offline) {
	t.Helper()
	path := sharedtest.Reference(t, v.name+"/"+v.name+".csv")
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := openfacecsv.Read(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rows) != len(offl.Intensity) {
		t.Fatalf("%s: CSV has %d rows, %d frames analysed", v.short, len(f.Rows), len(offl.Intensity))
	}
	p, _ := loadModels(t)
	if !slices.Equal(f.Layout.IntensityAUs, p.IntensityNames()) || !slices.Equal(f.Layout.OccurrenceAUs, p.OccurrenceNames()) {
		t.Fatalf("%s: CSV AU columns differ from the predictors", v.short)
	}
	for r := range f.Rows {
		f.Rows[r].Intensity = offl.Intensity[r]
		f.Rows[r].Occurrence = offl.Occurrence[r]
	}
	var buf bytes.Buffer
	enc, err := openfacecsv.NewEncoder(&buf, f.Layout)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Rows {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s: CSV with our AU values differs from OpenFace's", v.short)
	}
}
