package mainwindow

import (
	"context"
	"fmt"
	"image"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"facemirror/ui/auplot"
	"facemirror/ui/backend"
	"facemirror/ui/thumbnail"
	"facemirror/ui/videolist"
)

// Labels of the run's commands and settings.
const (
	StartLabel      = "Start"
	CancelLabel     = "Cancel"
	ChooseOutLabel  = "Choose folder…"
	BesideLabel     = "Beside each video"
	OpenOutLabel    = "Open output folder"
	RerunAllLabel   = "Re-run all"
	UnprocessedWord = "Process only unprocessed"
)

// Preference keys: the settings a clinician chose last time.
const (
	prefMode    = "run.mode"
	prefOutDir  = "run.outdir"
	prefWorkers = "run.workers"
	prefAUs     = "plot.aus"
)

// defaultAUs are plotted until the user chooses others: brow raiser,
// cheek raiser, lip-corner puller and blink, the movements a palsy
// assessment looks at first.
var defaultAUs = []string{"AU01", "AU06", "AU12", "AU45"}

// intensityAUs are OpenFace 2.2's 17 intensity AUs, in its column order;
// the checklist offers them before the first run reports its names.
var intensityAUs = []string{"AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10",
	"AU12", "AU14", "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU45"}

// liveInterval is how often the live view is redrawn while a run works: a
// few times a second reads as live, and the plot is drawn off the UI
// goroutine in between.
const liveInterval = 250 * time.Millisecond

// Plot size in pixels until the plot has been laid out; then it is drawn
// at the size it is shown (plotSize), so that its text stays crisp.
const plotPixelsW, plotPixelsH = 900, 520

// settings are the run settings as the window shows them.
type settings struct {
	mode    backend.Mode
	outDir  string
	workers int // 0: one per core
	aus     []string
}

// loadSettings reads the remembered settings, with defaults for what was
// never chosen or no longer makes sense.
func loadSettings(p fyne.Preferences) settings {
	s := settings{mode: backend.ModeFull}
	if p == nil {
		s.aus = slices.Clone(defaultAUs)
		return s
	}
	if m := backend.Mode(p.String(prefMode)); slices.Contains(backend.Modes(), m) {
		s.mode = m
	}
	s.outDir = p.String(prefOutDir)
	s.workers = max(0, p.Int(prefWorkers))
	for _, a := range strings.Split(p.String(prefAUs), ",") {
		if slices.Contains(intensityAUs, a) {
			s.aus = append(s.aus, a)
		}
	}
	if len(s.aus) == 0 {
		s.aus = slices.Clone(defaultAUs)
	}
	return s
}

func (s settings) save(p fyne.Preferences) {
	if p == nil {
		return
	}
	p.SetString(prefMode, string(s.mode))
	p.SetString(prefOutDir, s.outDir)
	p.SetInt(prefWorkers, s.workers)
	p.SetString(prefAUs, strings.Join(s.aus, ","))
}

// runState is what a row shows of the run.
type runState struct {
	outcome *backend.Outcome // nil while waiting or processing
	stage   string           // empty while waiting
	frac    float64          // of the file's frames, while processing
	text    string
}

// activeRun is a run in progress. The event functions fill it from the
// run's goroutines; the live loop reads it a few times a second.
type activeRun struct {
	cancel context.CancelFunc
	ids    []videolist.ID
	files  []string
	frames []int // each file's frame count as probed (0: unknown)
	mode   backend.Mode
	outDir string
	start  time.Time

	mu       sync.Mutex
	progress backend.RunProgress
	stages   map[int]string
	seen     map[int]int // the highest frame reported per file
	ended    map[int]bool
	// focus is the file the live view follows (-1: none yet). Several
	// files run at once, one per helper; the view stays on one until it
	// ends, rather than flicking between them.
	focus   int
	preview *backend.Preview
	// curves are the AU curves of each running file (the view's switch
	// to the next file then shows its whole history), curves[focus] the
	// ones drawn.
	curves    map[int]*auplot.Curves
	dirty     bool // the drawn curves changed since the last drawing
	cancelled bool
	// maxLatency is the longest an update of the live view waited for
	// the UI goroutine, over updates; both are touched on the UI
	// goroutine only.
	maxLatency time.Duration
	updates    int
	slow       int // updates that waited longer than slowUpdate
	// cancelledAt is when Cancel was pressed (UI goroutine only).
	cancelledAt time.Time
}

