package mainwindow

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"facemirror/ui/auplot"
	"facemirror/ui/backend"
)

// addReady adds files answered by goodFile and waits until their rows are
// ready.
func (h *harness) addReady(t *testing.T, names ...string) {
	t.Helper()
	var paths []string
	for _, n := range names {
		h.fake.files[n] = goodFile()
		paths = append(paths, "/videos/"+n)
	}
	h.w.Add(paths...)
	h.pump.until(t, "the rows are ready", func() bool {
		for _, n := range names {
			if !containsPart(h.rowTexts(n), "face found") {
				return false
			}
		}
		return true
	})
}

// untilStarted runs scheduled updates until the fake run has started a
// file.
func (h *harness) untilStarted(t *testing.T) {
	t.Helper()
	h.pump.until(t, "a file's run has started", func() bool {
		select {
		case <-h.fake.runStarted:
			return true
		default:
			return false
		}
	})
}

// overlayButton finds a button in the topmost dialog.
func (h *harness) overlayButton(text string) *widget.Button {
	top := h.win.Canvas().Overlays().Top()
	if top == nil {
		return nil
	}
	return button(top, text)
}

func (h *harness) overlayTexts() []string {
	top := h.win.Canvas().Overlays().Top()
	if top == nil {
		return nil
	}
	return texts(top)
}

func TestRunDone(t *testing.T) {
	h := newHarness(t, newFake(), Config{})
	h.addReady(t, "a.mp4", "b.mp4")
	test.Tap(button(h.win.Canvas().Content(), StartLabel))
	h.pump.until(t, "the run has ended", func() bool { return h.w.run == nil && h.fake.callCount("process") == 1 })
	for _, n := range []string{"a.mp4", "b.mp4"} {
		if ts := h.rowTexts(n); !containsPart(ts, "done in 12 s") {
			t.Errorf("row %s: %q, want it done", n, ts)
		}
	}
	if got := h.fake.runs[0]; got.Mode != backend.ModeFull || got.OutDir != "" || got.Workers != 0 || got.SkipComplete {
		t.Errorf("run settings %+v, want the defaults: full pipeline beside the videos, one helper per core", got)
	}
	if ts := h.overlayTexts(); !containsPart(ts, "2 done, 0 failed, 0 skipped") || !contains(ts, OpenOutLabel) {
		t.Errorf("summary %q", ts)
	}
	if h.w.openOutItem.Disabled || h.w.lastOut != "/videos" {
		t.Errorf("Open output folder: disabled %v, folder %q", h.w.openOutItem.Disabled, h.w.lastOut)
	}
	if !h.w.startButton.Disabled() == false || !h.w.cancelButton.Disabled() {
		t.Errorf("after the run: Start disabled %v, Cancel disabled %v", h.w.startButton.Disabled(), h.w.cancelButton.Disabled())
	}
}

func TestRunLiveView(t *testing.T) {
	fake := newFake()
	fake.runGate = make(chan struct{})
	h := newHarness(t, fake, Config{})
	h.addReady(t, "a.mp4")
	test.Tap(button(h.win.Canvas().Content(), StartLabel))
	h.untilStarted(t)
	h.pump.until(t, "the live view shows the frame", func() bool {
		return h.w.preview[1].Image != nil && h.w.plot.Image != nil
	})
	if ts := h.rowTexts("a.mp4"); !containsPart(ts, "tracking and mirroring · frame 30 of 300") {
		t.Errorf("row while processing: %q", ts)
	}
	if got := h.w.progressText.Text; got != "Video 1 of 1 · tracking and mirroring · 30 of 300 frames · 30.0 frames/s · about 9 s left" {
		t.Errorf("progress %q", got)
	}
	if h.w.startButton.Disabled() == false || h.w.cancelButton.Disabled() || h.w.clearButton.Disabled() == false {
		t.Error("while running, Start and Clear must be disabled and Cancel enabled")
	}
	if r := h.row("a.mp4"); r == nil || button(r, RemoveLabel) != nil {
		t.Error("Remove is offered while the run works")
	}
	// Drawn again at the size it is shown, once that is known.
	h.pump.until(t, "the plot is drawn at the size it is shown", func() bool {
		b, size := h.w.plot.Image.Bounds(), h.w.plot.Size()
		return b.Dx() == int(size.Width) && b.Dy() == int(size.Height)
	})
	close(fake.runGate)
	h.pump.until(t, "the run has ended", func() bool { return h.w.run == nil })
}

