package mainwindow

import (
	"context"
	"fmt"
	"image"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"facemirror/ui/auplot"
	"facemirror/ui/backend"
	"facemirror/ui/videolist"
)

// liveInterval is how often the live view is redrawn while a run works: a
// few times a second reads as live, and the plot is drawn off the UI
// goroutine in between.
const liveInterval = 250 * time.Millisecond

// Plot size in pixels until the plot has been laid out; then it is drawn
// at the size it is shown (plotSize), so that its text stays crisp.
const plotPixelsW, plotPixelsH = 900, 520

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