func (ar *activeRun) noteLatency(d time.Duration) {
	ar.maxLatency = max(ar.maxLatency, d)
	ar.updates++
	if d > slowUpdate {
		ar.slow++
	}
}

// slowUpdate is the wait beyond which a user notices a window lagging.
const slowUpdate = 50 * time.Millisecond

func (ar *activeRun) onProgress(p backend.RunProgress) {
	ar.mu.Lock()
	ar.progress = p
	ar.mu.Unlock()
}

func (ar *activeRun) onStage(file int, stage string) {
	ar.mu.Lock()
	ar.stages[file] = stage
	ar.follow(file)
	ar.mu.Unlock()
}

func (ar *activeRun) onPreview(file int, p backend.Preview) {
	ar.mu.Lock()
	ar.seen[file] = max(ar.seen[file], p.Frame+1)
	if ar.follow(file) {
		ar.preview = &p
	}
	ar.mu.Unlock()
}

func (ar *activeRun) onAUs(file int, a backend.FrameAUs) {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	ar.seen[file] = max(ar.seen[file], a.Frame+1)
	shown := ar.follow(file)
	if ar.ended[file] {
		return
	}
	c := ar.curves[file]
	if c == nil {
		c = auplot.NewCurves(a.Names)
		ar.curves[file] = c
	}
	// A malformed event is not worth stopping the run for.
	if c.Add(a.Side, a.Frame, a.Time, a.Intensity) == nil && shown {
		ar.dirty = true
	}
}

// onFileEnded lets the live view move on to another file.
func (ar *activeRun) onFileEnded(file int) {
	ar.mu.Lock()
	ar.ended[file] = true
	if file != ar.focus {
		delete(ar.curves, file)
	}
	ar.mu.Unlock()
}

// follow reports whether the live view shows file, making it the one
// shown when the view follows none or one that has ended. ar.mu is held.
func (ar *activeRun) follow(file int) bool {
	if ar.ended[file] {
		return false
	}
	if ar.focus < 0 || ar.ended[ar.focus] {
		if ar.focus != file {
			// The last file's curves and picture go; the next file's
			// are drawn (dirty with no curves clears the plot).
			delete(ar.curves, ar.focus)
			ar.preview, ar.dirty = nil, true
		}
		ar.focus = file
	}
	return ar.focus == file
}

// snapshot is what the live loop hands to the UI goroutine.
type snapshot struct {
	progress backend.RunProgress
	current  int
	stage    string
	seen     map[int]int
	stages   map[int]string
	preview  *backend.Preview
	plot     image.Image
	asym     string
	// clear: the view follows another file, whose curves have not come.
	clear bool
}

// take copies the state for display and draws the plot if the curves
// changed. It runs on the live loop's goroutine, so drawing never stalls
// the window.
func (ar *activeRun) take(selected []string, width, height int) snapshot {
	ar.mu.Lock()
	s := snapshot{
		progress: ar.progress, current: ar.focus, stage: ar.stages[ar.focus],
		seen: make(map[int]int, len(ar.seen)), stages: make(map[int]string, len(ar.stages)),
		preview: ar.preview,
	}
	for k, v := range ar.seen {
		s.seen[k] = v
	}
	for k, v := range ar.stages {
		s.stages[k] = v
	}
	ar.preview = nil
	curves := ar.curves[ar.focus]
	draw := ar.dirty && curves != nil
	s.clear = ar.dirty && curves == nil
	ar.dirty = false
	var img image.Image
	var asym string
	if draw {
		// Drawn under the lock: Curves is not safe for concurrent use,
		// and the events only append, which can wait a few
		// milliseconds.
		img, _ = curves.Render(selected, width, height)
		asym = describeAsymmetry(curves, selected)
	}
	ar.mu.Unlock()
	s.plot, s.asym = img, asym
	return s
}

