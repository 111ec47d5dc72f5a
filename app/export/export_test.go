package export

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"facemirror/internal/sharedtest"
	"facemirror/pipeline/asymmetry"
	"facemirror/pipeline/openfacecsv"
)

// The inputs in testdata hold the first rows of reference CSVs, cut to
// the base and AU columns, two with another block that moves the AU
// columns:
//
//   - p01.csv: v01 frames 1–3, with the ", " separators of OpenFace's
//     Windows builds;
//   - p01_left_mirrored.csv: v02 frames 1–3 with the pose block;
//   - p01_right_mirrored.csv: e02 frames 72–74, renumbered 1–3 (the face
//     is lost after the first), with the gaze angles, a byte-order mark
//     and CRLF line ends;
//   - p02.csv: v04 frames 1–2;
//   - p01_summary.csv, p03_summary.csv: short hand-written summaries in
//     the format of package asymmetry (not computed from the CSVs), the
//     second as for a video without a face;
//   - bad_no_au12.csv: a source lacking AU12_r.
//
// aus.golden and summary.golden are the expected exports, made by a
// script that split the inputs' text by hand, independently of this
// package.

func testdata(name string) string { return filepath.Join("testdata", name) }

var (
	patient01 = Video{
		Name:    "patient01.mp4",
		Source:  testdata("p01.csv"),
		Left:    testdata("p01_left_mirrored.csv"),
		Right:   testdata("p01_right_mirrored.csv"),
		Summary: testdata("p01_summary.csv"),
	}
	patient02 = Video{Name: "patient02.mp4", Source: testdata("p02.csv")} // mode "aus"
	patient03 = Video{Name: "patient03.mp4"}                              // mode "mirror"
)

func golden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(testdata(name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// goldenLines returns the header of a golden file and its rows starting
// with prefix.
func goldenLines(t *testing.T, name, prefix string) string {
	t.Helper()
	lines := strings.SplitAfter(golden(t, name), "\n")
	out := lines[0]
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, prefix) {
			out += l
		}
	}
	return out
}

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
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

func TestAUs(t *testing.T) {
	summaryOnly := Video{Name: "patient04.mp4", Summary: testdata("p03_summary.csv")}
	cases := []struct {
		name    string
		videos  []Video
		want    func(t *testing.T) string
		rows    int
		skipped []string
	}{
		{
			name:   "full and AUs only",
			videos: []Video{patient01, patient02},
			want:   func(t *testing.T) string { return golden(t, "aus.golden") },
			rows:   11,
		},
		{
			name:   "sides in order whatever the fields' order",
			videos: []Video{{Name: "patient01.mp4", Right: patient01.Right, Left: patient01.Left}},
			want: func(t *testing.T) string {
				h := goldenLines(t, "aus.golden", "patient01.mp4,left,")
				return h + strings.TrimPrefix(goldenLines(t, "aus.golden", "patient01.mp4,right,"), strings.SplitAfter(h, "\n")[0])
			},
			rows: 6,
		},
		{
			name:    "skipped",
			videos:  []Video{patient03, patient02, summaryOnly},
			want:    func(t *testing.T) string { return goldenLines(t, "aus.golden", "patient02.mp4,") },
			rows:    2,
			skipped: []string{"patient03.mp4: no AU CSV (processed as mirror only)", "patient04.mp4: no AU CSV"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkExport(t, AUs, "aus.csv", c.videos, c.want(t), c.rows, c.skipped)
		})
	}
}

// checkExport runs export into a new folder and checks its report and its
// file, and that nothing else is left there.
func checkExport(t *testing.T, export func(string, []Video) (Report, error), name string, videos []Video, want string, rows int, skipped []string) {
	t.Helper()
	dir := t.TempDir()
	dst := filepath.Join(dir, name)
	rep, err := export(dst, videos)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != rows || !slices.Equal(rep.Skipped, skipped) {
		t.Errorf("report %+v, want %d rows, skipped %q", rep, rows, skipped)
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("export:\n%s\nwant:\n%s", got, want)
	}
	if names := entries(t, dir); !slices.Equal(names, []string{name}) {
		t.Errorf("folder holds %v", names)
	}
	if st, err := os.Stat(dst); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v", st.Mode(), err)
	}
}

