package clnf

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"

	"facemirror/internal/atomicfile"
	"facemirror/internal/mmapfile"
	"facemirror/pipeline/ccnf"
)

// sigmaUse is one patch scale of one of the Model's CLNF models at a
// window size a fit uses it with, and the name of its file in a Sigma
// cache.
type sigmaUse struct {
	file  string
	scale *ccnf.Scale
	ws    int
}

// models returns the main CLNF model and then the part models.
func (m *Model) models() []*clnf {
	models := []*clnf{m.main}
	for _, p := range m.parts {
		models = append(models, p.clnf)
	}
	return models
}

// sigmaUses lists every (model, scale, window size) a fit can compute
// responses for, in a fixed order.
func (m *Model) sigmaUses() []sigmaUse {
	var uses []sigmaUse
	for _, c := range m.models() {
		seen := map[[2]int]bool{}
		for _, wins := range [][]int{c.set.windowsInit, c.set.windowsSmall} {
			for s := range c.scales {
				if s >= len(wins) || wins[s] <= 0 || seen[[2]int{s, wins[s]}] {
					continue
				}
				seen[[2]int{s, wins[s]}] = true
				uses = append(uses, sigmaUse{
					file:  fmt.Sprintf("%s-scale%d-ws%d.sigma", c.name, s, wins[s]),
					scale: c.scales[s],
					ws:    wins[s],
				})
			}
		}
	}
	sort.Slice(uses, func(i, j int) bool { return uses[i].file < uses[j].file })
	return uses
}

// WriteSigmaCache computes the Sigma of every patch expert at every window
// size the tracker uses and writes them to dir (created if needed), one
// table per patch scale and window size (ccnf.Scale.WriteSigmaTable),
// each written to a temporary file and renamed. A tracker's processes
// then map the tables (UseSigmaCache) instead of each computing the
// Sigmas again; that computation is most of a tracker's start-up. Tables
// already in dir that UseSigmaCache would accept are kept.
func (m *Model) WriteSigmaCache(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create the Sigma cache %s: %w", dir, err)
	}
	for _, u := range m.sigmaUses() {
		if err := ctx.Err(); err != nil {
			return err
		}
		path := filepath.Join(dir, u.file)
		if ok, _ := tableFits(path, u); ok {
			continue
		}
		if err := writeTable(path, u); err != nil {
			return err
		}
	}
	return nil
}

// panelTableName is the file name of the panel table of a CLNF model's
// scale.
func panelTableName(model string, scale int) string {
	return fmt.Sprintf("%s-scale%d.panels", model, scale)
}

// WritePanelTables writes the panel table of every patch scale of the
// Model's CLNF models to dir (created if needed; ccnf.WritePanelTable),
// each to a temporary file renamed into place, for LoadPrepared. Tables
// already in dir that fit their files are kept.
func (m *Model) WritePanelTables(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create the table folder %s: %w", dir, err)
	}
	for _, c := range m.models() {
		for s, source := range c.sources {
			if err := ctx.Err(); err != nil {
				return err
			}
			path := filepath.Join(dir, panelTableName(c.name, s))
			if _, tableErr, err := ccnf.LoadWithPanels(source, path); err == nil && tableErr == nil {
				if _, statErr := os.Stat(path); statErr == nil {
					continue
				}
			}
			err := atomicfile.Write(path, func(w *bufio.Writer) error { return ccnf.WritePanelTable(w, source) })
			if err != nil {
				return fmt.Errorf("write the panel table %s: %w", path, err)
			}
		}
	}
	return nil
}

// tableFits reports whether the table at path is one UseSigmaCache would
// attach.
func tableFits(path string, u sigmaUse) (bool, error) {
	f, err := mmapfile.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if err := u.scale.CheckSigmaTable(f.Bytes(), u.ws); err != nil {
		return false, err
	}
	return true, nil
}

func writeTable(path string, u sigmaUse) error {
	err := atomicfile.Write(path, func(w *bufio.Writer) error { return u.scale.WriteSigmaTable(w, u.ws) })
	if err != nil {
		return fmt.Errorf("write the Sigma table %s: %w", path, err)
	}
	return nil
}

// UseSigmaCache maps the Sigma tables that WriteSigmaCache wrote to dir
// and attaches each to its patch scale, so that the Model takes its
// Sigmas from them. A missing table is not an error: that scale computes
// its Sigmas on first use, as without a cache. A table that does not fit
// the model (another model version, a damaged file, another way of
// computing) is reported in the returned error and not used; the Model
// stays fully usable either way. It returns how many tables were
// attached. The tables stay mapped, read-only and shared with every other
// process that maps them, until the Model is garbage.
//
// UseSigmaCache must be called before the Model is used.
func (m *Model) UseSigmaCache(dir string) (int, error) {
	var attached int
	var errs []error
	for _, u := range m.sigmaUses() {
		path := filepath.Join(dir, u.file)
		f, err := mmapfile.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := u.scale.AttachSigmaTable(f.Bytes(), u.ws); err != nil {
			f.Close()
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
			continue
		}
		runtime.AddCleanup(m, func(f *mmapfile.File) { f.Close() }, f)
		attached++
	}
	return attached, errors.Join(errs...)
}
