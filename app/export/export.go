package export

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"facemirror/pipeline/asymmetry"
	"facemirror/pipeline/openfacecsv"
)

// ErrNothingToExport reports a selection none of whose videos has the
// files an export reads.
var ErrNothingToExport = errors.New("nothing to export")

// ErrMissingColumn reports an input file that lacks a column the export
// copies.
var ErrMissingColumn = errors.New("missing column")

// Video is one finished input and its result files. An empty path means
// that file was not written: mode "mirror" writes no CSV, mode "aus" only
// Source.
type Video struct {
	Name                string // the input's file name as shown, e.g. "patient01.mp4"
	Source, Left, Right string // OpenFace CSVs of the input and its left- and right-mirrored faces
	Summary             string // <stem>_summary.csv
}

// Report says what an export wrote: the number of rows after the header,
// and the videos left out, each as "name: reason".
type Report struct {
	Rows    int
	Skipped []string
}

// AUs writes to dst one CSV with a row per video, side and frame: videos
// in the order given, then the sides source, left and right that were
// written, then frames in file order. The columns are video, side, frame,
// timestamp, success, OpenFace's 17 AU intensity columns (AU01_r …) and
// its 18 occurrence columns (AU01_c …), with the cells' text copied from
// the video's CSVs.
//
// A video without any CSV is left out and listed in the report. If every
// video is left out, or any CSV cannot be read or lacks a column, AUs
// returns an error and dst is left as it was; the report then has no rows
// but lists the videos left out.
func AUs(dst string, videos []Video) (Report, error) {
	l := openfacecsv.OpenFaceLayout()
	want := []string{"frame", "timestamp", "success"}
	for _, au := range l.IntensityAUs {
		want = append(want, au+"_r")
	}
	for _, au := range l.OccurrenceAUs {
		want = append(want, au+"_c")
	}
	var ins []input
	var rep Report
	for _, v := range videos {
		n := len(ins)
		for _, s := range []struct{ side, path string }{{"source", v.Source}, {"left", v.Left}, {"right", v.Right}} {
			if s.path != "" {
				ins = append(ins, input{
					path:   s.path,
					what:   fmt.Sprintf("%s %s CSV", v.Name, s.side),
					prefix: []string{cellName(v.Name), s.side},
				})
			}
		}
		if len(ins) == n {
			reason := "no AU CSV"
			if v.Summary == "" {
				reason += " (processed as mirror only)"
			}
			rep.Skipped = append(rep.Skipped, v.Name+": "+reason)
		}
	}
	header := append([]string{"video", "side"}, want...)
	var err error
	rep.Rows, err = export(dst, header, want, ins, rep.Skipped)
	return rep, err
}

// Summary writes to dst one CSV with a row per video and item of its
// summary file: video, item, kind, frames, mean_left, mean_right,
// mean_abs_diff, asymmetry_index, with the cells' text copied from the
// summary.
//
// A video without a summary is left out and listed in the report. If
// every video is left out, or any summary cannot be read or lacks a
// column, Summary returns an error and dst is left as it was; the report
// then has no rows but lists the videos left out.
func Summary(dst string, videos []Video) (Report, error) {
	want := asymmetry.SummaryColumns()
	var ins []input
	var rep Report
	for _, v := range videos {
		if v.Summary == "" {
			rep.Skipped = append(rep.Skipped, v.Name+": "+noSummary(v))
			continue
		}
		ins = append(ins, input{
			path:   v.Summary,
			what:   v.Name + " summary",
			prefix: []string{cellName(v.Name)},
		})
	}
	header := append([]string{"video"}, want...)
	var err error
	rep.Rows, err = export(dst, header, want, ins, rep.Skipped)
	return rep, err
}

// noSummary explains why v has no summary from the files it has, in the
// words of the modes that write them.
func noSummary(v Video) string {
	switch {
	case v.Source == "" && v.Left == "" && v.Right == "":
		return "no summary (processed as mirror only)"
	case v.Left == "" && v.Right == "":
		return "no summary (processed as AUs only)"
	}
	return "no summary"
}

// cellName makes a video name safe for the UTF-8 table: file names on
// Unix may hold any bytes.
func cellName(name string) string {
	if utf8.ValidString(name) {
		return name
	}
	return strings.ToValidUTF8(name, "\uFFFD")
}

// input is one file an export copies rows from.
type input struct {
	path   string
	what   string   // how errors name the file besides its path, e.g. "patient01.mp4 left CSV"
	prefix []string // cells put before the copied ones on each row
}

func (in input) String() string { return in.what + " " + in.path }

