package mainwindow

import (
	"image"
	"image/color"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"facemirror/ui/backend"
	"facemirror/ui/videolist"
)

// thumbSize is the space a thumbnail takes in a row, in Fyne units.
var thumbSize = fyne.NewSize(160, 120)

// row shows one entry of the list. Like Fyne's own widgets it holds only
// state (the entry); its renderer turns that state into canvas objects.
type row struct {
	widget.BaseWidget
	entry    videolist.Entry
	onRemove func()
	onReview func()
	// run is the entry's state in the current or last run; nil before
	// its first run. locked hides Remove while a run works.
	run    *runState
	locked bool
	// result is how the entry's last run ended; nil before that.
	result *backend.FileResult
	// selected marks a finished entry for the exports.
	selected bool
	// mirrored are the first frames of the written left- and
	// right-mirrored videos, once a run has made them.
	mirrored [2]image.Image

	rend *rowRenderer // set once rendered, so dispose can stop the spinner
}

func newRow(e videolist.Entry, onRemove func()) *row {
	r := &row{entry: e, onRemove: onRemove}
	r.ExtendBaseWidget(r)
	return r
}

// set shows a new state of the entry.
func (r *row) set(e videolist.Entry) {
	r.entry = e
	r.Refresh()
}

// setRun shows the entry's state in a run.
func (r *row) setRun(st *runState) {
	r.run = st
	r.Refresh()
}

// reviewable reports whether the entry's last run left results to review.
func (r *row) reviewable() bool {
	if r.result == nil {
		return false
	}
	switch r.result.Outcome {
	case backend.Done, backend.Skipped, backend.Damaged:
		return true
	}
	return false
}

// setLocked hides Remove while a run works on the list.
func (r *row) setLocked(on bool) {
	if r.locked != on {
		r.locked = on
		r.Refresh()
	}
}

// setMirrored shows the first frames of the mirrored videos.
func (r *row) setMirrored(left, right image.Image) {
	r.mirrored = [2]image.Image{left, right}
	r.Refresh()
}

// dispose stops the row's animation once it has left the window.
func (r *row) dispose() {
	if r.rend != nil {
		r.rend.activity.Stop()
	}
}

func (r *row) CreateRenderer() fyne.WidgetRenderer {
	rr := &rowRenderer{row: r}
	rr.card = canvas.NewRectangle(color.Transparent)
	rr.card.CornerRadius = theme.InputRadiusSize()

	// A translucent grey frames letterboxed thumbnails in light and dark
	// themes alike.
	rr.thumbBg = canvas.NewRectangle(color.NRGBA{R: 0x80, G: 0x80, B: 0x80, A: 0x30})
	rr.thumbBg.CornerRadius = 4
	rr.thumbBg.SetMinSize(thumbSize)
	rr.thumb = canvas.NewImageFromImage(nil)
	rr.thumb.FillMode = canvas.ImageFillContain
	rr.thumb.ScaleMode = canvas.ImageScaleSmooth
	rr.thumb.SetMinSize(thumbSize)
	rr.fileIcon = widget.NewIcon(theme.FileVideoIcon())
	thumb := container.NewStack(rr.thumbBg,
		container.NewCenter(container.NewGridWrap(fyne.NewSize(48, 48), rr.fileIcon)), rr.thumb)

	rr.name = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	rr.name.SizeName = theme.SizeNameSubHeadingText
	rr.name.Truncation = fyne.TextTruncateEllipsis
	rr.folder = &widget.TextSegment{Style: widget.RichTextStyle{
		ColorName: theme.ColorNamePlaceHolder, SizeName: theme.SizeNameCaptionText, Inline: true}}
	folder := widget.NewRichText(rr.folder)
	folder.Truncation = fyne.TextTruncateEllipsis
	rr.folderText = folder
	rr.facts = widget.NewLabel("")
	rr.facts.Truncation = fyne.TextTruncateEllipsis
	rr.activity = widget.NewActivity()
	rr.status = widget.NewLabel("")
	rr.status.Wrapping = fyne.TextWrapWord
	statusLine := container.NewBorder(nil, nil, rr.activity, nil, rr.status)
	rr.runText = widget.NewLabel("")
	rr.runText.Wrapping = fyne.TextWrapWord
	rr.runIcon = widget.NewIcon(nil)
	rr.runBar = widget.NewProgressBar()
	rr.runBar.TextFormatter = func() string { return "" }
	rr.runLine = container.NewVBox(container.NewBorder(nil, nil, rr.runIcon, nil, rr.runText), rr.runBar)
	rr.runLine.Hide()
	for i := range rr.mirrored {
		rr.mirrored[i] = canvas.NewImageFromImage(nil)
		rr.mirrored[i].FillMode = canvas.ImageFillContain
		rr.mirrored[i].ScaleMode = canvas.ImageScaleSmooth
		rr.mirrored[i].SetMinSize(fyne.NewSize(thumbSize.Width*0.6, thumbSize.Height*0.6))
		rr.mirrored[i].Hide()
	}
	// Under the text, so that the text keeps the row's width.
	rr.mirrorBox = container.NewHBox(
		container.NewVBox(rr.mirrored[0], caption("left mirrored")),
		container.NewVBox(rr.mirrored[1], caption("right mirrored")))
	rr.mirrorBox.Hide()
	text := container.NewThemeOverride(container.NewVBox(rr.name, folder, rr.facts, statusLine, rr.runLine, rr.mirrorBox), compactTheme{})

	rr.remove = widget.NewButtonWithIcon(RemoveLabel, theme.DeleteIcon(), func() {
		if r.onRemove != nil {
			r.onRemove()
		}
	})
	rr.remove.Importance = widget.LowImportance
	rr.review = widget.NewButtonWithIcon(ReviewLabel, theme.VisibilityIcon(), func() {
		if r.onReview != nil {
			r.onReview()
		}
	})
	rr.review.Importance = widget.LowImportance
	rr.review.Hide()
	rr.selectBox = widget.NewCheck(SelectLabel, func(on bool) { r.selected = on })
	rr.selectBox.Hide()

	body := container.NewBorder(nil, nil,
		container.NewVBox(thumb), container.NewVBox(rr.remove, rr.review, rr.selectBox), text)
	rr.root = container.NewStack(rr.card, container.NewPadded(body))
	rr.objects = []fyne.CanvasObject{rr.root}
	r.rend = rr
	rr.Refresh()
	return rr
}