func TestSummary(t *testing.T) {
	patient03Summary := Video{Name: "patient, 03.mp4", Summary: testdata("p03_summary.csv")}
	cases := []struct {
		name    string
		videos  []Video
		want    string
		rows    int
		skipped []string
	}{
		{
			name:    "rows of each summary",
			videos:  []Video{patient01, patient02, patient03Summary},
			want:    golden(t, "summary.golden"),
			rows:    8,
			skipped: []string{"patient02.mp4: no summary (processed as AUs only)"},
		},
		{
			name: "skipped",
			videos: []Video{
				patient03,
				{Name: "patient05.mp4", Source: patient01.Source, Left: patient01.Left, Right: patient01.Right},
				{Name: "p\xff03.mp4", Summary: testdata("p03_summary.csv")},
			},
			want: "video,item,kind,frames,mean_left,mean_right,mean_abs_diff,asymmetry_index\n" +
				"p\uFFFD03.mp4,AU01,au,0,,,,\n" +
				"p\uFFFD03.mp4,upper,region,0,,,,\n",
			rows:    2,
			skipped: []string{"patient03.mp4: no summary (processed as mirror only)", "patient05.mp4: no summary"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkExport(t, Summary, "summary.csv", c.videos, c.want, c.rows, c.skipped)
		})
	}
}

