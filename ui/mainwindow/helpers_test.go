package mainwindow

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"facemirror/ui/backend"
)

// fakeFile is what the fake backend answers for one file.
type fakeFile struct {
	probe    backend.Probe
	probeErr error
	frame    image.Image
	face     *backend.FaceBox
	frameErr error
	panics   bool // Probe panics

	// When set, the call blocks until the channel is closed (or ctx ends).
	probeGate, frameGate chan struct{}
}

// fakeBackend answers from a table keyed by base name and records calls.
type fakeBackend struct {
	mu        sync.Mutex
	files     map[string]*fakeFile
	about     []backend.Fact
	aboutErr  error
	calls     []string // "probe a.mp4", "thumbnail a.mp4", "about"
	cancelled []string // base names whose call ended by cancellation
	running   int
	maxRun    int

	// Runs: which files Completed calls complete, what Process was asked,
	// the error a file's run ends with, and a gate every file's run
	// waits at after its first events (nil: no wait).
	complete   map[string]bool
	runs       []backend.RunSettings
	runFiles   [][]string
	runErr     map[string]error
	runGate    chan struct{}
	runStarted chan struct{} // receives once per file that started

	// Exports: what was asked, and the answer.
	exports   []fakeExport
	exportErr error
}

type fakeExport struct {
	kind    backend.ExportKind
	dst     string
	results []backend.FileResult
}

// Review answers with 30 frames of the fake run's AUs, left and right,
// and a two-row summary.
func (f *fakeBackend) Review(ctx context.Context, r backend.FileResult) (backend.Review, error) {
	f.enter("review " + filepath.Base(r.Path))
	defer f.leave()
	rev := backend.Review{Names: fakeAUNames, Source: r.Path, Left: r.Path + ".left", Right: r.Path + ".right", Frames: 30}
	for _, side := range []string{backend.SideLeft, backend.SideRight} {
		s := backend.ReviewSide{Side: side}
		for fr := range 30 {
			v := make([]float64, len(fakeAUNames))
			for k := range v {
				v[k] = float64(fr%10) / 4
			}
			s.Times = append(s.Times, float64(fr)/30)
			s.Intensity = append(s.Intensity, v)
		}
		rev.Sides = append(rev.Sides, s)
	}
	rev.Summary = []backend.SummaryRow{
		{Item: "AU01", Kind: "au", Frames: "30", MeanLeft: "1.1250", MeanRight: "1.1250", MeanAbsDiff: "0.0000", Asymmetry: "0.0000"},
		{Item: "upper", Kind: "region", Frames: "30", MeanLeft: "0.5000", MeanRight: "0.2500", MeanAbsDiff: "0.2500", Asymmetry: ""},
	}
	return rev, nil
}

// Frame answers a grey picture and records the call.
func (f *fakeBackend) Frame(ctx context.Context, path string, index int) (image.Image, error) {
	f.enter(fmt.Sprintf("frame %d %s", index, filepath.Base(path)))
	defer f.leave()
	return grey480(), nil
}

func (f *fakeBackend) Export(ctx context.Context, kind backend.ExportKind, dst string, results []backend.FileResult) (backend.ExportReport, error) {
	f.enter("export")
	defer f.leave()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exports = append(f.exports, fakeExport{kind, dst, results})
	if f.exportErr != nil {
		return backend.ExportReport{}, f.exportErr
	}
	return backend.ExportReport{Rows: 300 * len(results)}, nil
}

func newFake() *fakeBackend {
	return &fakeBackend{files: make(map[string]*fakeFile), complete: map[string]bool{}, runErr: map[string]error{},
		runStarted: make(chan struct{}, 100)}
}

func (f *fakeBackend) Completed(ctx context.Context, files []string, s backend.RunSettings) ([]bool, error) {
	f.enter("completed")
	defer f.leave()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]bool, len(files))
	for i, p := range files {
		out[i] = f.complete[filepath.Base(p)]
	}
	return out, nil
}

// fakeAUNames are the AUs the fake run reports.
var fakeAUNames = []string{"AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10",
	"AU12", "AU14", "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU45"}

