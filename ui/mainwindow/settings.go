package mainwindow

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"facemirror/ui/backend"
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