// describeAsymmetry lists each selected AU's asymmetry index so far.
func describeAsymmetry(c *auplot.Curves, selected []string) string {
	var parts []string
	for _, au := range selected {
		if ai, ok := c.Asymmetry(au); ok {
			parts = append(parts, fmt.Sprintf("%s %+.2f", au, ai))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "Asymmetry index (left − right)/(left + right): " + strings.Join(parts, "   ")
}

// buildRunBar returns the settings and the Start/Cancel bar.
func (w *Window) buildRunBar() fyne.CanvasObject {
	w.settings = loadSettings(w.cfg.Preferences)

	labels := make([]string, 0, 3)
	for _, m := range backend.Modes() {
		labels = append(labels, m.Label())
	}
	w.modeRadio = widget.NewRadioGroup(labels, func(label string) {
		for _, m := range backend.Modes() {
			if m.Label() == label {
				w.settings.mode = m
			}
		}
		w.settings.save(w.cfg.Preferences)
	})
	w.modeRadio.Horizontal = true
	w.modeRadio.Required = true
	w.modeRadio.SetSelected(w.settings.mode.Label())

	w.outLabel = widget.NewLabel("")
	w.outLabel.Truncation = fyne.TextTruncateEllipsis
	w.outChoose = widget.NewButtonWithIcon(ChooseOutLabel, theme.FolderOpenIcon(), w.pickOutDir)
	if w.cfg.PickFolder == nil {
		w.outChoose.Disable()
	}
	w.outBeside = widget.NewButton(BesideLabel, func() { w.setOutDir("") })
	w.showOutDir()

	options := []string{"one per core"}
	for n := 1; n <= max(2, runtime.NumCPU()); n++ {
		options = append(options, strconv.Itoa(n))
	}
	w.workersSelect = widget.NewSelect(options, func(s string) {
		n, _ := strconv.Atoi(s) // "one per core" gives 0
		w.settings.workers = n
		w.settings.save(w.cfg.Preferences)
	})
	if w.settings.workers > 0 && w.settings.workers < len(options) {
		w.workersSelect.SetSelected(strconv.Itoa(w.settings.workers))
	} else {
		w.workersSelect.SetSelected(options[0])
	}

	w.startButton = widget.NewButtonWithIcon(StartLabel, theme.MediaPlayIcon(), w.startRun)
	w.startButton.Importance = widget.HighImportance
	w.cancelButton = widget.NewButtonWithIcon(CancelLabel, theme.MediaStopIcon(), w.cancelRun)
	w.cancelButton.Importance = widget.DangerImportance
	w.cancelButton.Disable()
	w.progressBar = widget.NewProgressBar()
	w.progressBar.TextFormatter = func() string { return fmt.Sprintf("%.0f %%", 100*w.progressBar.Value) }
	w.progressText = widget.NewLabel("Press Start (Ctrl+Enter) to process the videos in the list.")
	w.progressText.Truncation = fyne.TextTruncateEllipsis

	modeRow := container.NewHBox(widget.NewLabelWithStyle("Mode", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), w.modeRadio)
	outRow := container.NewBorder(nil, nil,
		widget.NewLabelWithStyle("Output", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewHBox(w.outChoose, w.outBeside,
			widget.NewLabelWithStyle("Helpers", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), w.workersSelect),
		w.outLabel)
	runRow := container.NewBorder(nil, nil, container.NewHBox(w.startButton, w.cancelButton), nil,
		container.NewVBox(w.progressBar, w.progressText))
	return container.NewVBox(modeRow, outRow, runRow)
}

// buildLive returns the live view: the preview of the frame being
// processed and the AU plot.
func (w *Window) buildLive() fyne.CanvasObject {
	titles := []string{"Source and midline", "Left mirrored", "Right mirrored"}
	cells := make([]fyne.CanvasObject, 3)
	for i := range w.preview {
		img := canvasImage()
		img.SetMinSize(fyne.NewSize(160, 120))
		w.preview[i] = img
		cells[i] = container.NewBorder(nil, widget.NewLabelWithStyle(titles[i], fyne.TextAlignCenter, fyne.TextStyle{}), nil, nil, img)
	}
	w.plot = canvasImage()
	w.plot.SetMinSize(fyne.NewSize(300, 220))
	w.asymText = widget.NewLabel("")
	w.asymText.Wrapping = fyne.TextWrapWord
	w.plotAUs = slices.Clone(w.settings.aus)
	// A grid rather than one long row, so that all 17 stay in view.
	w.auChecks = make(map[string]*widget.Check, len(intensityAUs))
	checks := make([]fyne.CanvasObject, len(intensityAUs))
	for i, au := range intensityAUs {
		c := widget.NewCheck(au, func(bool) { w.auSelectionChanged() })
		c.Checked = slices.Contains(w.settings.aus, au)
		w.auChecks[au] = c
		checks[i] = c
	}
	w.liveTitle = widget.NewLabelWithStyle("Live view", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	w.frameText = widget.NewLabel("")
	w.frameSlider = widget.NewSlider(0, 1)
	w.frameSlider.OnChangeEnded = func(v float64) { w.showReviewFrame(int(v)) }
	w.reviewBar = container.NewBorder(nil, nil, nil, w.frameText, w.frameSlider)
	w.reviewBar.Hide()
	w.summaryTable = container.NewGridWithColumns(5)
	// A few rows at a time: the plot keeps most of the height.
	w.summaryBox = container.NewVScroll(w.summaryTable)
	w.summaryBox.SetMinSize(fyne.NewSize(0, 150))
	w.summaryBox.Hide()
	top := container.NewVBox(w.liveTitle, container.NewGridWithColumns(3, cells...), w.reviewBar)
	bottom := container.NewVBox(w.asymText, w.summaryBox, container.NewGridWithColumns(9, checks...))
	return container.NewBorder(top, bottom, nil, nil, w.plot)
}

// selectAUs checks exactly the given AUs.
func (w *Window) selectAUs(aus []string) {
	for au, c := range w.auChecks {
		c.Checked = slices.Contains(aus, au)
		c.Refresh()
	}
	w.auSelectionChanged()
}

// auSelectionChanged remembers the checked AUs and redraws the plot.
func (w *Window) auSelectionChanged() {
	var sel []string
	for _, au := range intensityAUs {
		if w.auChecks[au].Checked {
			sel = append(sel, au)
		}
	}
	w.settings.aus = sel
	w.settings.save(w.cfg.Preferences)
	w.selMu.Lock()
	w.plotAUs = slices.Clone(sel)
	w.selMu.Unlock()
	if w.reviewing != nil {
		w.drawReview(w.reviewing)
	}
	if w.run != nil {
		w.run.mu.Lock()
		w.run.dirty = true
		w.run.mu.Unlock()
	}
}

// plotSize notes the plot's size in pixels, for the next drawings, and
// reports whether it changed. Called on the UI goroutine.
func (w *Window) plotSize() bool {
	size := w.plot.Size()
	scale := float32(1)
	if c := w.win.Canvas(); c != nil {
		scale = c.Scale()
	}
	pw, ph := int(size.Width*scale), int(size.Height*scale)
	if pw < 100 || ph < 100 {
		pw, ph = plotPixelsW, plotPixelsH
	}
	w.selMu.Lock()
	defer w.selMu.Unlock()
	changed := w.plotPx != [2]int{pw, ph}
	w.plotPx = [2]int{pw, ph}
	return changed
}

// canvasImage is an empty picture that keeps its aspect ratio, for the
// live view. Its pictures change a few times a second; Fyne's smooth
// scaling would resample each on the CPU, on the UI goroutine (that and
// the rows' thumbnails were most of the window's own CPU time during a
// run, and its updates waited up to 0.4-1.2 s), so the graphics card
// scales them instead.
func canvasImage() *canvas.Image {
	img := canvas.NewImageFromImage(nil)
	img.FillMode = canvas.ImageFillContain
	img.ScaleMode = canvas.ImageScaleFastest
	return img
}

func (w *Window) showOutDir() {
	if w.settings.outDir == "" {
		w.outLabel.SetText(BesideLabel)
		w.outBeside.Hide()
	} else {
		w.outLabel.SetText(w.settings.outDir)
		w.outBeside.Show()
	}
}

func (w *Window) setOutDir(dir string) {
	w.settings.outDir = dir
	w.settings.save(w.cfg.Preferences)
	w.showOutDir()
}

// pickOutDir asks for the output folder.
func (w *Window) pickOutDir() { w.withFolder(w.setOutDir) }

// withFolder runs the native folder dialog off the UI goroutine, since it
// blocks until the user answers, and then use with the chosen folder on the
// UI goroutine; a failed dialog is reported, a cancelled one does nothing.
func (w *Window) withFolder(use func(dir string)) {
	if w.cfg.PickFolder == nil || w.picking {
		return
	}
	w.setPicking(true)
	go func() {
		dir, err := pickFolder(w.cfg.PickFolder)
		w.Post(func() {
			w.setPicking(false)
			switch {
			case err != nil:
				w.setNotice(err.Error(), widget.DangerImportance)
			case dir != "":
				use(dir)
			}
		})
	}()
}

// pickFolder calls the dialog, turning a panic into an error.
func pickFolder(f func() (string, error)) (dir string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("folder dialog: %v", r)
		}
	}()
	dir, err = f()
	if err != nil {
		err = fmt.Errorf("folder dialog: %w", err)
	}
	return dir, err
}

// runnable returns the entries a run would process: every one whose file
// could be read.
func (w *Window) runnable() []videolist.Entry {
	var out []videolist.Entry
	for _, e := range w.list.Entries() {
		if e.Status != videolist.Failed {
			out = append(out, e)
		}
	}
	return out
}

// startRun asks which videos are done already, and then runs.
func (w *Window) startRun() {
	if w.run != nil || w.checking {
		return
	}
	entries := w.runnable()
	if len(entries) == 0 {
		w.setNotice("Nothing to process: add videos first (File ▸ Add videos…, or drop them here).", widget.MediumImportance)
		return
	}
	s := w.settings
	rs := backend.RunSettings{Mode: s.mode, OutDir: s.outDir, Workers: s.workers}
	files := make([]string, len(entries))
	for i, e := range entries {
		files[i] = e.Path
	}
	w.checking = true
	w.setRunning(true)
	w.progressText.SetText("Looking for earlier results…")
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		done, err := completed(w.ctx, w.backend, files, rs)
		w.Post(func() {
			w.checking = false
			w.setRunning(false)
			if w.ctx.Err() != nil {
				return
			}
			n := 0
			for _, d := range done {
				if d {
					n++
				}
			}
			if err != nil || n == 0 {
				// Without an answer, process everything: the outputs are
				// replaced atomically either way.
				w.beginRun(entries, rs)
				return
			}
			w.askRerun(entries, rs, n)
		})
	}()
}

// completed calls the backend, turning a panic into an error.
func completed(ctx context.Context, b backend.Backend, files []string, s backend.RunSettings) (done []bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			done, err = nil, fmt.Errorf("internal error: %v", r)
		}
	}()
	return b.Completed(ctx, files, s)
}