// TestErrors checks that every failure names what is wrong and leaves the
// destination and its folder as they were.
func TestErrors(t *testing.T) {
	const old = "old export\n"
	type exportFunc func(string, []Video) (Report, error)
	cases := []struct {
		name   string
		export exportFunc
		// setup returns the videos to export and, for cases about the
		// destination, its path (else dir/out.csv, holding old).
		setup   func(t *testing.T, dir string) ([]Video, string)
		is      error
		mention []string
		skipped []string
	}{
		{
			name:   "missing AU column",
			export: AUs,
			setup: func(t *testing.T, dir string) ([]Video, string) {
				return []Video{patient02, {Name: "patient01.mp4", Source: patient01.Source, Left: testdata("bad_no_au12.csv")}}, ""
			},
			is:      ErrMissingColumn,
			mention: []string{"patient01.mp4 left CSV", "bad_no_au12.csv", "missing column AU12_r"},
		},
		{
			name:   "no AU columns",
			export: AUs,
			setup: func(t *testing.T, dir string) ([]Video, string) {
				p := filepath.Join(t.TempDir(), "p.csv")
				write(t, p, "frame,face_id,timestamp,confidence,success\n1,0,0.000,0.98,1\n")
				return []Video{{Name: "p.mp4", Source: p}}, ""
			},
			is:      ErrMissingColumn,
			mention: []string{"missing columns AU01_r, AU02_r", "AU45_c (no AU column at all: was OpenFace run without -aus?)"},
		},
		{
			name:   "column twice",
			export: AUs,
			setup: func(t *testing.T, dir string) ([]Video, string) {
				p := filepath.Join(t.TempDir(), "p.csv")
				text := golden(t, "p02.csv")
				text = strings.Replace(text, "AU12_c", "AU12_r", 1)
				write(t, p, text)
				return []Video{{Name: "p.mp4", Source: p}}, ""
			},
			mention: []string{"p.mp4 source CSV", "column AU12_r appears twice"},
		},
		{
			name:   "missing summary column",
			export: Summary,
			setup: func(t *testing.T, dir string) ([]Video, string) {
				p := filepath.Join(t.TempDir(), "p_summary.csv")
				write(t, p, "item,kind,frames,mean_left,mean_right,mean_abs_diff\nAU01,au,0,,,\n")
				return []Video{{Name: "p.mp4", Summary: p}}, ""
			},
			is:      ErrMissingColumn,
			mention: []string{"p.mp4 summary", "p_summary.csv", "missing column asymmetry_index"},
		},
		{
			name:   "missing file",
			export: AUs,
			setup: func(t *testing.T, dir string) ([]Video, string) {
				return []Video{patient01, {Name: "gone.mp4", Source: testdata("gone.csv")}}, ""
			},
			is:      fs.ErrNotExist,
			mention: []string{"gone.mp4 source CSV", "gone.csv", "cannot open"},
		},
		{
			name:   "input is a folder",
			export: Summary,
			setup: func(t *testing.T, dir string) ([]Video, string) {
				return []Video{{Name: "p.mp4", Summary: t.TempDir()}}, ""
			},
			mention: []string{"p.mp4 summary", "is a directory"},
		},
		{
			name:   "empty file",
			export: AUs,
			setup: func(t *testing.T, dir string) ([]Video, string) {
				p := filepath.Join(t.TempDir(), "empty.csv")
				write(t, p, "")
				return []Video{{Name: "p.mp4", Source: p}}, ""
			},
			mention: []string{"empty.csv", "empty file"},
		},
		{
			// The broken row comes after other rows were written, so the
			// temporary file must be removed.
			name:   "short row",
			export: AUs,
			setup: func(t *testing.T, dir string) ([]Video, string) {
				text := golden(t, "p02.csv")
				text = text[:len(text)-20] + "\n"
				p := filepath.Join(t.TempDir(), "short.csv")
				write(t, p, text)
				return []Video{patient01, {Name: "short.mp4", Source: p}}, ""
			},
			is:      csv.ErrFieldCount,
			mention: []string{"short.mp4 source CSV", "short.csv", "line 3", "wrong number of fields"},
		},
		{
			name:    "nothing to export",
			export:  Summary,
			setup:   func(t *testing.T, dir string) ([]Video, string) { return []Video{patient02, patient03}, "" },
			is:      ErrNothingToExport,
			mention: []string{"nothing to export: patient02.mp4: no summary (processed as AUs only); patient03.mp4: no summary (processed as mirror only)"},
			skipped: []string{"patient02.mp4: no summary (processed as AUs only)", "patient03.mp4: no summary (processed as mirror only)"},
		},
		{
			name:    "no videos",
			export:  AUs,
			setup:   func(t *testing.T, dir string) ([]Video, string) { return nil, "" },
			is:      ErrNothingToExport,
			mention: []string{"nothing to export: no videos selected"},
		},
		{
			name:   "folder missing",
			export: AUs,
			setup: func(t *testing.T, dir string) ([]Video, string) {
				return []Video{patient01}, filepath.Join(dir, "gone", "out.csv")
			},
			mention: []string{string(filepath.Separator) + "gone does not exist"},
		},
		{
			name:   "folder is a file",
			export: AUs,
			setup: func(t *testing.T, dir string) ([]Video, string) {
				return []Video{patient01}, filepath.Join(dir, "out.csv", "x.csv")
			},
			mention: []string{"out.csv is not a folder"},
		},
		{
			name:   "destination is a folder",
			export: Summary,
			setup: func(t *testing.T, dir string) ([]Video, string) {
				p := filepath.Join(dir, "sub")
				if err := os.Mkdir(p, 0o755); err != nil {
					t.Fatal(err)
				}
				return []Video{patient01}, p
			},
			mention: []string{"a folder of that name exists"},
		},
		{
			name:   "destination is an input",
			export: AUs,
			setup: func(t *testing.T, dir string) ([]Video, string) {
				p := filepath.Join(dir, "p02.csv")
				write(t, p, golden(t, "p02.csv"))
				return []Video{patient01, {Name: "patient02.mp4", Source: p}}, p
			},
			mention: []string{"destination is the patient02.mp4 source CSV"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "out.csv"), old)
			videos, dst := c.setup(t, dir)
			if dst == "" {
				dst = filepath.Join(dir, "out.csv")
			}
			before := entries(t, dir)
			contents := map[string]string{}
			for _, n := range before {
				if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
					contents[n] = string(b)
				}
			}
			rep, err := c.export(dst, videos)
			if err == nil {
				t.Fatalf("no error; report %+v", rep)
			}
			t.Log(err)
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q does not wrap %q", err, c.is)
			}
			for _, m := range append([]string{"export " + dst + ": "}, c.mention...) {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if rep.Rows != 0 || !slices.Equal(rep.Skipped, c.skipped) {
				t.Errorf("report %+v, want no rows, skipped %q", rep, c.skipped)
			}
			if after := entries(t, dir); !slices.Equal(after, before) {
				t.Errorf("folder holds %v, before %v", after, before)
			}
			for n, want := range contents {
				if got, _ := os.ReadFile(filepath.Join(dir, n)); string(got) != want {
					t.Errorf("%s changed to %q", n, got)
				}
			}
		})
	}
}