// export checks every input's header and then copies the columns want of
// each input's rows, after its prefix, into dst under header. skipped
// are the videos left out, for the error when ins is empty.
func export(dst string, header, want []string, ins []input, skipped []string) (int, error) {
	if len(ins) == 0 {
		why := "no videos selected"
		if len(skipped) > 0 {
			why = strings.Join(skipped, "; ")
		}
		return 0, fmt.Errorf("export %s: %w: %s", dst, ErrNothingToExport, why)
	}
	dstInfo, err := checkDst(dst)
	if err != nil {
		return 0, fmt.Errorf("export %s: %w", dst, err)
	}
	// Checking all headers first costs one short read per file and turns
	// a mistake in the last video into an error before the long copy.
	for _, in := range ins {
		t, err := openTable(in, want)
		if err != nil {
			return 0, fmt.Errorf("export %s: %w", dst, err)
		}
		same := dstInfo != nil && t.sameFile(dstInfo)
		t.Close()
		if same {
			// The rename would replace a result file with the export.
			return 0, fmt.Errorf("export %s: the destination is the %s", dst, in)
		}
	}
	rows := 0
	err = writeAtomic(dst, func(w *csv.Writer) error {
		if err := w.Write(header); err != nil {
			return err
		}
		rec := make([]string, 0, len(header))
		for _, in := range ins {
			t, err := openTable(in, want)
			if err != nil {
				return err
			}
			err = t.copyTo(w, rec, &rows)
			t.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("export %s: %w", dst, err)
	}
	return rows, nil
}

// checkDst reports a destination that cannot be written before any input
// is read, and returns the existing destination's information (nil if
// there is none).
func checkDst(dst string) (fs.FileInfo, error) {
	dir := filepath.Dir(dst)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("folder %s does not exist", dir)
	case err != nil:
		return nil, fmt.Errorf("folder %s: %w", dir, pathErr(err))
	case !fi.IsDir():
		return nil, fmt.Errorf("%s is not a folder", dir)
	}
	fi, err = os.Stat(dst)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, pathErr(err)
	case fi.IsDir():
		return nil, errors.New("a folder of that name exists")
	}
	return fi, nil
}

// pathErr drops the operation and path of a *fs.PathError whose path the
// message already names, keeping the cause for errors.Is.
func pathErr(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// table reads the wanted columns of one input, row by row.
type table struct {
	in   input
	f    *os.File
	r    *csv.Reader
	cols []int // per wanted column, its index in the file's rows
}

// openTable opens in and finds the columns want in its header.
func openTable(in input, want []string) (_ *table, err error) {
	f, err := os.Open(in.path)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot open: %w", in, pathErr(err))
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	r := csv.NewReader(f)
	// OpenFace's Windows builds separate fields with ", ".
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	names, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file, no header line", in)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in, err)
	}
	index := make(map[string]int, len(names))
	twice := map[string]bool{}
	for i, n := range names {
		if i == 0 {
			n = strings.TrimPrefix(n, "\ufeff")
		}
		n = strings.TrimSpace(n)
		if _, ok := index[n]; ok {
			twice[n] = true
		}
		index[n] = i
	}
	t := &table{in: in, f: f, r: r, cols: make([]int, len(want))}
	var missing []string
	for j, n := range want {
		i, ok := index[n]
		if !ok {
			missing = append(missing, n)
		}
		if twice[n] {
			// Either copy could be the one meant.
			return nil, fmt.Errorf("%s: column %s appears twice", in, n)
		}
		t.cols[j] = i
	}
	if len(missing) > 0 {
		s, list := "s", strings.Join(missing, ", ")
		if len(missing) == 1 {
			s = ""
		}
		if n := countAU(want); n > 0 && countAU(missing) == n {
			list += " (no AU column at all: was OpenFace run without -aus?)"
		}
		return nil, fmt.Errorf("%s: %w%s %s", in, ErrMissingColumn, s, list)
	}
	return t, nil
}

// countAU counts the AU columns among names.
func countAU(names []string) int {
	n := 0
	for _, name := range names {
		if strings.HasPrefix(name, "AU") {
			n++
		}
	}
	return n
}

// sameFile reports whether the table's file is fi.
func (t *table) sameFile(fi fs.FileInfo) bool {
	st, err := t.f.Stat()
	return err == nil && os.SameFile(st, fi)
}

// copyTo writes each row's prefix and wanted cells to w, counting rows.
// rec is scratch space.
func (t *table) copyTo(w *csv.Writer, rec []string, rows *int) error {
	for {
		cells, err := t.r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", t.in, err)
		}
		rec = append(rec[:0], t.in.prefix...)
		for _, i := range t.cols {
			rec = append(rec, cells[i])
		}
		if err := w.Write(rec); err != nil {
			return err
		}
		*rows++
	}
}

func (t *table) Close() error { return t.f.Close() }
