// Package mainwindow builds the content of FaceMirror's main window on a
// given fyne.Window: the list of videos (added by drag-and-drop, the native
// dialogs or the command line) with each file's facts and first-frame face
// (window.go, row.go); the run's settings, remembered in Fyne's preferences
// (settings.go); Start, Cancel, progress and each file's outcome (run.go);
// the live view of the frame being processed and its AU curves (live.go);
// the review of a finished video (review.go); the AU and summary exports
// (export.go); the menus and the About box.
//
// It does not create the Fyne application, so tests drive it headless with
// Fyne's test driver; package ui opens the real window. Everything the
// window learns about files comes through a backend.Backend, called off the
// UI goroutine.
package mainwindow

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"path/filepath"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"facemirror/ui/backend"
	"facemirror/ui/thumbnail"
	"facemirror/ui/videolist"
)

// Labels of the window's commands, as shown in menus and buttons.
const (
	AddVideosLabel = "Add videos…"
	AddFolderLabel = "Add folder…"
	ClearLabel     = "Clear"
	RemoveLabel    = "Remove"
	QuitLabel      = "Quit"
	AboutLabel     = "About FaceMirror"
	// EmptyHint is shown while the list is empty.
	EmptyHint = "Drop patient videos here or use File ▸ Add videos…"
)

// addFolderShortcut is Ctrl+Shift+O, openOutShortcut Ctrl+Shift+F (for
// folder).
var (
	addFolderShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyO, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift}
	openOutShortcut   = &desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift}
)

// startShortcut is Ctrl+Enter (Cmd+Enter on macOS): Start.
var startShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierShortcutDefault}

// The window size FaceMirror opens with, in Fyne units.
const DefaultWidth, DefaultHeight = 1280, 800

// thumbnail pixels: twice the row's thumbnail space, for high-DPI screens.
const thumbPixelsW, thumbPixelsH = 320, 240

// Config adjusts a Window. The zero value is usable: no native dialog, Fyne's
// own scheduling, two files probed at once.
type Config struct {
	// PickFiles shows the native open dialog and returns the chosen files,
	// or no files and no error when the user cancels. It is called off the
	// UI goroutine, one dialog at a time. Nil disables Add videos….
	PickFiles func() ([]string, error)

	// Schedule runs f on the UI goroutine. Nil means fyne.Do; tests pass a
	// queue that they drain themselves, to decide when updates land.
	Schedule func(f func())

	// Parallel is how many files are probed at once; 0 means 2.
	Parallel int

	// Icon is the application icon shown in the empty list and the About
	// box; nil shows a generic video icon.
	Icon fyne.Resource

	// PickFolder shows the native folder dialog and returns the chosen
	// folder, or "" when the user cancels; called off the UI goroutine.
	// Nil disables choosing an output folder.
	PickFolder func() (string, error)

	// Preferences remember the run settings between sessions; nil
	// remembers nothing.
	Preferences fyne.Preferences

	// SaveFile shows the native save dialog in folder dir (empty: its
	// choice) with a suggested file name and returns the chosen path, or
	// "" when the user cancels; called off the UI goroutine. Nil disables
	// the exports.
	SaveFile func(title, dir, name string) (string, error)

	// Log receives diagnostics, such as how responsive the window stayed
	// during a run; nil drops them.
	Log func(format string, args ...any)
}