func TestRunCancel(t *testing.T) {
	fake := newFake()
	fake.runGate = make(chan struct{}) // never opened
	h := newHarness(t, fake, Config{})
	h.addReady(t, "a.mp4", "b.mp4")
	// Ctrl+Enter starts, Esc cancels.
	h.win.Canvas().(interface{ TypedShortcut(fyne.Shortcut) }).TypedShortcut(startShortcut)
	h.untilStarted(t)
	h.pump.until(t, "the run shows", func() bool { return h.w.run != nil && !h.w.cancelButton.Disabled() })
	h.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	h.pump.until(t, "the run has ended", func() bool { return h.w.run == nil && h.fake.callCount("process") == 1 })
	for _, n := range []string{"a.mp4", "b.mp4"} {
		if ts := h.rowTexts(n); !contains(ts, "cancelled") {
			t.Errorf("row %s: %q, want cancelled", n, ts)
		}
	}
	if ts := h.overlayTexts(); !contains(ts, "Processing cancelled") {
		t.Errorf("summary %q", ts)
	}
}

func TestRunFailure(t *testing.T) {
	fake := newFake()
	h := newHarness(t, fake, Config{})
	h.addReady(t, "a.mp4", "b.mp4")
	fake.runErr["a.mp4"] = errors.New("/videos/a.mp4: helper crashed twice at frame 17 (signal: segmentation fault)")
	test.Tap(button(h.win.Canvas().Content(), StartLabel))
	h.pump.until(t, "the run has ended", func() bool { return h.w.run == nil && fake.callCount("process") == 1 })
	r := h.row("a.mp4")
	l := label(r, "failed: a.mp4: helper crashed twice at frame 17 (signal: segmentation fault)")
	if l == nil || l.Importance != widget.DangerImportance {
		t.Errorf("failed row: %q", texts(r))
	}
	if ts := h.rowTexts("b.mp4"); !containsPart(ts, "done in") {
		t.Errorf("the other file: %q", ts)
	}
	if ts := h.overlayTexts(); !containsPart(ts, "1 done, 1 failed") {
		t.Errorf("summary %q", ts)
	}
}

func TestRerunQuestion(t *testing.T) {
	for _, tc := range []struct {
		choice   string
		runs     int
		skipDone bool
	}{
		{RerunAllLabel, 1, false},
		{UnprocessedWord + " (1)", 1, true},
		{CancelLabel, 0, false},
	} {
		t.Run(tc.choice, func(t *testing.T) {
			fake := newFake()
			fake.complete["a.mp4"] = true
			h := newHarness(t, fake, Config{})
			h.addReady(t, "a.mp4", "b.mp4")
			test.Tap(button(h.win.Canvas().Content(), StartLabel))
			h.pump.until(t, "the question", func() bool { return h.overlayButton(tc.choice) != nil })
			if ts := h.overlayTexts(); !containsPart(ts, "1 video of 2 already has complete outputs for “Full Python-equivalent pipeline”.") {
				t.Errorf("question %q", ts)
			}
			test.Tap(h.overlayButton(tc.choice))
			if tc.runs == 0 {
				h.pump.drain()
				time.Sleep(50 * time.Millisecond)
				h.pump.drain()
				if n := fake.callCount("process"); n != 0 || h.w.startButton.Disabled() {
					t.Errorf("after Cancel: %d runs, Start disabled %v", n, h.w.startButton.Disabled())
				}
				return
			}
			h.pump.until(t, "the run has ended", func() bool { return h.w.run == nil && fake.callCount("process") == 1 })
			if got := fake.runs[0].SkipComplete; got != tc.skipDone {
				t.Errorf("SkipComplete %v, want %v", got, tc.skipDone)
			}
			want := "done in 12 s"
			if tc.skipDone {
				want = "skipped (already processed)"
			}
			if ts := h.rowTexts("a.mp4"); !containsPart(ts, want) {
				t.Errorf("a.mp4: %q, want %q", ts, want)
			}
		})
	}
}