// askRerun asks what to do with the n entries whose outputs are complete.
func (w *Window) askRerun(entries []videolist.Entry, rs backend.RunSettings, n int) {
	verb := "have"
	if n == 1 {
		verb = "has"
	}
	msg := fmt.Sprintf("%s of %d already %s complete outputs for “%s”.",
		plural(n, "video", "videos"), len(entries), verb, rs.Mode.Label())
	var d *dialog.CustomDialog
	rerun := widget.NewButton(RerunAllLabel, func() {
		d.Hide()
		w.beginRun(entries, rs)
	})
	only := widget.NewButton(fmt.Sprintf("%s (%d)", UnprocessedWord, len(entries)-n), func() {
		d.Hide()
		rs.SkipComplete = true
		w.beginRun(entries, rs)
	})
	only.Importance = widget.HighImportance
	cancel := widget.NewButton(CancelLabel, func() { d.Hide() })
	d = dialog.NewCustomWithoutButtons("Earlier results found", widget.NewLabel(msg), w.win)
	d.SetButtons([]fyne.CanvasObject{cancel, rerun, only})
	w.rerunDialog = d
	d.Show()
}

// beginRun starts processing entries in the background.
func (w *Window) beginRun(entries []videolist.Entry, rs backend.RunSettings) {
	ctx, cancel := context.WithCancel(w.ctx)
	ar := &activeRun{
		cancel: cancel, mode: rs.Mode, outDir: rs.OutDir, start: time.Now(),
		stages: map[int]string{}, seen: map[int]int{}, ended: map[int]bool{}, focus: -1,
		curves: map[int]*auplot.Curves{},
	}
	for _, e := range entries {
		ar.ids = append(ar.ids, e.ID)
		ar.files = append(ar.files, e.Path)
		frames := 0
		if e.Probe != nil {
			frames = e.Probe.Frames
		}
		ar.frames = append(ar.frames, frames)
		if r, ok := w.rows[e.ID]; ok {
			r.setRun(&runState{text: "waiting"})
		}
	}
	w.endReview()
	w.run = ar
	w.setRunning(true)
	for i := range w.preview {
		w.preview[i].Image = nil
		w.preview[i].Refresh()
	}
	w.plot.Image = nil
	w.plot.Refresh()
	w.asymText.SetText("")
	w.progressBar.SetValue(0)
	w.progressText.SetText(fmt.Sprintf("Starting %s…", plural(len(entries), "video", "videos")))
	w.setNotice("", widget.MediumImportance)

	ev := backend.RunEvents{
		Progress: ar.onProgress, Stage: ar.onStage, Preview: ar.onPreview, AUs: ar.onAUs,
		File: func(r backend.FileResult) {
			ar.onFileEnded(r.File)
			w.Post(func() { w.fileEnded(ar, r) })
		},
	}
	live := make(chan struct{})
	w.wg.Add(2)
	go func() {
		defer w.wg.Done()
		w.liveLoop(ar, live)
	}()
	go func() {
		defer w.wg.Done()
		results := process(ctx, w.backend, ar.files, rs, ev)
		close(live)
		cancel()
		w.Post(func() { w.runEnded(ar, results) })
	}()
}