// Window is FaceMirror's main window content. Its methods must be called on
// the UI goroutine, except Close and Post.
type Window struct {
	win     fyne.Window
	backend backend.Backend
	cfg     Config

	ctx    context.Context
	cancel context.CancelFunc
	jobs   map[videolist.ID]context.CancelFunc
	slots  chan struct{} // limits concurrent backend work to cfg.Parallel
	wg     sync.WaitGroup

	// mu guards closed, which stops background work from scheduling UI
	// updates once the window is gone (Fyne's queue is closed then).
	mu     sync.RWMutex
	closed bool

	list    videolist.List
	rows    map[videolist.ID]*row
	picking bool

	rowBox      *fyne.Container
	listView    *container.Scroll
	empty       fyne.CanvasObject
	count       *widget.Label
	addButton   *widget.Button
	clearButton *widget.Button
	notice      *widget.Label
	noticeIcon  *widget.Icon
	noticeBar   *fyne.Container
	addItem     *fyne.MenuItem
	folderItem  *fyne.MenuItem

	// The run: settings, commands and progress.
	settings      settings
	modeRadio     *widget.RadioGroup
	outLabel      *widget.Label
	outChoose     *widget.Button
	outBeside     *widget.Button
	workersSelect *widget.Select
	startButton   *widget.Button
	cancelButton  *widget.Button
	progressBar   *widget.ProgressBar
	progressText  *widget.Label
	startItem     *fyne.MenuItem
	cancelItem    *fyne.MenuItem
	openOutItem   *fyne.MenuItem

	run           *activeRun // nil when no run works
	checking      bool       // looking for earlier results before a run
	lastOut       string     // the last run's output folder
	rerunDialog   *dialog.CustomDialog
	summaryDialog *dialog.CustomDialog

	exportAUsItem, exportSummaryItem *fyne.MenuItem
	exporting                        bool // a save dialog or an export is under way

	// The live view.
	liveTitle *widget.Label
	preview   [3]*canvas.Image // source, left, right
	plot      *canvas.Image
	asymText  *widget.Label
	auChecks  map[string]*widget.Check
	// plotAUs is the AU selection and plotPx the plot's size in pixels,
	// as the live loop reads them.
	selMu   sync.Mutex
	plotAUs []string
	plotPx  [2]int

	// Review of a finished video, in the live view's place.
	reviewing    *reviewState
	reviewBar    *fyne.Container
	frameSlider  *widget.Slider
	frameText    *widget.Label
	summaryTable *fyne.Container
	summaryBox   *container.Scroll
}

// New fills win with FaceMirror's content and menus and registers its drop
// and close handlers. Background work stops when ctx is done, when the
// window closes, or on Close. Call New on the UI goroutine (or before the
// application runs).
func New(ctx context.Context, win fyne.Window, b backend.Backend, cfg Config) *Window {
	if cfg.Schedule == nil {
		cfg.Schedule = fyne.Do
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 2
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &Window{
		win:     win,
		backend: b,
		cfg:     cfg,
		ctx:     ctx,
		cancel:  cancel,
		jobs:    make(map[videolist.ID]context.CancelFunc),
		slots:   make(chan struct{}, cfg.Parallel),
		rows:    make(map[videolist.ID]*row),
	}
	w.plotPx = [2]int{plotPixelsW, plotPixelsH}
	win.SetMainMenu(w.menu())
	win.SetContent(w.build())
	win.SetOnDropped(func(_ fyne.Position, uris []fyne.URI) { w.dropped(uris) })
	win.SetOnClosed(w.shutdown)
	c := win.Canvas()
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyO, Modifier: fyne.KeyModifierShortcutDefault},
		func(fyne.Shortcut) { w.pickFiles() })
	c.AddShortcut(startShortcut, func(fyne.Shortcut) { w.startRun() })
	c.AddShortcut(addFolderShortcut, func(fyne.Shortcut) { w.pickFolderToAdd() })
	c.AddShortcut(openOutShortcut, func(fyne.Shortcut) { w.openOutDir() })
	c.AddShortcut(exportAUsShortcut, func(fyne.Shortcut) { w.export(backend.ExportAUs) })
	c.AddShortcut(exportSummaryShortcut, func(fyne.Shortcut) { w.export(backend.ExportSummary) })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyEnter, Modifier: fyne.KeyModifierShortcutDefault},
		func(fyne.Shortcut) { w.startRun() })
	c.SetOnTypedKey(func(k *fyne.KeyEvent) {
		if k.Name == fyne.KeyF1 {
			w.showAbout()
			return
		}
		if k.Name != fyne.KeyEscape {
			return
		}
		// Esc cancels a run, and otherwise closes the run's summary.
		if w.run != nil {
			w.cancelRun()
		} else if w.summaryDialog != nil {
			w.summaryDialog.Hide()
			w.summaryDialog = nil
		}
	})
	w.refreshList()
	return w
}

// Close stops all background work and waits for it to end. It is safe to
// call from any goroutine once the application's event loop has ended, and
// more than once.
func (w *Window) Close() {
	w.shutdown()
	w.wg.Wait()
}

func (w *Window) shutdown() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cancel()
}

// Post runs f on the UI goroutine unless the window has closed. It is safe
// to call from any goroutine at any time, also after the application's
// event loop has ended (when fyne.Do would panic).
func (w *Window) Post(f func()) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if !w.closed {
		w.cfg.Schedule(f)
	}
}

