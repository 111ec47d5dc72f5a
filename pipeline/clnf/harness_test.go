package clnf

import (
	"context"
	"encoding/csv"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"facemirror/internal/sharedtest"
	"facemirror/pipeline/ccnf"
	"facemirror/pipeline/video"

	"gocv.io/x/gocv"
)

// testVideos maps the trace prefixes to the shared videos.
var testVideos = map[string]string{
	"v01": "v01_talking_frontal_glasses_480x360",
	"v02": "v02_emotions_sad_to_laughing_640x360_pexels",
	"v04": "v04_eyeclosure_cheekpuff_smile_glasses_512x480",
}

var (
	modelOnce sync.Once
	modelVal  *Model
	modelErr  error
)

// testModel loads main_clnf_general.txt once per test binary.
func testModel(t testing.TB) *Model {
	t.Helper()
	path := filepath.Join(sharedtest.Models(t), "model", "main_clnf_general.txt")
	modelOnce.Do(func() { modelVal, modelErr = Load(path) })
	if modelErr != nil {
		t.Fatalf("load %s: %v", path, modelErr)
	}
	return modelVal
}

// table is a CSV file read whole, with columns by name.
type table struct {
	cols map[string]int
	rows [][]string
}

func readTable(t testing.TB, path string) *table {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = false
	head, err := r.Read()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tb := &table{cols: map[string]int{}}
	for i, h := range head {
		tb.cols[h] = i
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		tb.rows = append(tb.rows, rec)
	}
	return tb
}

func (tb *table) str(row []string, col string) string {
	i, ok := tb.cols[col]
	if !ok {
		panic("no column " + col)
	}
	return row[i]
}

func (tb *table) f32(row []string, col string) float32 {
	v, err := strconv.ParseFloat(tb.str(row, col), 32)
	if err != nil {
		panic(fmt.Sprintf("column %s: %v", col, err))
	}
	return float32(v)
}

func (tb *table) int(row []string, col string) int {
	v, err := strconv.Atoi(tb.str(row, col))
	if err != nil {
		panic(fmt.Sprintf("column %s: %v", col, err))
	}
	return v
}

// params reads p_scale..p_ty and the first m of p_0...
func (tb *table) params(row []string, m int) params { return tb.paramsAt(row, "p_", m) }

// paramsAt reads the parameters whose columns start with prefix
// (prefix+"scale", ..., prefix+"0", ...).
func (tb *table) paramsAt(row []string, prefix string, m int) params {
	p := params{local: make([]float32, m)}
	p.g.Scale = tb.f32(row, prefix+"scale")
	p.g.Rx = tb.f32(row, prefix+"rx")
	p.g.Ry = tb.f32(row, prefix+"ry")
	p.g.Rz = tb.f32(row, prefix+"rz")
	p.g.Tx = tb.f32(row, prefix+"tx")
	p.g.Ty = tb.f32(row, prefix+"ty")
	for i := range p.local {
		p.local[i] = tb.f32(row, fmt.Sprintf("%s%d", prefix, i))
	}
	return p
}

// landmarks reads x_0..x_{n−1}, y_0..y_{n−1}.
func (tb *table) landmarks(row []string, n int) []float32 {
	l := make([]float32, 2*n)
	for i := 0; i < n; i++ {
		l[i] = tb.f32(row, fmt.Sprintf("x_%d", i))
		l[i+n] = tb.f32(row, fmt.Sprintf("y_%d", i))
	}
	return l
}

// where returns the rows whose columns equal the given values.
func (tb *table) where(kv ...string) [][]string {
	var out [][]string
	for _, r := range tb.rows {
		ok := true
		for i := 0; i < len(kv); i += 2 {
			if tb.str(r, kv[i]) != kv[i+1] {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

var (
	framesMu sync.Mutex
	framesBy = map[string][]*image.Gray{}
)

// grayFrames decodes the first count frames of a test video as grey.
func grayFrames(t testing.TB, short string, count int) []*image.Gray {
	t.Helper()
	framesMu.Lock()
	defer framesMu.Unlock()
	if fr := framesBy[short]; len(fr) >= count {
		return fr[:count]
	}
	rd, err := video.Open(context.Background(), sharedtest.Media(t, "videos/"+testVideos[short]+".mp4"))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var out []*image.Gray
	m := gocv.NewMat()
	defer m.Close()
	for len(out) < count {
		if _, err := rd.ReadInto(&m); err != nil {
			t.Fatalf("%s frame %d: %v", short, len(out), err)
		}
		g, err := grayFrame(m, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, g)
	}
	framesBy[short] = out
	return out
}

func testFrame(img *image.Gray) *frame {
	return &frame{gray: img, work: ccnf.NewWorkspace(0)}
}

// meanDist is the mean Euclidean distance between two shapes.
func meanDist(a, b []float32) float64 {
	n := len(a) / 2
	var s float64
	for i := 0; i < n; i++ {
		dx := float64(a[i]) - float64(b[i])
		dy := float64(a[i+n]) - float64(b[i+n])
		s += math.Hypot(dx, dy)
	}
	return s / float64(n)
}

// maxDist is the largest point distance between two shapes.
func maxDist(a, b []float32) float64 {
	n := len(a) / 2
	var m float64
	for i := 0; i < n; i++ {
		m = math.Max(m, math.Hypot(float64(a[i])-float64(b[i]), float64(a[i+n])-float64(b[i+n])))
	}
	return m
}

// maxParamDiff is the largest absolute parameter difference.
func maxParamDiff(a, b params) float64 {
	ga := []float32{a.g.Scale, a.g.Rx, a.g.Ry, a.g.Rz, a.g.Tx, a.g.Ty}
	gb := []float32{b.g.Scale, b.g.Rx, b.g.Ry, b.g.Rz, b.g.Tx, b.g.Ty}
	var m float64
	for i := range ga {
		m = math.Max(m, math.Abs(float64(ga[i])-float64(gb[i])))
	}
	for i := range a.local {
		m = math.Max(m, math.Abs(float64(a.local[i])-float64(b.local[i])))
	}
	return m
}

// recorder keeps every traced event of a fit.
type recorder struct {
	iters   []iterEvent
	scales  []iterEvent
	mapped  []mappedEvent
	mergedL [][]float32
	hyp     []params
	done    []fitResult
}

type iterEvent struct {
	model           string
	scale, ws, view int
	rigid           bool
	iter            int
	p               params
}

type mappedEvent struct {
	part   string
	p      params
	fitted bool
}

func (r *recorder) iteration(model string, scale, ws, view int, rigid bool, iter int, p params) {
	r.iters = append(r.iters, iterEvent{model, scale, ws, view, rigid, iter, p.clone()})
}

func (r *recorder) scaleDone(model string, scale, ws, view int, p params) {
	r.scales = append(r.scales, iterEvent{model: model, scale: scale, ws: ws, view: view, p: p.clone()})
}

func (r *recorder) partMapped(part string, p params, fitted bool) {
	r.mapped = append(r.mapped, mappedEvent{part, p.clone(), fitted})
}

func (r *recorder) merged(l []float32) { r.mergedL = append(r.mergedL, append([]float32(nil), l...)) }

func (r *recorder) hypothesis(h int, p params) { r.hyp = append(r.hyp, p.clone()) }

func (r *recorder) hypothesisDone(h int, res fitResult) { r.done = append(r.done, res) }