// process calls the backend, turning a panic into every file's failure.
func process(ctx context.Context, b backend.Backend, files []string, s backend.RunSettings, ev backend.RunEvents) (results []backend.FileResult) {
	defer func() {
		if r := recover(); r != nil {
			results = make([]backend.FileResult, len(files))
			for i, f := range files {
				results[i] = backend.FileResult{File: i, Path: f, Outcome: backend.Failed, Err: fmt.Errorf("internal error: %v", r)}
			}
		}
	}()
	return b.Process(ctx, files, s, ev)
}

// liveLoop redraws the live view until done is closed.
func (w *Window) liveLoop(ar *activeRun, done <-chan struct{}) {
	t := time.NewTicker(liveInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		w.selMu.Lock()
		sel := slices.Clone(w.plotAUs)
		pw, ph := w.plotPx[0], w.plotPx[1]
		w.selMu.Unlock()
		s := ar.take(sel, pw, ph)
		posted := time.Now()
		w.Post(func() {
			// How long the UI goroutine took to get to this update: the
			// window's responsiveness while the run works.
			ar.noteLatency(time.Since(posted))
			w.showLive(ar, s)
		})
	}
}

// showLive shows a snapshot, unless the run it belongs to is over.
func (w *Window) showLive(ar *activeRun, s snapshot) {
	if w.run != ar {
		return
	}
	p := s.progress
	if p.Frames > 0 {
		w.progressBar.SetValue(min(1, float64(p.FramesDone)/float64(p.Frames)))
	}
	w.progressText.SetText(describeProgress(p, s.stage, len(ar.files)))
	for i, id := range ar.ids {
		r, ok := w.rows[id]
		if !ok || r.run == nil || r.run.outcome != nil {
			continue
		}
		stage, started := s.stages[i]
		if !started {
			continue
		}
		st := &runState{stage: stage, text: stage}
		if n := ar.frames[i]; n > 0 {
			passes := float64(s.seen[i]) / float64(n)
			st.frac = min(1, passes)
			st.text = fmt.Sprintf("%s · frame %d of %d", stage, min(s.seen[i], n), n)
		}
		if *r.run != *st {
			r.setRun(st)
		}
	}
	if s.current >= 0 && s.current < len(ar.files) {
		w.liveTitle.SetText("Live view: " + filepath.Base(ar.files[s.current]))
		// Mode AUs only writes no pictures, so no previews come: the
		// video's first frame stands for it.
		if ar.mode == backend.ModeAUs {
			if e, ok := w.list.Entry(ar.ids[s.current]); ok && w.preview[0].Image != e.Thumbnail {
				w.preview[0].Image = e.Thumbnail
				w.preview[0].Refresh()
			}
		}
	}
	if pv := s.preview; pv != nil {
		for i, img := range []image.Image{pv.Source, pv.Left, pv.Right} {
			w.preview[i].Image = img
			w.preview[i].Refresh()
		}
	}
	if w.plotSize() {
		ar.mu.Lock()
		ar.dirty = true
		ar.mu.Unlock()
	}
	if s.clear {
		w.plot.Image = nil
		w.plot.Refresh()
		w.asymText.SetText("")
	}
	if s.plot != nil {
		w.plot.Image = s.plot
		w.plot.Refresh()
		w.asymText.SetText(s.asym)
	}
}