func (w *Window) build() fyne.CanvasObject {
	w.addButton = widget.NewButtonWithIcon(AddVideosLabel, theme.ContentAddIcon(), w.pickFiles)
	w.addButton.Importance = widget.HighImportance
	if w.cfg.PickFiles == nil {
		w.addButton.Disable()
	}
	w.clearButton = widget.NewButtonWithIcon(ClearLabel, theme.ContentClearIcon(), w.clear)
	w.count = widget.NewLabel("")
	toolbar := container.NewHBox(w.addButton, w.clearButton, layout.NewSpacer(), w.count)

	w.notice = widget.NewLabel("")
	w.notice.Wrapping = fyne.TextWrapWord
	dismiss := widget.NewButtonWithIcon("", theme.CancelIcon(), func() { w.setNotice("", widget.MediumImportance) })
	dismiss.Importance = widget.LowImportance
	w.noticeIcon = widget.NewIcon(theme.InfoIcon())
	panel := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	panel.CornerRadius = theme.InputRadiusSize()
	w.noticeBar = container.NewStack(panel,
		container.NewBorder(nil, nil, container.NewPadded(w.noticeIcon), dismiss, w.notice))
	w.noticeBar.Hide()

	w.rowBox = container.NewVBox()
	w.listView = container.NewVScroll(w.rowBox)
	w.empty = w.emptyState()

	runBar := w.buildRunBar()
	top := container.NewVBox(toolbar, runBar, w.noticeBar)
	split := container.NewHSplit(container.NewStack(w.empty, w.listView), w.buildLive())
	split.Offset = 0.45
	return container.NewBorder(top, nil, nil, nil, split)
}