// Process plays a run: for each file a stage, progress, 30 frames of AUs
// of both sides and a preview, then (after the gate) its end.
func (f *fakeBackend) Process(ctx context.Context, files []string, s backend.RunSettings, ev backend.RunEvents) []backend.FileResult {
	f.enter("process")
	defer f.leave()
	f.mu.Lock()
	f.runs = append(f.runs, s)
	f.runFiles = append(f.runFiles, append([]string(nil), files...))
	gate := f.runGate
	f.mu.Unlock()
	results := make([]backend.FileResult, len(files))
	done := 0
	for i, p := range files {
		name := filepath.Base(p)
		res := backend.FileResult{File: i, Path: p}
		f.mu.Lock()
		skip, runErr := s.SkipComplete && f.complete[name], f.runErr[name]
		f.mu.Unlock()
		switch {
		case ctx.Err() != nil:
			res.Outcome, res.Err = backend.Cancelled, fmt.Errorf("%s: interrupted: %w", name, ctx.Err())
		case skip:
			res.Outcome = backend.Skipped
		default:
			ev.Stage(i, "tracking and mirroring")
			for fr := range 30 {
				v := make([]float64, len(fakeAUNames))
				for k := range v {
					v[k] = float64(fr%10) / 4
				}
				ev.AUs(i, backend.FrameAUs{Side: backend.SideLeft, Frame: fr, Time: float64(fr) / 30, Names: fakeAUNames, Intensity: v})
				ev.AUs(i, backend.FrameAUs{Side: backend.SideRight, Frame: fr, Time: float64(fr) / 30, Names: fakeAUNames, Intensity: v})
			}
			if s.Mode.Mirrors() {
				ev.Preview(i, backend.Preview{Frame: 29, Source: grey480(), Left: grey480(), Right: grey480()})
			}
			ev.Progress(backend.RunProgress{Files: len(files), FilesDone: done, Frames: 300 * len(files), FramesDone: 300*done + 30, Rate: 30, Left: 9 * time.Second, LeftKnown: true})
			f.runStarted <- struct{}{}
			if gate != nil {
				select {
				case <-gate:
				case <-ctx.Done():
				}
			}
			switch {
			case ctx.Err() != nil:
				res.Outcome, res.Err = backend.Cancelled, fmt.Errorf("%s: interrupted: %w", name, ctx.Err())
			case runErr != nil:
				res.Outcome, res.Err = backend.Failed, runErr
			default:
				res.Outcome, res.Elapsed, res.Frames, res.FaceFrames = backend.Done, 12*time.Second, 300, 300
				res.Outputs = []string{strings.TrimSuffix(p, filepath.Ext(p)) + "_facemirror.json"}
			}
		}
		done++
		results[i] = res
		ev.File(res)
	}
	return results
}

func (f *fakeBackend) file(path string) *fakeFile {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ff, ok := f.files[filepath.Base(path)]; ok {
		return ff
	}
	return &fakeFile{probeErr: fmt.Errorf("probe %s: no such file", path)}
}

func (f *fakeBackend) enter(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	f.running++
	f.maxRun = max(f.maxRun, f.running)
}

func (f *fakeBackend) leave() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running--
}

func (f *fakeBackend) wait(ctx context.Context, gate chan struct{}, path string) error {
	if gate == nil {
		return nil
	}
	select {
	case <-gate:
		return nil
	case <-ctx.Done():
		f.mu.Lock()
		f.cancelled = append(f.cancelled, filepath.Base(path))
		f.mu.Unlock()
		return ctx.Err()
	}
}

func (f *fakeBackend) Probe(ctx context.Context, path string) (backend.Probe, error) {
	f.enter("probe " + filepath.Base(path))
	defer f.leave()
	ff := f.file(path)
	if err := f.wait(ctx, ff.probeGate, path); err != nil {
		return backend.Probe{}, err
	}
	if ff.panics {
		panic("decoder exploded")
	}
	return ff.probe, ff.probeErr
}

func (f *fakeBackend) Thumbnail(ctx context.Context, path string) (image.Image, *backend.FaceBox, error) {
	f.enter("thumbnail " + filepath.Base(path))
	defer f.leave()
	ff := f.file(path)
	if err := f.wait(ctx, ff.frameGate, path); err != nil {
		return nil, nil, err
	}
	return ff.frame, ff.face, ff.frameErr
}

func (f *fakeBackend) About(ctx context.Context) ([]backend.Fact, error) {
	f.enter("about")
	defer f.leave()
	return f.about, f.aboutErr
}

func (f *fakeBackend) callCount(call string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == call {
			n++
		}
	}
	return n
}

func (f *fakeBackend) callList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeBackend) maxRunning() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxRun
}

func (f *fakeBackend) wasCancelled(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.cancelled {
		if c == name {
			return true
		}
	}
	return false
}

// grey480 is a 480x360 mid-grey first frame.
func grey480() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 480, 360))
	for i := range img.Pix {
		img.Pix[i] = 0x80
	}
	return img
}

var v01Probe = backend.Probe{Frames: 300, FPS: 30, Duration: 10 * time.Second, Width: 480, Height: 360}

const v01Facts = "300 frames · 30 fps · 10.0 s · 480×360 · rotation 0°"

// goodFile probes and finds a face at once.
func goodFile() *fakeFile {
	return &fakeFile{probe: v01Probe, frame: grey480(),
		face: &backend.FaceBox{X: 120, Y: 60, Width: 180, Height: 200, Confidence: 0.97}}
}

// pump stands in for the UI goroutine's queue: background work schedules
// updates into it, and the test goroutine runs them, so every widget is
// touched by the test goroutine only.
type pump struct {
	mu     sync.Mutex
	queue  []func()
	signal chan struct{}
}

func newPump() *pump { return &pump{signal: make(chan struct{}, 1)} }