// describeProgress is the run's status line: "Video 2 of 5 · tracking the
// face · 1,200 of 3,000 frames · 42.0 frames/s · about 1:10 left".
func describeProgress(p backend.RunProgress, stage string, files int) string {
	parts := []string{fmt.Sprintf("Video %d of %d", min(p.FilesDone+1, files), files)}
	if stage != "" {
		parts = append(parts, stage)
	}
	if p.Frames > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d frames", p.FramesDone, p.Frames))
	}
	if p.Rate > 0 {
		parts = append(parts, fmt.Sprintf("%.1f frames/s", p.Rate))
	}
	if p.LeftKnown {
		parts = append(parts, "about "+formatWait(p.Left)+" left")
	}
	return strings.Join(parts, " · ")
}

// fileEnded shows how one file's run ended.
func (w *Window) fileEnded(ar *activeRun, res backend.FileResult) {
	if res.File < 0 || res.File >= len(ar.ids) {
		return
	}
	r, ok := w.rows[ar.ids[res.File]]
	if !ok {
		return
	}
	o := res.Outcome
	text := o.String()
	switch o {
	case backend.Done, backend.NoFace:
		text = fmt.Sprintf("%s in %s", o, formatWait(res.Elapsed))
		if len(res.Warnings) > 0 {
			text += " · " + strings.Join(res.Warnings, "; ")
		}
	case backend.Failed:
		if res.Err != nil {
			text = "failed: " + strings.ReplaceAll(res.Err.Error(), res.Path, filepath.Base(res.Path))
		}
	}
	r.result = &res
	r.setRun(&runState{outcome: &o, frac: 1, text: text})
	if o == backend.Done {
		w.fetchMirrored(r, res.Outputs)
	}
}

