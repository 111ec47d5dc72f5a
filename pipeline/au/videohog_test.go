package au

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strconv"
	"testing"

	"facemirror/internal/reference"
	"facemirror/internal/sharedtest"
	"facemirror/pipeline/align"
	"facemirror/pipeline/fhog"
	"facemirror/pipeline/pdm"
	"facemirror/pipeline/video"
)

// videoHOG decodes the video and computes every successful frame's HOG
// descriptor the way FaceAnalyser does: align and mask the face from
// OpenFace's final landmarks and its FaceAnalyser parameters, then FHOG.
// Failed frames get nil (the Analyser uses the black face).
func videoHOG(t *testing.T, v refVideo) [][]float32 {
	t.Helper()
	_, md := loadModels(t)
	tris, err := align.LoadTriangulation(filepath.Join(sharedtest.Models(t), "AU_predictors", "tris_68_full.txt"))
	if err != nil {
		t.Fatal(err)
	}
	al, err := align.New(md, tris)
	if err != nil {
		t.Fatal(err)
	}
	fr := reference.Frames(t, v.name)
	lmNames := make([]string, 0, 136)
	for _, c := range []string{"x_", "y_"} {
		for i := 0; i < 68; i++ {
			lmNames = append(lmNames, c+strconv.Itoa(i))
		}
	}
	rd, err := video.Open(context.Background(), sharedtest.Media(t, "videos/"+v.name+".mp4"))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var ext fhog.Extractor
	out := make([][]float32, len(fr.Rows))
	for r := range fr.Rows {
		f, err := rd.Read()
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s: video ends after %d frames, reference has %d", v.short, r, len(fr.Rows))
		}
		if err != nil {
			t.Fatal(err)
		}
		if !fr.Flag(t, r, "success") {
			f.Mat.Close()
			continue
		}
		lm := make([]float32, len(lmNames))
		for i, n := range lmNames {
			lm[i] = fr.F32(t, r, n)
		}
		g := pdm.Global{
			Scale: fr.F32(t, r, "fa_p_scale"),
			Rx:    fr.F32(t, r, "fa_p_rx"), Ry: fr.F32(t, r, "fa_p_ry"), Rz: fr.F32(t, r, "fa_p_rz"),
			Tx: fr.F32(t, r, "fa_p_tx"), Ty: fr.F32(t, r, "fa_p_ty"),
		}
		face, err := al.Align(f.Mat, lm, g)
		f.Mat.Close()
		if err != nil {
			t.Fatalf("%s frame %d: %v", v.short, r, err)
		}
		pix, err := face.DataPtrUint8()
		if err != nil {
			face.Close()
			t.Fatal(err)
		}
		d, err := ext.Extract(nil, pix, face.Cols(), face.Rows(), face.Cols()*3)
		face.Close()
		if err != nil {
			t.Fatalf("%s frame %d: %v", v.short, r, err)
		}
		out[r] = d.Data
	}
	return out
}

// TestVideoHOGMatchesOpenFace runs v02 and v04 from the decoded video:
// HOG from pipeline/align and pipeline/fhog, geometry from the
// FaceAnalyser parameters. It checks the four HOG values per frame the
// dump records, then everything runVideo checks.
func TestVideoHOGMatchesOpenFace(t *testing.T) {
	for _, v := range refVideos[1:] {
		t.Run(v.short, func(t *testing.T) {
			hogs := videoHOG(t, v)
			on := reference.Fullprec(t, v.name, "au_online")
			for r, h := range hogs {
				if h == nil {
					continue
				}
				for _, i := range medianHOGIdx {
					if want := on.F64(t, r, "hog_"+strconv.Itoa(i)); float64(h[i]) != want {
						t.Errorf("frame %d: HOG %d = %v, OpenFace %v", r, i, h[i], want)
					}
				}
			}
			runVideo(t, v, func(r int) []float32 { return hogs[r] })
		})
	}
}
