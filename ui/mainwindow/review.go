package mainwindow

import (
	"fmt"
	"image"
	"path/filepath"
	"slices"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"facemirror/ui/auplot"
	"facemirror/ui/backend"
	"facemirror/ui/videolist"
)

// ReviewLabel is the row button that shows a finished video's results;
// SelectLabel the check that picks finished videos for the exports.
const (
	ReviewLabel = "Review"
	SelectLabel = "Select"
)

// reviewState is the finished video shown in the live view's place.
type reviewState struct {
	id     videolist.ID
	name   string
	review backend.Review
	// mu serialises drawing: Curves is not safe for concurrent use, and
	// a new AU selection may draw while the last drawing runs.
	mu     sync.Mutex
	curves *auplot.Curves
	// frame is the frame last asked for; an answer for another is stale.
	frame int
}

// review reads a finished row's results in the background and shows them:
// the AU curves from its CSVs, its summary table and a frame slider over
// the source and mirrored videos.
func (w *Window) review(id videolist.ID) {
	r, ok := w.rows[id]
	if !ok || !r.reviewable() || w.run != nil {
		return
	}
	res := *r.result
	name := filepath.Base(res.Path)
	w.liveTitle.SetText("Review: " + name + " (reading its results…)")
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		rev, err := recovered("", func() (backend.Review, error) { return w.backend.Review(w.ctx, res) })
		var curves *auplot.Curves
		if err == nil {
			curves, err = reviewCurves(rev)
		}
		w.Post(func() {
			if w.run != nil {
				return
			}
			if err != nil {
				w.liveTitle.SetText("Live view")
				w.setNotice(fmt.Sprintf("Review of %s: %v", name, err), widget.DangerImportance)
				return
			}
			st := &reviewState{id: id, name: name, review: rev, curves: curves}
			w.reviewing = st
			w.liveTitle.SetText("Review: " + name)
			w.showSummary(rev.Summary)
			w.asymText.SetText("")
			w.frameSlider.Max = float64(max(1, rev.Frames-1))
			w.frameSlider.Step = 1
			w.frameSlider.Value = 0
			w.frameSlider.Refresh()
			w.reviewBar.Show()
			w.drawReview(st)
			w.showReviewFrame(0)
		})
	}()
}

// reviewCurves fills AU curves from a review's CSV values.
func reviewCurves(rev backend.Review) (*auplot.Curves, error) {
	c := auplot.NewCurves(rev.Names)
	for _, s := range rev.Sides {
		for i, v := range s.Intensity {
			if err := c.Add(s.Side, i, s.Times[i], v); err != nil {
				return nil, fmt.Errorf("%s side, frame %d: %w", s.Side, i+1, err)
			}
		}
	}
	return c, nil
}

// drawReview draws the reviewed video's curves off the UI goroutine.
func (w *Window) drawReview(st *reviewState) {
	w.plotSize()
	w.selMu.Lock()
	sel := slices.Clone(w.plotAUs)
	pw, ph := w.plotPx[0], w.plotPx[1]
	w.selMu.Unlock()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		st.mu.Lock()
		img, err := st.curves.Render(sel, pw, ph)
		st.mu.Unlock()
		w.Post(func() {
			if w.reviewing != st || err != nil {
				return
			}
			w.plot.Image = img
			w.plot.Refresh()
		})
	}()
}

// showReviewFrame shows frame i of the source and of the mirrored videos,
// decoded in the background.
func (w *Window) showReviewFrame(i int) {
	st := w.reviewing
	if st == nil {
		return
	}
	st.frame = i
	w.frameText.SetText(fmt.Sprintf("frame %d of %d", i+1, st.review.Frames))
	paths := []string{st.review.Source, st.review.Left, st.review.Right}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		var imgs [3]image.Image
		for k, p := range paths {
			if p == "" {
				continue
			}
			img, err := w.frame(p, i)
			if err != nil {
				w.Post(func() { w.setNotice(err.Error(), widget.DangerImportance) })
				return
			}
			imgs[k] = img
		}
		w.Post(func() {
			if w.reviewing != st || st.frame != i {
				return
			}
			for k, img := range imgs {
				w.preview[k].Image = img
				w.preview[k].Refresh()
			}
		})
	}()
}

// showSummary fills the summary table: per AU (and region) the mean
// intensity of each side and the asymmetry index.
func (w *Window) showSummary(rows []backend.SummaryRow) {
	w.summaryTable.RemoveAll()
	if len(rows) == 0 {
		w.summaryBox.Hide()
		return
	}
	bold := fyne.TextStyle{Bold: true}
	for _, h := range []string{"AU / region", "mean left", "mean right", "mean |left − right|", "asymmetry index"} {
		w.summaryTable.Add(widget.NewLabelWithStyle(h, fyne.TextAlignLeading, bold))
	}
	for _, r := range rows {
		for _, v := range []string{r.Item, r.MeanLeft, r.MeanRight, r.MeanAbsDiff, r.Asymmetry} {
			if v == "" {
				v = "–"
			}
			w.summaryTable.Add(widget.NewLabel(v))
		}
	}
	w.summaryBox.Show()
	w.summaryBox.ScrollToTop()
}

// endReview gives the view back to the live run.
func (w *Window) endReview() {
	if w.reviewing == nil {
		return
	}
	w.reviewing = nil
	w.reviewBar.Hide()
	w.summaryTable.RemoveAll()
	w.summaryBox.Hide()
	w.liveTitle.SetText("Live view")
}

// frame decodes frame i of a video through the backend.
func (w *Window) frame(path string, i int) (image.Image, error) {
	return recovered(fmt.Sprintf("frame %d of %s", i+1, path), func() (image.Image, error) {
		return w.backend.Frame(w.ctx, path, i)
	})
}

// recovered calls f, turning a panic into an error (what: internal
// error: ...), so that a failing backend costs one answer, never the
// window.
func recovered[T any](what string, f func() (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			var zero T
			v, err = zero, fmt.Errorf("internal error: %v", p)
			if what != "" {
				err = fmt.Errorf("%s: %w", what, err)
			}
		}
	}()
	return f()
}