// emptyState is the drop zone shown while the list is empty.
func (w *Window) emptyState() fyne.CanvasObject {
	var pic fyne.CanvasObject
	if w.cfg.Icon != nil {
		img := canvas.NewImageFromResource(w.cfg.Icon)
		img.FillMode = canvas.ImageFillContain
		img.SetMinSize(fyne.NewSize(96, 96))
		pic = img
	} else {
		pic = container.NewGridWrap(fyne.NewSize(96, 96), widget.NewIcon(theme.FileVideoIcon()))
	}
	hint := widget.NewLabelWithStyle(EmptyHint, fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	hint.SizeName = theme.SizeNameSubHeadingText
	kinds := widget.NewRichText(&widget.TextSegment{
		Text:  "Videos and images: " + strings.Join(videolist.Extensions(), ", "),
		Style: widget.RichTextStyle{Alignment: fyne.TextAlignCenter, ColorName: theme.ColorNamePlaceHolder},
	})
	frame := canvas.NewRectangle(color.Transparent)
	frame.StrokeColor = theme.Color(theme.ColorNameSeparator)
	frame.StrokeWidth = 2
	frame.CornerRadius = 12
	return container.NewPadded(container.NewStack(frame,
		container.NewCenter(container.NewVBox(container.NewCenter(pic), hint, kinds))))
}

func (w *Window) menu() *fyne.MainMenu {
	w.addItem = fyne.NewMenuItem(AddVideosLabel, w.pickFiles)
	w.addItem.Shortcut = &desktop.CustomShortcut{KeyName: fyne.KeyO, Modifier: fyne.KeyModifierShortcutDefault}
	w.addItem.Disabled = w.cfg.PickFiles == nil
	w.folderItem = fyne.NewMenuItem(AddFolderLabel, w.pickFolderToAdd)
	w.folderItem.Shortcut = addFolderShortcut
	w.folderItem.Disabled = w.cfg.PickFolder == nil
	// Fyne's driver supplies the action of an item marked IsQuit: close
	// every window and end the application.
	quit := fyne.NewMenuItem(QuitLabel, nil)
	quit.IsQuit = true
	about := fyne.NewMenuItem(AboutLabel, w.showAbout)
	about.Shortcut = &desktop.CustomShortcut{KeyName: fyne.KeyF1}
	w.startItem = fyne.NewMenuItem(StartLabel, w.startRun)
	w.startItem.Shortcut = startShortcut
	w.cancelItem = fyne.NewMenuItem(CancelLabel, w.cancelRun)
	w.cancelItem.Shortcut = &desktop.CustomShortcut{KeyName: fyne.KeyEscape}
	w.cancelItem.Disabled = true
	w.openOutItem = fyne.NewMenuItem(OpenOutLabel, w.openOutDir)
	w.openOutItem.Shortcut = openOutShortcut
	w.openOutItem.Disabled = true
	w.exportAUsItem = fyne.NewMenuItem(ExportAUsLabel, func() { w.export(backend.ExportAUs) })
	w.exportAUsItem.Shortcut = exportAUsShortcut
	w.exportSummaryItem = fyne.NewMenuItem(ExportSummaryLabel, func() { w.export(backend.ExportSummary) })
	w.exportSummaryItem.Shortcut = exportSummaryShortcut
	w.exportAUsItem.Disabled = w.cfg.SaveFile == nil
	w.exportSummaryItem.Disabled = w.cfg.SaveFile == nil
	return fyne.NewMainMenu(
		fyne.NewMenu("File", w.addItem, w.folderItem, fyne.NewMenuItemSeparator(), w.startItem, w.cancelItem,
			fyne.NewMenuItemSeparator(), w.exportAUsItem, w.exportSummaryItem, w.openOutItem,
			fyne.NewMenuItemSeparator(), quit),
		fyne.NewMenu("Help", about),
	)
}

// Add puts files into the list (folders are replaced by the videos and
// images in them) and starts probing the new ones. Files already in the
// list are not added again; a notice says which, replacing the notice of
// an earlier Add.
func (w *Window) Add(paths ...string) {
	files, problems := videolist.Expand(paths)
	added := w.list.Add(files...)
	for _, e := range added.New {
		r := newRow(e, func() { w.remove(e.ID) })
		r.onReview = func() { w.review(e.ID) }
		w.rows[e.ID] = r
		w.rowBox.Add(r)
		w.start(e)
	}
	problems = append(problems, added.Invalid...)
	var lines []string
	for _, err := range problems {
		lines = append(lines, err.Error())
	}
	if len(added.Duplicates) > 0 {
		names := make([]string, len(added.Duplicates))
		for i, p := range added.Duplicates {
			names[i] = filepath.Base(p)
		}
		lines = append(lines, "Already in the list, not added again: "+nameList(names))
	}
	switch {
	case len(problems) > 0:
		w.setNotice(strings.Join(lines, "\n"), widget.DangerImportance)
	case len(lines) > 0:
		w.setNotice(strings.Join(lines, "\n"), widget.MediumImportance)
	default:
		w.setNotice("", widget.MediumImportance)
	}
	w.refreshList()
}

// dropped adds the local files among uris; anything else is reported.
func (w *Window) dropped(uris []fyne.URI) {
	var paths, foreign []string
	for _, u := range uris {
		if u.Scheme() == "file" {
			paths = append(paths, u.Path())
		} else {
			foreign = append(foreign, u.String())
		}
	}
	w.Add(paths...)
	if len(foreign) > 0 {
		w.setNotice("Only local files can be added; not added: "+nameList(foreign), widget.DangerImportance)
	}
}

func (w *Window) remove(id videolist.ID) {
	if !w.list.Remove(id) {
		return
	}
	w.stop(id)
	if r, ok := w.rows[id]; ok {
		r.dispose()
		w.rowBox.Remove(r)
		delete(w.rows, id)
	}
	w.refreshList()
}

func (w *Window) clear() {
	for _, id := range w.list.Clear() {
		w.stop(id)
	}
	for id, r := range w.rows {
		r.dispose()
		delete(w.rows, id)
	}
	w.rowBox.RemoveAll()
	w.setNotice("", widget.MediumImportance)
	w.refreshList()
}

// refreshList updates what depends on the list as a whole.
func (w *Window) refreshList() {
	empty := w.list.Len() == 0
	if empty {
		w.listView.Hide()
		w.empty.Show()
		w.clearButton.Disable()
	} else {
		w.empty.Hide()
		w.listView.Show()
		w.clearButton.Enable()
	}
	w.count.SetText(describeCount(&w.list))
	w.rowBox.Refresh()
}

func (w *Window) setNotice(text string, importance widget.Importance) {
	w.notice.Text, w.notice.Importance = text, importance
	w.notice.Refresh()
	if importance == widget.DangerImportance {
		w.noticeIcon.SetResource(theme.ErrorIcon())
	} else {
		w.noticeIcon.SetResource(theme.InfoIcon())
	}
	if text == "" {
		w.noticeBar.Hide()
	} else {
		w.noticeBar.Show()
	}
}

// pickFiles runs the native open dialog off the UI goroutine, since it
// blocks until the user answers, and adds what was chosen.
func (w *Window) pickFiles() {
	if w.cfg.PickFiles == nil || w.picking {
		return
	}
	w.setPicking(true)
	go func() {
		paths, err := pick(w.cfg.PickFiles)
		w.Post(func() {
			w.setPicking(false)
			if err != nil {
				w.setNotice(err.Error(), widget.DangerImportance)
				return
			}
			if len(paths) > 0 {
				w.Add(paths...)
			}
		})
	}()
}

// pickFolderToAdd adds the videos and images of a folder chosen in the
// native dialog, and of its subfolders.
func (w *Window) pickFolderToAdd() { w.withFolder(func(dir string) { w.Add(dir) }) }

// setPicking disables Add videos… while a dialog is open, so that only one
// can be.
func (w *Window) setPicking(on bool) {
	w.picking = on
	w.addItem.Disabled = on || w.cfg.PickFiles == nil
	w.folderItem.Disabled = on || w.cfg.PickFolder == nil
	if on {
		w.addButton.Disable()
	} else {
		w.addButton.Enable()
	}
	if m := w.win.MainMenu(); m != nil {
		m.Refresh()
	}
}

// pick calls the dialog, turning a panic (native dialog libraries panic
// when they cannot start, e.g. without a display) into an error.
func pick(f func() ([]string, error)) (paths []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("open file dialog: %v", r)
		}
	}()
	paths, err = f()
	if err != nil {
		err = fmt.Errorf("open file dialog: %w", err)
	}
	return paths, err
}

