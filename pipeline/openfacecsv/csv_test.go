package openfacecsv

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"facemirror/internal/sharedtest"
)

// referenceCSVs are the FeatureExtraction outputs of shared/reference.
var referenceCSVs = []string{
	"v01_talking_frontal_glasses_480x360",
	"v02_emotions_sad_to_laughing_640x360_pexels",
	"v04_eyeclosure_cheekpuff_smile_glasses_512x480",
	"v10_grid_talking_frontal_mpeg1_360x288",
	"d04_emotions_upscaled_1920x1080_19.7s",
	"e01_neutral_to_smile_2.4s_mp3audio_640x360",
	"e02_face_then_noface_hevc_vfr_audiofirst_960x540",
	"e03_noface_animation_caminandes_960x540",
}

func referenceText(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(sharedtest.Reference(t, name+"/"+name+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func encode(t testing.TB, l Layout, rows []Row) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc, err := NewEncoder(&buf, l)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// firstDiff describes where two texts first differ.
func firstDiff(got, want []byte) string {
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(gl) && i < len(wl); i++ {
		if gl[i] == wl[i] {
			continue
		}
		g, w := strings.Split(gl[i], ","), strings.Split(wl[i], ",")
		for j := 0; j < len(g) && j < len(w); j++ {
			if g[j] != w[j] {
				return "line " + strconv.Itoa(i+1) + " field " + strconv.Itoa(j+1) + ": got " + g[j] + ", want " + w[j]
			}
		}
		return "line " + strconv.Itoa(i+1) + ": " + strconv.Itoa(len(g)) + " fields, want " + strconv.Itoa(len(w))
	}
	return strconv.Itoa(len(gl)) + " lines, want " + strconv.Itoa(len(wl))
}

// TestRoundTripReferenceCSVs reads every reference CSV and writes it back:
// the text must be byte-identical, gaze included.
func TestRoundTripReferenceCSVs(t *testing.T) {
	for _, name := range referenceCSVs {
		t.Run(name[:3], func(t *testing.T) {
			want := referenceText(t, name)
			f, err := Read(bytes.NewReader(want))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f.Layout, OpenFaceLayout()) {
				t.Errorf("layout %+v, want OpenFaceLayout()", f.Layout)
			}
			if n := bytes.Count(want, []byte("\n")) - 1; len(f.Rows) != n {
				t.Fatalf("%d rows, file has %d", len(f.Rows), n)
			}
			for i, r := range f.Rows {
				if r.Frame != i+1 {
					t.Fatalf("row %d has frame %d", i, r.Frame)
				}
			}
			got := encode(t, f.Layout, f.Rows)
			if !bytes.Equal(got, want) {
				t.Fatalf("written text differs: %s", firstDiff(got, want))
			}
			t.Logf("%d rows × %d columns byte-identical", len(f.Rows), len(f.Layout.Columns()))
		})
	}
}

// TestHeaderMatchesReference compares OpenFaceLayout's header with every
// reference file's first line.
func TestHeaderMatchesReference(t *testing.T) {
	want := strings.Join(OpenFaceLayout().Columns(), ",")
	if n := len(OpenFaceLayout().Columns()); n != 714 {
		t.Errorf("%d columns, want 714", n)
	}
	for _, name := range referenceCSVs {
		text := referenceText(t, name)
		header, _, _ := bytes.Cut(text, []byte("\n"))
		if string(header) != want {
			t.Errorf("%s: header differs: %s", name, firstDiff(header, []byte(want)))
		}
	}
}

// dropColumns removes the named columns from every line of text.
func dropColumns(text []byte, drop map[string]bool) []byte {
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	header := strings.Split(lines[0], ",")
	var out strings.Builder
	for _, line := range lines {
		fs := strings.Split(line, ",")
		first := true
		for j, v := range fs {
			if drop[header[j]] {
				continue
			}
			if !first {
				out.WriteByte(',')
			}
			out.WriteString(v)
			first = false
		}
		out.WriteByte('\n')
	}
	return []byte(out.String())
}

// TestOmittedBlocks writes reference rows with blocks left out; the text
// must equal the reference with those columns deleted.
func TestOmittedBlocks(t *testing.T) {
	full := OpenFaceLayout()
	cases := map[string]func(*Blocks){
		"no gaze":          func(b *Blocks) { b.Gaze = false },
		"no pose":          func(b *Blocks) { b.Pose = false },
		"no 2D landmarks":  func(b *Blocks) { b.Landmarks2D = false },
		"no 3D landmarks":  func(b *Blocks) { b.Landmarks3D = false },
		"no params":        func(b *Blocks) { b.Params = false },
		"no AUs":           func(b *Blocks) { b.AUs = false },
		"only base":        func(b *Blocks) { *b = Blocks{} },
		"landmarks and AU": func(b *Blocks) { *b = Blocks{Landmarks2D: true, AUs: true} },
	}
	for _, name := range []string{referenceCSVs[1], referenceCSVs[6]} {
		text := referenceText(t, name)
		f, err := Read(bytes.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		for cname, edit := range cases {
			t.Run(name[:3]+" "+cname, func(t *testing.T) {
				l := full
				edit(&l.Blocks)
				kept := map[string]bool{}
				for _, c := range l.Columns() {
					kept[c] = true
				}
				drop := map[string]bool{}
				for _, c := range full.Columns() {
					drop[c] = !kept[c]
				}
				want := dropColumns(text, drop)
				got := encode(t, l, f.Rows)
				if !bytes.Equal(got, want) {
					t.Fatalf("text differs: %s", firstDiff(got, want))
				}
				// And the reader recognises the reduced layout.
				back, err := Read(bytes.NewReader(got))
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(back.Layout.Columns(), l.Columns()) {
					t.Fatalf("re-read layout has columns %v", back.Layout.Columns()[:8])
				}
			})
		}
	}
}

// TestReadWindowsSeparators reads a file with ", " separators, CRLF line
// ends and a byte-order mark, as some Windows builds wrote.
func TestReadWindowsSeparators(t *testing.T) {
	text := referenceText(t, referenceCSVs[0])
	want, err := Read(bytes.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	win := "\ufeff" + strings.ReplaceAll(strings.ReplaceAll(string(text), ",", ", "), "\n", "\r\n")
	got, err := Read(strings.NewReader(win))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("rows read from the Windows-style file differ")
	}
	// Writing never uses spaces.
	if out := encode(t, got.Layout, got.Rows); !bytes.Equal(out, text) {
		t.Fatalf("re-written text differs: %s", firstDiff(out, text))
	}
}

func TestReadErrors(t *testing.T) {
	text := string(referenceText(t, referenceCSVs[0]))
	header, body, _ := strings.Cut(text, "\n")
	line2, _, _ := strings.Cut(body, "\n")
	fields := strings.Split(line2, ",")
	withField := func(i int, v string) string {
		f := append([]string(nil), fields...)
		f[i] = v
		return header + "\n" + strings.Join(f, ",") + "\n"
	}
	cases := []struct {
		name, text, mention string
	}{
		{"empty", "", "empty"},
		{"image mode", "face,confidence\n1,0.9\n", "sequence"},
		{"unknown column", strings.Replace(header, "pose_Tx", "pose_T", 1) + "\n", "column"},
		{"missing column", strings.Replace(header, ",pose_Ty", "", 1) + "\n", "column"},
		{"fewer modes in rows", strings.Replace(header, ",p_33", "", 1) + "\n" + line2 + "\n", "line 2 has"},
		{"extra column", header + ",extra\n", "extra"},
		{"truncated row", header + "\n" + line2[:len(line2)/2] + "\n", "line 2 has"},
		{"bad number", withField(20, "1.2.3"), "line 2 column"},
		{"NaN", withField(20, "nan"), "not a finite number"},
		{"bad success", withField(4, "yes"), "success"},
		{"bad frame", withField(0, "1.5"), "frame"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(c.text))
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v, want ErrFormat", err)
			}
			if !strings.Contains(err.Error(), c.mention) {
				t.Errorf("error %q does not mention %q", err, c.mention)
			}
		})
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestEncodeRejectsBadRows(t *testing.T) {
	l := OpenFaceLayout()
	good := NewRow(l)
	short := NewRow(l)
	short.Landmarks2D = short.Landmarks2D[:10]
	nan := NewRow(l)
	nan.Intensity[3] = math.NaN()
	inf := NewRow(l)
	inf.Pose[2] = math.Inf(-1)
	for name, r := range map[string]Row{"short landmarks": short, "NaN AU": nan, "Inf pose": inf} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			enc, err := NewEncoder(&buf, l)
			if err != nil {
				t.Fatal(err)
			}
			n := buf.Len()
			if err := enc.Encode(r); !errors.Is(err, ErrRow) {
				t.Fatalf("error %v, want ErrRow", err)
			}
			if buf.Len() != n {
				t.Error("a refused row wrote text")
			}
			if err := enc.Encode(good); err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := NewEncoder(io.Discard, Layout{Blocks: Blocks{Landmarks2D: true}}); !errors.Is(err, ErrLayout) {
		t.Errorf("layout without landmark count: %v", err)
	}
	bad := OpenFaceLayout()
	bad.IntensityAUs[0] = "AU,01"
	if _, err := NewEncoder(io.Discard, bad); !errors.Is(err, ErrLayout) {
		t.Errorf("AU name with a comma: %v", err)
	}
}

// dirEntries lists the names in dir.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriterAtomic(t *testing.T) {
	text := referenceText(t, referenceCSVs[5])
	f, err := Read(bytes.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	l := f.Layout

	t.Run("commit", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "out.csv")
		if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := WriteFile(path, l, f.Rows); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, text) {
			t.Fatalf("file differs: %s", firstDiff(got, text))
		}
		if names := dirEntries(t, dir); len(names) != 1 {
			t.Errorf("folder holds %v, want only out.csv", names)
		}
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("mode %v, %v", st.Mode(), err)
		}
	})

	t.Run("row error", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "out.csv")
		if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		w, err := Create(path, l)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		if err := w.Write(f.Rows[0]); err != nil {
			t.Fatal(err)
		}
		bad := f.Rows[1]
		bad.Local = nil
		if err := w.Write(bad); !errors.Is(err, ErrRow) {
			t.Fatalf("error %v, want ErrRow", err)
		}
		if names := dirEntries(t, dir); len(names) != 1 {
			t.Errorf("after the error the folder holds %v", names)
		}
		if err := w.Write(f.Rows[2]); err == nil {
			t.Error("Write after an error succeeded")
		}
		if err := w.Commit(); err == nil {
			t.Error("Commit after an error succeeded")
		}
		if got, _ := os.ReadFile(path); string(got) != "old\n" {
			t.Errorf("destination changed to %q", got[:min(len(got), 40)])
		}
	})

	t.Run("abort", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "out.csv")
		w, err := Create(path, l)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range f.Rows[:10] {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		w.Abort()
		w.Abort()
		if names := dirEntries(t, dir); len(names) != 0 {
			t.Errorf("after Abort the folder holds %v", names)
		}
		if err := w.Commit(); err == nil {
			t.Error("Commit after Abort succeeded")
		}
	})

	t.Run("rename fails", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "out.csv")
		// A non-empty folder in the way makes the rename fail.
		if err := os.MkdirAll(filepath.Join(path, "x"), 0o755); err != nil {
			t.Fatal(err)
		}
		err := WriteFile(path, l, f.Rows)
		if err == nil {
			t.Fatal("no error")
		}
		if names := dirEntries(t, dir); len(names) != 1 || names[0] != "out.csv" {
			t.Errorf("after the failed rename the folder holds %v", names)
		}
	})

	t.Run("no folder", func(t *testing.T) {
		if _, err := Create(filepath.Join(t.TempDir(), "missing", "out.csv"), l); err == nil {
			t.Error("no error")
		}
	})
}

// BenchmarkEncodeRow measures writing one full 714-column row.
func BenchmarkEncodeRow(b *testing.B) {
	f, err := Read(bytes.NewReader(referenceText(b, referenceCSVs[0])))
	if err != nil {
		b.Fatal(err)
	}
	enc, err := NewEncoder(io.Discard, f.Layout)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		if err := enc.Encode(f.Rows[i%len(f.Rows)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