type rowRenderer struct {
	row *row

	root       *fyne.Container
	card       *canvas.Rectangle
	thumbBg    *canvas.Rectangle
	thumb      *canvas.Image
	thumbShown image.Image // the picture thumb was last refreshed with
	fileIcon   *widget.Icon
	name       *widget.Label
	folder     *widget.TextSegment
	folderText *widget.RichText
	facts      *widget.Label
	activity   *widget.Activity
	status     *widget.Label
	runLine    *fyne.Container
	runIcon    *widget.Icon
	runText    *widget.Label
	runBar     *widget.ProgressBar
	mirrored   [2]*canvas.Image
	mirrorBox  *fyne.Container
	remove     *widget.Button
	review     *widget.Button
	selectBox  *widget.Check
	objects    []fyne.CanvasObject
}

// caption is a small grey label under a picture.
func caption(text string) fyne.CanvasObject {
	return widget.NewRichText(&widget.TextSegment{Text: text, Style: widget.RichTextStyle{
		Alignment: fyne.TextAlignCenter, ColorName: theme.ColorNamePlaceHolder, SizeName: theme.SizeNameCaptionText}})
}

func (rr *rowRenderer) Layout(size fyne.Size)        { rr.root.Resize(size) }
func (rr *rowRenderer) MinSize() fyne.Size           { return rr.root.MinSize() }
func (rr *rowRenderer) Objects() []fyne.CanvasObject { return rr.objects }
func (rr *rowRenderer) Destroy()                     { rr.activity.Stop() }

