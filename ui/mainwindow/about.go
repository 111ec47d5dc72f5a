package mainwindow

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"facemirror/ui/backend"
)

// Tagline is the one-line description under the name in the About box.
const Tagline = "Facial-palsy video analysis: face mirroring and OpenFace 2.2 action units"

// showAbout opens the About box at once and fills in the version facts
// when the backend has gathered them (it may have to start a helper
// process to learn which ONNX Runtime providers load).
func (w *Window) showAbout() {
	title := widget.NewLabelWithStyle("FaceMirror", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameHeadingText
	tagline := widget.NewLabel(Tagline)
	tagline.Wrapping = fyne.TextWrapWord
	header := container.NewBorder(nil, nil, w.aboutIcon(), nil, container.NewVBox(title, tagline))

	activity := widget.NewActivity()
	activity.Start()
	facts := container.NewStack(container.NewHBox(activity, widget.NewLabel("Gathering version facts…")))

	// Model status can run to many lines; the facts scroll, the header
	// stays.
	content := container.NewBorder(container.NewVBox(header, widget.NewSeparator()), nil, nil, nil,
		container.NewVScroll(facts))
	d := dialog.NewCustom(AboutLabel, "Close", content, w.win)
	d.SetOnClosed(activity.Stop)
	d.Resize(fyne.NewSize(620, 420))
	d.Show()

	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		list, err := about(w)
		w.Post(func() {
			activity.Stop()
			facts.Objects = []fyne.CanvasObject{aboutFacts(list, err)}
			facts.Refresh()
		})
	}()
}

// about asks the backend for the facts, turning a panic into an error.
func about(w *Window) (facts []backend.Fact, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("version facts: internal error: %v", r)
		}
	}()
	return w.backend.About(w.ctx)
}

// aboutFacts lays the facts out as a two-column form; values are
// selectable so that they can be copied into a bug report.
func aboutFacts(facts []backend.Fact, err error) fyne.CanvasObject {
	if err != nil {
		l := widget.NewLabel(err.Error())
		l.Importance = widget.DangerImportance
		l.Wrapping = fyne.TextWrapWord
		return l
	}
	form := container.New(layout.NewFormLayout())
	for _, f := range facts {
		name := widget.NewLabelWithStyle(f.Name, fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
		value := widget.NewLabel(f.Value)
		value.Wrapping = fyne.TextWrapWord
		value.Selectable = true
		form.Add(name)
		form.Add(value)
	}
	return form
}

func (w *Window) aboutIcon() fyne.CanvasObject {
	if w.cfg.Icon == nil {
		return container.NewGridWrap(fyne.NewSize(64, 64), widget.NewIcon(theme.FileVideoIcon()))
	}
	img := canvas.NewImageFromResource(w.cfg.Icon)
	img.FillMode = canvas.ImageFillContain
	img.SetMinSize(fyne.NewSize(64, 64))
	return img
}
