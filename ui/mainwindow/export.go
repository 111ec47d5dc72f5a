package mainwindow

import (
	"fmt"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"facemirror/ui/backend"
)

// Labels of the export commands.
const (
	ExportAUsLabel     = "Export AU CSV…"
	ExportSummaryLabel = "Export summary CSV…"
)

var (
	// exportAUsShortcut is Ctrl+E (Cmd+E on macOS).
	exportAUsShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyE, Modifier: fyne.KeyModifierShortcutDefault}
	// exportSummaryShortcut is Ctrl+Shift+E.
	exportSummaryShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyE, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift}
)

// finished returns the results of the entries whose last run gave outputs,
// in the list's order: the selected ones, or all when none is selected.
func (w *Window) finished() []backend.FileResult {
	var all, selected []backend.FileResult
	for _, e := range w.list.Entries() {
		r, ok := w.rows[e.ID]
		if !ok || r.result == nil {
			continue
		}
		switch r.result.Outcome {
		case backend.Done, backend.NoFace, backend.Skipped, backend.Damaged:
			all = append(all, *r.result)
			if r.selected {
				selected = append(selected, *r.result)
			}
		}
	}
	if len(selected) > 0 {
		return selected
	}
	return all
}

// export asks where to save and writes the export of every finished video,
// off the UI goroutine.
func (w *Window) export(kind backend.ExportKind) {
	if w.cfg.SaveFile == nil || w.exporting || w.picking {
		return
	}
	results := w.finished()
	if len(results) == 0 {
		w.setNotice("Nothing to export yet: process videos first (Start).", widget.MediumImportance)
		return
	}
	title, name := "Export AU CSV", "facemirror_aus.csv"
	if kind == backend.ExportSummary {
		title, name = "Export summary CSV", "facemirror_summary.csv"
	}
	// The export is about the last run's results, so it goes beside them.
	dir := w.lastOut
	w.exporting = true
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		dst, err := saveDialog(w.cfg.SaveFile, title, dir, name)
		var rep backend.ExportReport
		if err == nil && dst != "" {
			if !strings.EqualFold(filepath.Ext(dst), ".csv") {
				dst += ".csv"
			}
			rep, err = recovered("export "+dst, func() (backend.ExportReport, error) {
				return w.backend.Export(w.ctx, kind, dst, results)
			})
		}
		w.Post(func() {
			w.exporting = false
			switch {
			case err != nil:
				w.setNotice(err.Error(), widget.DangerImportance)
			case dst != "":
				msg := fmt.Sprintf("Exported %s of %s to %s.", plural(rep.Rows, "row", "rows"),
					plural(len(results)-len(rep.Skipped), "video", "videos"), dst)
				if len(rep.Skipped) > 0 {
					msg += " Left out: " + strings.Join(rep.Skipped, "; ")
				}
				w.setNotice(msg, widget.SuccessImportance)
			}
		})
	}()
}

// saveDialog calls the dialog, turning a panic into an error.
func saveDialog(f func(title, dir, name string) (string, error), title, dir, name string) (path string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("save dialog: %v", r)
		}
	}()
	path, err = f(title, dir, name)
	if err != nil {
		err = fmt.Errorf("save dialog: %w", err)
	}
	return path, err
}