// start probes the entry and searches its first frame for a face, in the
// background.
func (w *Window) start(e videolist.Entry) {
	ctx, cancel := context.WithCancel(w.ctx)
	w.jobs[e.ID] = cancel
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.work(ctx, e.ID, e.Path)
	}()
}

// stop cancels the entry's background work, if any.
func (w *Window) stop(id videolist.ID) {
	if cancel, ok := w.jobs[id]; ok {
		cancel()
		delete(w.jobs, id)
	}
}

// work runs off the UI goroutine; it reports each step through post and
// reports nothing once ctx is done (the entry was removed or the window
// closed).
func (w *Window) work(ctx context.Context, id videolist.ID, path string) {
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-w.slots }()

	p, probeErr := probe(ctx, w.backend, path)
	if ctx.Err() != nil {
		return
	}
	w.Post(func() {
		if probeErr != nil {
			w.stop(id)
		}
		w.update(id, w.list.Probed(id, p, probeErr))
	})
	if probeErr != nil {
		return
	}

	thumb, face, frameErr := firstFrame(ctx, w.backend, path)
	if ctx.Err() != nil {
		return
	}
	w.Post(func() {
		w.stop(id)
		w.update(id, w.list.FaceSearched(id, thumb, face, frameErr))
	})
}

// update shows the entry's new state if it changed.
func (w *Window) update(id videolist.ID, changed bool) {
	if !changed {
		return
	}
	if e, ok := w.list.Entry(id); ok {
		if r, ok := w.rows[id]; ok {
			r.set(e)
		}
	}
	w.refreshList()
}

// probe calls the backend, turning a panic into an error for this file
// alone so that one bad file cannot take the window down.
func probe(ctx context.Context, b backend.Backend, path string) (p backend.Probe, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("probe %s: internal error: %v", path, r)
		}
	}()
	return b.Probe(ctx, path)
}

// firstFrame gets the first frame and its face from the backend and
// prepares the thumbnail, turning a panic into an error.
func firstFrame(ctx context.Context, b backend.Backend, path string) (thumb image.Image, face *backend.FaceBox, err error) {
	defer func() {
		if r := recover(); r != nil {
			thumb, face, err = nil, nil, fmt.Errorf("first frame of %s: internal error: %v", path, r)
		}
	}()
	frame, face, err := b.Thumbnail(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	if frame == nil {
		return nil, nil, fmt.Errorf("first frame of %s: %w", path, errNoFrame)
	}
	t := thumbnail.Render(frame, face, thumbPixelsW, thumbPixelsH)
	if t == nil {
		return nil, nil, fmt.Errorf("first frame of %s: %w", path, errNoFrame)
	}
	return t, face, nil
}

var errNoFrame = errors.New("the decoder returned no image")