// The settings are remembered: a new window opens with the last ones.
func TestRunSettingsRemembered(t *testing.T) {
	prefs := test.NewTempApp(t).Preferences()
	h := newHarness(t, newFake(), Config{Preferences: prefs, PickFolder: func() (string, error) { return "/results", nil }})
	h.w.modeRadio.SetSelected(backend.ModeMirror.Label())
	h.w.workersSelect.SetSelected("1")
	h.w.selectAUs([]string{"AU12", "AU04"})
	test.Tap(button(h.win.Canvas().Content(), ChooseOutLabel))
	h.pump.until(t, "the folder is chosen", func() bool { return h.w.outLabel.Text == "/results" })

	h.addReady(t, "a.mp4")
	test.Tap(button(h.win.Canvas().Content(), StartLabel))
	h.pump.until(t, "the run has ended", func() bool { return h.w.run == nil && h.fake.callCount("process") == 1 })
	want := backend.RunSettings{Mode: backend.ModeMirror, OutDir: "/results", Workers: 1}
	if got := h.fake.runs[0]; got != want {
		t.Errorf("run settings %+v, want %+v", got, want)
	}

	s := loadSettings(prefs)
	if s.mode != backend.ModeMirror || s.outDir != "/results" || s.workers != 1 || !slices.Equal(s.aus, []string{"AU04", "AU12"}) {
		t.Errorf("remembered %+v", s)
	}
	// Nothing remembered: the defaults.
	d := loadSettings(test.NewTempApp(t).Preferences())
	if d.mode != backend.ModeFull || d.outDir != "" || d.workers != 0 || !slices.Equal(d.aus, defaultAUs) {
		t.Errorf("defaults %+v", d)
	}
}

func TestStartWithNothing(t *testing.T) {
	h := newHarness(t, newFake(), Config{})
	test.Tap(button(h.win.Canvas().Content(), StartLabel))
	h.pump.drain()
	if h.fake.callCount("process") != 0 || !containsPart(texts(h.win.Canvas().Content()), "Nothing to process") {
		t.Errorf("Start with an empty list: %q", texts(h.win.Canvas().Content()))
	}
}

func TestExport(t *testing.T) {
	fake := newFake()
	var asked []string
	save := func(title, dir, name string) (string, error) {
		asked = append(asked, title+": "+dir+"/"+name)
		return "/exports/study", nil
	}
	h := newHarness(t, fake, Config{SaveFile: save})
	shortcut := func(s fyne.Shortcut) {
		h.win.Canvas().(interface{ TypedShortcut(fyne.Shortcut) }).TypedShortcut(s)
	}
	h.addReady(t, "a.mp4", "b.mp4")

	// Before any run there is nothing to export.
	shortcut(exportAUsShortcut)
	h.pump.drain()
	if len(asked) != 0 || !containsPart(texts(h.win.Canvas().Content()), "Nothing to export yet") {
		t.Fatalf("export before a run: dialogs %q, window %q", asked, texts(h.win.Canvas().Content()))
	}

	fake.runErr["b.mp4"] = errors.New("b.mp4: cannot decode frame 3")
	test.Tap(button(h.win.Canvas().Content(), StartLabel))
	h.pump.until(t, "the run has ended", func() bool { return h.w.run == nil && fake.callCount("process") == 1 })

	shortcut(exportAUsShortcut)
	h.pump.until(t, "the export is reported", func() bool { return fake.callCount("export") == 1 && h.w.notice.Text != "" && !h.w.exporting })
	e := fake.exports[0]
	if e.kind != backend.ExportAUs || e.dst != "/exports/study.csv" || len(e.results) != 1 || e.results[0].Path != "/videos/a.mp4" {
		t.Errorf("export asked %+v: want the AUs of a.mp4 (b.mp4 failed) to /exports/study.csv", e)
	}
	if got, want := h.w.notice.Text, "Exported 300 rows of 1 video to /exports/study.csv."; got != want {
		t.Errorf("notice %q, want %q", got, want)
	}

	fake.exportErr = errors.New("export /exports/study.csv: folder /exports does not exist")
	shortcut(exportSummaryShortcut)
	h.pump.until(t, "the failure is reported", func() bool { return fake.callCount("export") == 2 && !h.w.exporting })
	if fake.exports[1].kind != backend.ExportSummary || h.w.notice.Text != fake.exportErr.Error() || h.w.notice.Importance != widget.DangerImportance {
		t.Errorf("failed export: %+v, notice %q (%v)", fake.exports[1], h.w.notice.Text, h.w.notice.Importance)
	}
	if want := []string{"Export AU CSV: /videos/facemirror_aus.csv", "Export summary CSV: /videos/facemirror_summary.csv"}; !slices.Equal(asked, want) {
		t.Errorf("dialogs %q, want %q", asked, want)
	}
}