// fetchMirrored shows the first frames of the written mirrored videos in
// the row, decoded in the background from the files themselves.
func (w *Window) fetchMirrored(r *row, outputs []string) {
	var left, right string
	for _, o := range outputs {
		stem := strings.TrimSuffix(filepath.Base(o), filepath.Ext(o))
		switch {
		case strings.HasSuffix(stem, "_left_mirrored") && !strings.HasSuffix(o, ".csv"):
			left = o
		case strings.HasSuffix(stem, "_right_mirrored") && !strings.HasSuffix(o, ".csv"):
			right = o
		}
	}
	if left == "" || right == "" {
		return
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		var imgs [2]image.Image
		for i, p := range []string{left, right} {
			frame, err := firstFrameOnly(w.ctx, w.backend, p)
			if err != nil {
				return
			}
			imgs[i] = frame
		}
		w.Post(func() { r.setMirrored(imgs[0], imgs[1]) })
	}()
}

// runEnded shows the summary of a finished run.
func (w *Window) runEnded(ar *activeRun, results []backend.FileResult) {
	if w.run != ar {
		return
	}
	for _, res := range results {
		if r, ok := w.rows[ar.ids[res.File]]; ok && (r.run == nil || r.run.outcome == nil) {
			w.fileEnded(ar, res)
		}
	}
	w.run = nil
	w.setRunning(false)
	counts := map[backend.Outcome]int{}
	for _, r := range results {
		counts[r.Outcome]++
	}
	elapsed := time.Since(ar.start).Round(time.Second)
	if w.cfg.Log != nil && !ar.cancelledAt.IsZero() {
		// Process returns once every helper has exited.
		w.cfg.Log("run cancelled: its helpers had stopped %s after Cancel", time.Since(ar.cancelledAt).Round(time.Millisecond))
	}
	if w.cfg.Log != nil {
		w.cfg.Log("run of %d files ended after %s; the UI goroutine took up to %s to show an update, %d of %d updates waited over %s",
			len(ar.files), elapsed, ar.maxLatency.Round(time.Millisecond), ar.slow, ar.updates, slowUpdate)
	}
	summary := fmt.Sprintf("%d done, %d failed, %d skipped", counts[backend.Done]+counts[backend.NoFace], counts[backend.Failed], counts[backend.Skipped])
	if n := counts[backend.Cancelled]; n > 0 {
		summary += fmt.Sprintf(", %d cancelled", n)
	}
	summary += " · " + formatWait(elapsed)
	w.progressText.SetText("Finished: " + summary)
	if counts[backend.Cancelled] == 0 {
		w.progressBar.SetValue(1)
	}
	w.lastOut = outputFolder(ar, results)
	w.openOutItem.Disabled = w.lastOut == ""
	if m := w.win.MainMenu(); m != nil {
		m.Refresh()
	}
	content := container.NewVBox(widget.NewLabel(summary))
	var d *dialog.CustomDialog
	buttons := []fyne.CanvasObject{widget.NewButton("Close", func() { d.Hide() })}
	if w.lastOut != "" {
		open := widget.NewButtonWithIcon(OpenOutLabel, theme.FolderOpenIcon(), func() {
			d.Hide()
			w.openOutDir()
		})
		open.Importance = widget.HighImportance
		buttons = append(buttons, open)
	}
	title := "Processing finished"
	if counts[backend.Cancelled] > 0 {
		title = "Processing cancelled"
	}
	d = dialog.NewCustomWithoutButtons(title, content, w.win)
	d.SetButtons(buttons)
	w.summaryDialog = d
	d.Show()
}

