package job

import (
	"bytes"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"facemirror/internal/sharedtest"
	"facemirror/pipeline/fhog"
	"facemirror/pipeline/openface"

	"golang.org/x/image/bmp"
)

// With HOG and Aligned, v01's .hog file is OpenFace's byte for byte and
// every aligned face has the pixels of OpenFace's -simalign picture.
func TestHOGAndAlignedEqualOpenFace(t *testing.T) {
	v01 := processVideos[0]
	name := strings.TrimSuffix(filepath.Base(v01), filepath.Ext(v01))
	run := processWith(t, t.TempDir(), Options{Workers: testWorkers, HOG: true, Aligned: true}, v01)
	if err := run.report.Files[0].Err; err != nil {
		t.Fatal(err)
	}
	stem := strings.TrimSuffix(CSVPath(v01, run.dir), ".csv")
	got, err := os.ReadFile(stem + ".hog")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(sharedtest.Reference(t, name+"/"+name+".hog"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf(".hog: %d bytes differ from OpenFace's %d", len(got), len(want))
	}
	refDir := sharedtest.Reference(t, name+"/aligned")
	refs, err := os.ReadDir(refDir)
	if err != nil {
		t.Fatal(err)
	}
	faces, err := os.ReadDir(stem + "_aligned")
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) != len(refs) {
		t.Fatalf("%d aligned faces, OpenFace wrote %d", len(faces), len(refs))
	}
	differ := 0
	for _, r := range refs {
		base := strings.TrimSuffix(r.Name(), ".png")
		ref := decodeFile(t, filepath.Join(refDir, r.Name()), png.Decode)
		face := decodeFile(t, filepath.Join(stem+"_aligned", base+".bmp"), bmp.Decode)
		if !samePixels(face, ref) {
			differ++
		}
	}
	if differ > 0 {
		t.Errorf("%d of %d aligned faces differ from OpenFace's", differ, len(refs))
	}
}

func decodeFile(t *testing.T, path string, decode func(r io.Reader) (image.Image, error)) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return img
}

// samePixels compares two pictures by their 8-bit RGB values.
func samePixels(a, b image.Image) bool {
	if a.Bounds().Size() != b.Bounds().Size() {
		return false
	}
	ab, bb := a.Bounds(), b.Bounds()
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			r1, g1, b1, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			if r1>>8 != r2>>8 || g1>>8 != g2>>8 || b1>>8 != b2>>8 {
				return false
			}
		}
	}
	return true
}

// The recorder writes what OpenFace writes for each kind of frame: a
// tracked frame's descriptor and face; for a first detection the AU stage
// did not use (success without AU success) the black face and its
// descriptor, flagged successful; for a failed frame the black face's
// descriptor flagged -1 and no picture. Until commit everything is
// hidden; commit replaces an earlier folder of faces whole; discard
// leaves nothing.
func TestRecorder(t *testing.T) {
	dir := t.TempDir()
	stem := filepath.Join(dir, "clip")
	// An earlier run's folder, with a face this run does not write.
	if err := os.MkdirAll(stem+"_aligned", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stem+"_aligned", "frame_det_00_000009.bmp"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec, err := newRecorder(stem, true, true)
	if err != nil {
		t.Fatal(err)
	}
	hog := make([]float32, len(rec.black.Data))
	for i := range hog {
		hog[i] = float32(i%7) / 7
	}
	face := make([]byte, 112*112*3)
	for i := range face {
		face[i] = byte(i)
	}
	frames := []openface.FrameResult{
		{Success: true, AUSuccess: true, HOG: hog, Aligned: face},
		{Success: true},
		{},
	}
	for i, fr := range frames {
		if err := rec.add(i, fr); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(stem + ".hog"); !os.IsNotExist(err) {
		t.Errorf("the HOG file is visible before commit: %v", err)
	}
	done, err := rec.commit()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(done, "|") != stem+".hog|"+stem+"_aligned" {
		t.Errorf("committed %q", done)
	}
	f, err := os.Open(stem + ".hog")
	if err != nil {
		t.Fatal(err)
	}
	got, err := fhog.ReadHOGFile(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !got[0].Success || !got[1].Success || got[2].Success {
		t.Fatalf("%d HOG frames, flags %v", len(got), got)
	}
	for i, want := range [][]float32{hog, rec.black.Data, rec.black.Data} {
		if got[i].Rows != 12 || got[i].Cols != 12 || !slices.Equal(got[i].Data, want) {
			t.Errorf("HOG frame %d: %dx%d, values differ", i+1, got[i].Rows, got[i].Cols)
		}
	}
	names := dirNames(t, stem+"_aligned")
	if names != "frame_det_00_000001.bmp|frame_det_00_000002.bmp" {
		t.Fatalf("aligned folder holds %s", names)
	}
	first := decodeFile(t, filepath.Join(stem+"_aligned", "frame_det_00_000001.bmp"), bmp.Decode)
	r, g, b, _ := first.At(1, 0).RGBA() // bytes 3, 4, 5: blue, green, red
	if r>>8 != 5 || g>>8 != 4 || b>>8 != 3 {
		t.Errorf("pixel (1, 0) is %d %d %d, want red 5, green 4, blue 3", r>>8, g>>8, b>>8)
	}
	second := decodeFile(t, filepath.Join(stem+"_aligned", "frame_det_00_000002.bmp"), bmp.Decode)
	if r, g, b, _ := second.At(50, 50).RGBA(); r|g|b != 0 {
		t.Errorf("the face the AU stage did not use is not black")
	}
	if names := dirNames(t, dir); names != "clip.hog|clip_aligned" {
		t.Errorf("folder holds %s after commit", names)
	}

	rec, err = newRecorder(filepath.Join(dir, "other"), true, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.add(0, frames[0]); err != nil {
		t.Fatal(err)
	}
	rec.discard()
	if names := dirNames(t, dir); names != "clip.hog|clip_aligned" {
		t.Errorf("folder holds %s after discard", names)
	}
}

// dirNames lists a folder's entries, hidden ones included, joined by |.
func dirNames(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, "|")
}