// File ▸ Add folder… adds the videos of the chosen folder and its
// subfolders, sorted.
func TestAddFolder(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"b.mp4", "sub/a.mov", "notes.txt"} {
		path := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fake := newFake()
	fake.files["b.mp4"], fake.files["a.mov"] = goodFile(), goodFile()
	h := newHarness(t, fake, Config{PickFolder: func() (string, error) { return dir, nil }})
	h.w.folderItem.Action()
	h.pump.until(t, "the folder's videos are listed", func() bool { return len(h.rows()) == 2 })
	var names []string
	for _, r := range h.rows() {
		names = append(names, texts(r)[0])
	}
	if want := []string{"b.mp4", "a.mov"}; !slices.Equal(names, want) {
		t.Errorf("rows %q, want %q", names, want)
	}
}

// Review shows a finished video's curves, summary and frames.
func TestReview(t *testing.T) {
	fake := newFake()
	h := newHarness(t, fake, Config{})
	h.addReady(t, "a.mp4")
	r := h.row("a.mp4")
	if button(r, ReviewLabel) != nil {
		t.Error("Review is offered before the video was processed")
	}
	test.Tap(button(h.win.Canvas().Content(), StartLabel))
	h.pump.until(t, "the run has ended", func() bool { return h.w.run == nil && fake.callCount("process") == 1 })
	test.Tap(button(r, ReviewLabel))
	h.pump.until(t, "the review shows", func() bool {
		return h.w.reviewing != nil && h.w.plot.Image != nil && h.w.preview[2].Image != nil
	})
	if got := h.w.liveTitle.Text; got != "Review: a.mp4" {
		t.Errorf("title %q", got)
	}
	ts := texts(h.w.summaryTable)
	for _, want := range []string{"AU / region", "AU01", "1.1250", "upper", "–"} {
		if !contains(ts, want) {
			t.Errorf("summary table %q lacks %q", ts, want)
		}
	}
	for _, call := range []string{"frame 0 a.mp4", "frame 0 a.mp4.left", "frame 0 a.mp4.right"} {
		if fake.callCount(call) != 1 {
			t.Errorf("calls %q: want one %q", fake.callList(), call)
		}
	}
	if h.w.frameSlider.Max != 29 || h.w.frameText.Text != "frame 1 of 30" {
		t.Errorf("slider max %v, %q", h.w.frameSlider.Max, h.w.frameText.Text)
	}
	h.w.frameSlider.OnChangeEnded(12)
	h.pump.until(t, "frame 13 shows", func() bool { return fake.callCount("frame 12 a.mp4.right") == 1 })
	if h.w.frameText.Text != "frame 13 of 30" {
		t.Errorf("frame label %q", h.w.frameText.Text)
	}
	// A new run gives the view back to the live run.
	test.Tap(button(h.win.Canvas().Content(), StartLabel))
	h.pump.until(t, "the second run has ended", func() bool { return h.w.run == nil && fake.callCount("process") == 2 })
	if h.w.reviewing != nil || h.w.summaryBox.Visible() {
		t.Error("the review stayed during a new run")
	}
}