func (p *pump) schedule(f func()) {
	p.mu.Lock()
	p.queue = append(p.queue, f)
	p.mu.Unlock()
	select {
	case p.signal <- struct{}{}:
	default:
	}
}

func (p *pump) drain() {
	for {
		p.mu.Lock()
		q := p.queue
		p.queue = nil
		p.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, f := range q {
			f()
		}
	}
}

// until runs scheduled updates until cond holds, failing after 5 s.
func (p *pump) until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		p.drain()
		if cond() {
			return
		}
		select {
		case <-p.signal:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// dropWindow is a test window that keeps the drop handler: Fyne's test
// window discards it, and a real drop calls exactly that handler.
type dropWindow struct {
	fyne.Window
	onDropped func(fyne.Position, []fyne.URI)
}

func (d *dropWindow) SetOnDropped(f func(fyne.Position, []fyne.URI)) {
	d.onDropped = f
	d.Window.SetOnDropped(f)
}

func (d *dropWindow) drop(uris ...fyne.URI) { d.onDropped(fyne.NewPos(200, 200), uris) }

type harness struct {
	w    *Window
	win  *dropWindow
	fake *fakeBackend
	pump *pump
}

func newHarness(t *testing.T, fake *fakeBackend, cfg Config) *harness {
	t.Helper()
	test.NewTempApp(t)
	win := &dropWindow{Window: test.NewTempWindow(t, nil)}
	win.Resize(fyne.NewSize(DefaultWidth, DefaultHeight))
	p := newPump()
	cfg.Schedule = p.schedule
	w := New(context.Background(), win, fake, cfg)
	t.Cleanup(w.Close)
	return &harness{w: w, win: win, fake: fake, pump: p}
}

// texts lists the text of every visible label, button, rich text and
// canvas text under o, in tree order, as rendered.
func texts(o fyne.CanvasObject) []string {
	var out []string
	walk(o, func(o fyne.CanvasObject) bool {
		switch v := o.(type) {
		case *widget.Label:
			out = append(out, v.Text)
		case *widget.Button:
			out = append(out, v.Text)
		case *widget.RichText:
			out = append(out, v.String())
		case *canvas.Text:
			out = append(out, v.Text)
		default:
			return true
		}
		return false
	})
	return out
}

// walk visits the visible objects under o; visit returns whether to
// descend into the object's children.
func walk(o fyne.CanvasObject, visit func(fyne.CanvasObject) bool) {
	if o == nil || !o.Visible() || !visit(o) {
		return
	}
	switch v := o.(type) {
	case *fyne.Container:
		for _, c := range v.Objects {
			walk(c, visit)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(v).Objects() {
			walk(c, visit)
		}
	}
}

// rows returns the rows shown in the window, top to bottom.
func (h *harness) rows() []*row {
	var out []*row
	walk(h.win.Canvas().Content(), func(o fyne.CanvasObject) bool {
		if r, ok := o.(*row); ok {
			out = append(out, r)
			return false
		}
		return true
	})
	return out
}

// rowTexts returns the texts of the row for the named file, or nil.
func (h *harness) rowTexts(name string) []string {
	if r := h.row(name); r != nil {
		return texts(r)
	}
	return nil
}

func (h *harness) row(name string) *row {
	for _, r := range h.rows() {
		if ts := texts(r); len(ts) > 0 && ts[0] == name {
			return r
		}
	}
	return nil
}

// label finds the visible label under o with exactly this text.
func label(o fyne.CanvasObject, text string) *widget.Label {
	var found *widget.Label
	walk(o, func(o fyne.CanvasObject) bool {
		if l, ok := o.(*widget.Label); ok && l.Text == text && found == nil {
			found = l
		}
		return found == nil
	})
	return found
}

// button finds the visible button under o with this text.
func button(o fyne.CanvasObject, text string) *widget.Button {
	var found *widget.Button
	walk(o, func(o fyne.CanvasObject) bool {
		if b, ok := o.(*widget.Button); ok && b.Text == text && found == nil {
			found = b
		}
		return found == nil
	})
	return found
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsPart(list []string, part string) bool {
	for _, x := range list {
		if strings.Contains(x, part) {
			return true
		}
	}
	return false
}

// thumbImage returns the row's visible thumbnail image, or nil. (Icons
// are canvas images too, made from resources; thumbnails are not.)
func thumbImage(r *row) image.Image {
	var img image.Image
	walk(r, func(o fyne.CanvasObject) bool {
		if c, ok := o.(*canvas.Image); ok && c.Image != nil && c.Resource == nil {
			img = c.Image
		}
		return img == nil
	})
	return img
}

func isColor(c color.Color, want color.RGBA) bool {
	r, g, b, a := c.RGBA()
	return uint8(r>>8) == want.R && uint8(g>>8) == want.G && uint8(b>>8) == want.B && uint8(a>>8) == want.A
}

var (
	image320x240 = image.Rect(0, 0, 320, 240)
	faceGreen    = color.RGBA{0x2e, 0xd5, 0x73, 0xff}
	grey         = color.RGBA{0x80, 0x80, 0x80, 0x80}
)