// Refresh shows the row's entry.
func (rr *rowRenderer) Refresh() {
	e := rr.row.entry
	th := rr.row.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	rr.card.FillColor = th.Color(theme.ColorNameInputBackground, v)
	rr.card.Refresh()

	rr.name.SetText(filepath.Base(e.Path))
	rr.folder.Text = filepath.Dir(e.Path)
	rr.folderText.Refresh()

	if e.Probe != nil {
		rr.facts.SetText(describeProbe(*e.Probe))
		rr.facts.Show()
	} else {
		rr.facts.SetText("")
		rr.facts.Hide()
	}

	status, importance := e.Status.String(), widget.MediumImportance
	switch e.Status {
	case videolist.Ready:
		status, importance = describeFace(e.Face), widget.SuccessImportance
		if e.Face == nil {
			importance = widget.WarningImportance
		}
	case videolist.Failed:
		// The row shows the full path already; in the message the file's
		// name is enough.
		status = strings.ReplaceAll(e.Err.Error(), e.Path, filepath.Base(e.Path))
		importance = widget.DangerImportance
	}
	rr.status.Text, rr.status.Importance = status, importance
	rr.status.Refresh()

	if e.Status.Busy() {
		rr.activity.Show()
		rr.activity.Start()
	} else {
		rr.activity.Stop()
		rr.activity.Hide()
	}

	if e.Thumbnail != nil {
		rr.thumb.Image = e.Thumbnail
		rr.thumb.Show()
		rr.fileIcon.Hide()
	} else {
		rr.thumb.Image = nil
		rr.thumb.Hide()
		rr.fileIcon.SetResource(theme.FileVideoIcon())
		if e.Status == videolist.Failed {
			rr.fileIcon.SetResource(theme.ErrorIcon())
		}
		rr.fileIcon.Show()
	}
	// A refreshed picture is scaled again on the UI goroutine, and rows
	// refresh a few times a second while a run works: only a new one is.
	if rr.thumbShown != rr.thumb.Image {
		rr.thumbShown = rr.thumb.Image
		rr.thumb.Refresh()
	}
	rr.refreshRun()
	rr.root.Refresh()
}

// refreshRun shows the entry's run state: a progress bar while it is
// processed, and how it ended in green (done), red (failed) or grey.
func (rr *rowRenderer) refreshRun() {
	r := rr.row
	if r.locked {
		rr.remove.Hide()
	} else {
		rr.remove.Show()
	}
	if r.reviewable() && !r.locked {
		rr.review.Show()
		rr.selectBox.Checked = r.selected
		rr.selectBox.Refresh()
		rr.selectBox.Show()
	} else {
		rr.review.Hide()
		rr.selectBox.Hide()
	}
	st := r.run
	if st == nil {
		rr.runLine.Hide()
	} else {
		rr.runLine.Show()
		importance, icon := widget.MediumImportance, fyne.Resource(nil)
		if st.outcome != nil {
			switch *st.outcome {
			case backend.Done:
				importance, icon = widget.SuccessImportance, theme.ConfirmIcon()
			case backend.NoFace, backend.Damaged:
				importance, icon = widget.WarningImportance, theme.WarningIcon()
			case backend.Failed:
				importance, icon = widget.DangerImportance, theme.ErrorIcon()
			case backend.Cancelled:
				icon = theme.CancelIcon()
			case backend.Skipped:
				icon = theme.MediaSkipNextIcon()
			}
		} else if st.stage != "" {
			icon = theme.MediaPlayIcon()
		} else {
			icon = theme.HistoryIcon()
		}
		rr.runIcon.SetResource(icon)
		rr.runText.Text, rr.runText.Importance = st.text, importance
		rr.runText.Refresh()
		if st.outcome == nil && st.stage != "" {
			rr.runBar.SetValue(st.frac)
			rr.runBar.Show()
		} else {
			rr.runBar.Hide()
		}
	}
	shown := false
	for i, img := range r.mirrored {
		if img != nil {
			rr.mirrored[i].Show()
			shown = true
		} else {
			rr.mirrored[i].Hide()
		}
		if rr.mirrored[i].Image != img {
			rr.mirrored[i].Image = img
			rr.mirrored[i].Refresh()
		}
	}
	if shown {
		rr.mirrorBox.Show()
	} else {
		rr.mirrorBox.Hide()
	}
}

// compactTheme tightens the padding inside the text widgets of a row, so
// that its four lines sit beside the thumbnail as one block. Everything
// else comes from the application's current theme.
type compactTheme struct{}

func (compactTheme) base() fyne.Theme { return fyne.CurrentApp().Settings().Theme() }

func (t compactTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	return t.base().Color(n, v)
}
func (t compactTheme) Font(s fyne.TextStyle) fyne.Resource     { return t.base().Font(s) }
func (t compactTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return t.base().Icon(n) }

func (t compactTheme) Size(n fyne.ThemeSizeName) float32 {
	if n == theme.SizeNameInnerPadding {
		return 3
	}
	return t.base().Size(n)
}