// With two files processed at once, the live view follows the first until
// it ends, then the other.
func TestLiveViewFollowsOneFile(t *testing.T) {
	ar := &activeRun{stages: map[int]string{}, seen: map[int]int{}, ended: map[int]bool{}, focus: -1,
		curves: map[int]*auplot.Curves{}}
	aus := func(file, frame int) {
		ar.onAUs(file, backend.FrameAUs{Side: backend.SideLeft, Frame: frame, Time: float64(frame) / 30,
			Names: fakeAUNames, Intensity: make([]float64, len(fakeAUNames))})
	}
	pic := func(file int) { ar.onPreview(file, backend.Preview{Frame: 5, Source: grey480()}) }
	ar.onStage(0, "tracking")
	ar.onStage(1, "tracking")
	aus(0, 0)
	aus(1, 0)
	aus(1, 1)
	pic(1)
	pic(0)
	s := ar.take([]string{"AU01"}, 400, 300)
	if s.current != 0 || s.preview == nil || ar.curves[0].Len(backend.SideLeft) != 1 || s.plot == nil {
		t.Fatalf("following file %d, preview %v, %d frames of curves: want file 0's", s.current, s.preview != nil, ar.curves[0].Len(backend.SideLeft))
	}
	if s.seen[1] != 6 {
		t.Errorf("file 1's progress %d frames, want 6 (its preview of frame 5)", s.seen[1])
	}
	pic(1) // not shown
	if ar.take(nil, 400, 300).preview != nil {
		t.Error("file 1's picture shown while file 0 runs")
	}
	ar.onFileEnded(0)
	aus(0, 1) // late: ignored
	aus(1, 2)
	s = ar.take([]string{"AU01"}, 400, 300)
	if s.current != 1 || ar.curves[1].Len(backend.SideLeft) != 3 || s.plot == nil || ar.curves[0] != nil {
		t.Errorf("after file 0 ended: following %d with %d frames of curves, want file 1 with its 3", s.current, ar.curves[1].Len(backend.SideLeft))
	}
}

// The exports take the selected finished videos, or all when none is
// selected.
func TestExportSelection(t *testing.T) {
	fake := newFake()
	h := newHarness(t, fake, Config{SaveFile: func(title, dir, name string) (string, error) { return "/exports/x.csv", nil }})
	h.addReady(t, "a.mp4", "b.mp4", "c.mp4")
	test.Tap(button(h.win.Canvas().Content(), StartLabel))
	h.pump.until(t, "the run has ended", func() bool { return h.w.run == nil && fake.callCount("process") == 1 })
	exported := func() []string {
		h.w.export(backend.ExportAUs)
		n := len(fake.exports) + 1
		h.pump.until(t, "the export", func() bool { return fake.callCount("export") == n && !h.w.exporting })
		var names []string
		for _, r := range fake.exports[n-1].results {
			names = append(names, filepath.Base(r.Path))
		}
		return names
	}
	if got := exported(); !slices.Equal(got, []string{"a.mp4", "b.mp4", "c.mp4"}) {
		t.Errorf("nothing selected: exported %q, want all", got)
	}
	for _, name := range []string{"c.mp4", "a.mp4"} {
		var box *widget.Check
		walk(h.row(name), func(o fyne.CanvasObject) bool {
			if c, ok := o.(*widget.Check); ok && c.Text == SelectLabel {
				box = c
			}
			return box == nil
		})
		if box == nil {
			t.Fatalf("row %s has no %s check", name, SelectLabel)
		}
		test.Tap(box)
	}
	if got := exported(); !slices.Equal(got, []string{"a.mp4", "c.mp4"}) {
		t.Errorf("a and c selected: exported %q", got)
	}
}

// In mode AUs only no pictures are made: the live view shows the video's
// first frame, and the curves.
func TestLiveViewAUsOnly(t *testing.T) {
	fake := newFake()
	fake.runGate = make(chan struct{})
	h := newHarness(t, fake, Config{})
	h.w.modeRadio.SetSelected(backend.ModeAUs.Label())
	h.addReady(t, "a.mp4")
	test.Tap(button(h.win.Canvas().Content(), StartLabel))
	h.untilStarted(t)
	h.pump.until(t, "the live view shows", func() bool { return h.w.preview[0].Image != nil && h.w.plot.Image != nil })
	if e := h.w.list.Entries()[0]; h.w.preview[0].Image != e.Thumbnail || h.w.preview[1].Image != nil {
		t.Error("mode AUs only: the live view should show the first frame and no mirrored faces")
	}
	close(fake.runGate)
	h.pump.until(t, "the run has ended", func() bool { return h.w.run == nil })
}