// outputFolder is where the run's outputs are: the chosen folder, or the
// folder of the first file with outputs.
func outputFolder(ar *activeRun, results []backend.FileResult) string {
	if ar.outDir != "" {
		return ar.outDir
	}
	for _, r := range results {
		if len(r.Outputs) > 0 {
			return filepath.Dir(r.Outputs[0])
		}
	}
	return ""
}

// openOutDir shows the last run's output folder in the file manager.
func (w *Window) openOutDir() {
	if w.lastOut == "" {
		return
	}
	u := &url.URL{Scheme: "file", Path: filepath.ToSlash(w.lastOut)}
	if err := fyne.CurrentApp().OpenURL(u); err != nil {
		w.setNotice(fmt.Sprintf("Could not open %s: %v", w.lastOut, err), widget.DangerImportance)
	}
}

// cancelRun stops the run; the helpers stop within a second, and the
// video being processed leaves nothing behind.
func (w *Window) cancelRun() {
	if w.run == nil {
		return
	}
	w.run.mu.Lock()
	w.run.cancelled = true
	w.run.mu.Unlock()
	w.run.cancelledAt = time.Now()
	w.run.cancel()
	w.cancelButton.Disable()
	w.progressText.SetText("Cancelling…")
}

// setRunning enables what may be used while a run works or not.
func (w *Window) setRunning(on bool) {
	for _, b := range []*widget.Button{w.startButton, w.clearButton, w.outChoose, w.outBeside} {
		if on {
			b.Disable()
		} else if b != w.outChoose || w.cfg.PickFolder != nil {
			b.Enable()
		}
	}
	w.startItem.Disabled = on
	w.cancelItem.Disabled = !on || w.run == nil
	if m := w.win.MainMenu(); m != nil {
		m.Refresh()
	}
	if on {
		w.modeRadio.Disable()
		w.workersSelect.Disable()
	} else {
		w.modeRadio.Enable()
		w.workersSelect.Enable()
	}
	if on && w.run != nil {
		w.cancelButton.Enable()
	} else {
		w.cancelButton.Disable()
	}
	for _, r := range w.rows {
		r.setLocked(on)
	}
	if !on {
		w.refreshList()
	}
}

// firstFrameOnly is the first frame of a written video, scaled for a row,
// without a face box: the row shows what the file holds.
func firstFrameOnly(ctx context.Context, b backend.Backend, path string) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("first frame of %s: internal error: %v", path, r)
		}
	}()
	frame, _, err := b.Thumbnail(ctx, path)
	if err != nil {
		return nil, err
	}
	if frame == nil {
		return nil, fmt.Errorf("first frame of %s: %w", path, errNoFrame)
	}
	t := thumbnail.Render(frame, nil, thumbPixelsW/2, thumbPixelsH/2)
	if t == nil {
		return nil, fmt.Errorf("first frame of %s: %w", path, errNoFrame)
	}
	return t, nil
}
