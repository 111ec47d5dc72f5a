package mainwindow

import (
	"context"
	"fmt"
	"image"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
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

// runState is what a row shows of the run.
type runState struct {
	outcome *backend.Outcome // nil while waiting or processing
	stage   string           // empty while waiting
	frac    float64          // of the file's frames, while processing
	text    string
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
		done, err := recovered("", func() ([]bool, error) { return w.backend.Completed(w.ctx, files, rs) })
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
	case backend.Done, backend.NoFace, backend.Damaged:
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
	if o == backend.Done || o == backend.Damaged {
		w.fetchMirrored(r, res)
	}
}

// fetchMirrored shows the first frames of the written mirrored videos in
// the row, decoded in the background from the files themselves.
func (w *Window) fetchMirrored(r *row, res backend.FileResult) {
	if res.Left == "" || res.Right == "" {
		return
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		var imgs [2]image.Image
		for i, p := range []string{res.Left, res.Right} {
			frame, err := w.frame(p, 0)
			if err != nil {
				return
			}
			if imgs[i] = thumbnail.Render(frame, nil, thumbPixelsW/2, thumbPixelsH/2); imgs[i] == nil {
				return
			}
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
	summary := fmt.Sprintf("%d done, %d failed, %d skipped", counts[backend.Done]+counts[backend.NoFace]+counts[backend.Damaged], counts[backend.Failed], counts[backend.Skipped])
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