func TestFolderNotWritable(t *testing.T) {
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		// Root writes into read-only folders, but not into immutable ones
		// (EPERM, which is a permission error too). CI runs as root.
		if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
			t.Fatalf("chattr +i %s: %v: %s", dir, err, out)
		}
		defer exec.Command("chattr", "-i", dir).Run()
	} else {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(dir, 0o755)
	}
	dst := filepath.Join(dir, "out.csv")
	_, err := AUs(dst, []Video{patient01})
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "cannot create a file in folder "+dir) {
		t.Fatalf("error %v", err)
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("folder holds %v", names)
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// cells splits an OpenFace CSV's text by hand, independently of the
// reader under test: OpenFace never quotes.
func cells(t *testing.T, path string) (header []string, rows [][]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	header = strings.Split(lines[0], ",")
	for _, l := range lines[1:] {
		rows = append(rows, strings.Split(l, ","))
	}
	return header, rows
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestReferenceRoundTrip exports the reference CSVs, each standing for
// all three sides of a video, and their asymmetry summaries, and checks
// every cell against the files' text.
func TestReferenceRoundTrip(t *testing.T) {
	dir := t.TempDir()
	var videos []Video
	for _, name := range []string{
		"v01_talking_frontal_glasses_480x360",
		"e02_face_then_noface_hevc_vfr_audiofirst_960x540", // frames without a face
	} {
		b, err := os.ReadFile(sharedtest.Reference(t, name+"/"+name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		v := Video{Name: name + ".mp4", Source: filepath.Join(dir, name+".csv")}
		v.Left = filepath.Join(dir, name+"_left_mirrored.csv")
		v.Right = filepath.Join(dir, name+"_right_mirrored.csv")
		v.Summary = filepath.Join(dir, name+"_summary.csv")
		for _, p := range []string{v.Source, v.Left, v.Right} {
			write(t, p, string(b))
		}
		left, err := openfacecsv.ReadFile(v.Left)
		if err != nil {
			t.Fatal(err)
		}
		right, err := openfacecsv.ReadFile(v.Right)
		if err != nil {
			t.Fatal(err)
		}
		table, err := asymmetry.FromFiles(left, right)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := table.Summary()
		if err != nil {
			t.Fatal(err)
		}
		if err := asymmetry.WriteSummary(v.Summary, rows); err != nil {
			t.Fatal(err)
		}
		videos = append(videos, v)
	}

	t.Run("AUs", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "aus.csv")
		rep, err := AUs(dst, videos)
		if err != nil {
			t.Fatal(err)
		}
		got := readCSV(t, dst)
		header := got[0]
		got = got[1:]
		if len(header) != 5+17+18 || header[5] != "AU01_r" || header[22] != "AU01_c" || header[39] != "AU45_c" {
			t.Fatalf("header %v", header)
		}
		want := 0
		for _, v := range videos {
			srcHeader, srcRows := cells(t, v.Source)
			index := map[string]int{}
			for i, n := range srcHeader {
				index[n] = i
			}
			for _, side := range []string{"source", "left", "right"} {
				for f, src := range srcRows {
					if want >= len(got) {
						t.Fatalf("export ends after %d rows", len(got))
					}
					row := got[want]
					want++
					if row[0] != v.Name || row[1] != side {
						t.Fatalf("row %d is %s %s, want %s %s", want, row[0], row[1], v.Name, side)
					}
					for j, n := range header[2:] {
						if row[2+j] != src[index[n]] {
							t.Fatalf("%s %s frame %d %s: %q, source has %q", v.Name, side, f+1, n, row[2+j], src[index[n]])
						}
					}
				}
			}
		}
		if rep.Rows != want || len(got) != want {
			t.Errorf("report %d rows, file %d, want %d", rep.Rows, len(got), want)
		}
		t.Logf("%d rows", want)
	})

	t.Run("summary", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "summary.csv")
		rep, err := Summary(dst, videos)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		want.WriteString("video,item,kind,frames,mean_left,mean_right,mean_abs_diff,asymmetry_index\n")
		rows := 0
		for _, v := range videos {
			_, srcRows := cells(t, v.Summary)
			for _, r := range srcRows {
				want.WriteString(v.Name + "," + strings.Join(r, ",") + "\n")
				rows++
			}
		}
		if string(got) != want.String() {
			t.Errorf("export:\n%s\nwant:\n%s", got, want.Bytes())
		}
		if rep.Rows != rows || rows != 2*(17+3) {
			t.Errorf("report %d rows, summaries %d", rep.Rows, rows)
		}
	})
}

// BenchmarkAUs measures the export of one video's three sides, in bytes
// of OpenFace CSV read.
func BenchmarkAUs(b *testing.B) {
	name := "d04_emotions_upscaled_1920x1080_19.7s"
	src := sharedtest.Reference(b, name+"/"+name+".csv")
	st, err := os.Stat(src)
	if err != nil {
		b.Fatal(err)
	}
	v := Video{Name: name, Source: src, Left: src, Right: src}
	dst := filepath.Join(b.TempDir(), "aus.csv")
	b.SetBytes(3 * st.Size())
	for b.Loop() {
		if _, err := AUs(dst, []Video{v}); err != nil {
			b.Fatal(err)
		}
	}
}
