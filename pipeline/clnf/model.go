package clnf

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"facemirror/pipeline/ccnf"
	"facemirror/pipeline/pdm"
)

// ErrFormat reports a model description file that cannot be used.
var ErrFormat = errors.New("clnf: invalid model file")

// Model is a loaded CLNF landmark detector: the main 68-point model, its
// hierarchical part models and the detection validator. It is immutable
// after Load (the patch experts' internal Sigma caches are synchronised)
// and may be shared by any number of Trackers.
type Model struct {
	main  *clnf
	parts []*part
	valid *validatorModel
}

// clnf is one CLNF model: a PDM, patch experts per scale, the fitting
// settings and the KDE tables for its window sizes.
type clnf struct {
	name   string
	pdm    *pdm.Model
	scales []*ccnf.Scale
	// sources are the scales' patch-expert files.
	sources []string
	set     settings
	// kde holds the kernel table per window size, made with the sigma of
	// the first scale that uses the size (OpenFace caches the table by
	// window size alone).
	kde map[int]*kdeTable
}

// part is a hierarchical part model and its landmark correspondence.
type part struct {
	*clnf
	// mapping pairs (index in the main model, index in the part).
	mapping [][2]int
}

// PDM returns the main model's point distribution model.
func (m *Model) PDM() *pdm.Model { return m.main.pdm }

// NumPoints returns the number of landmarks of the main model (68).
func (m *Model) NumPoints() int { return m.main.pdm.NumPoints() }

// Load reads a CLNF model from its main description file, OpenFace's
// model/main_clnf_general.txt: the main model, the part models listed as
// LandmarkDetector_part lines with their index maps, and the validator.
// Paths inside the file are relative to its folder.
func Load(mainPath string) (*Model, error) {
	m, _, err := load(mainPath, "")
	return m, err
}

// LoadPrepared is Load followed by UseSigmaCache(dir), taking also the
// patch experts' weight panels from the tables WritePanelTables wrote to
// dir (ccnf.LoadWithPanels): building the panels and computing the Sigmas
// are most of a new process's work in Load and its first fits. Missing
// tables are no error; tables that do not fit the model files are not
// used and reported in tableErr. err is what Load would report.
func LoadPrepared(mainPath, dir string) (m *Model, tableErr, err error) {
	m, panelErr, err := load(mainPath, dir)
	if err != nil {
		return nil, nil, err
	}
	_, sigmaErr := m.UseSigmaCache(dir)
	return m, errors.Join(panelErr, sigmaErr), nil
}

// load is Load with the panel tables of dir when it is not empty.
func load(mainPath, dir string) (*Model, error, error) {
	lines, err := readLines(mainPath)
	if err != nil {
		return nil, nil, err
	}
	root := filepath.Dir(mainPath)
	// The main model, the parts and the validator are separate files,
	// read at once on all cores: they are most of a helper's start-up.
	// Errors are reported in the order of the lines.
	type entry struct {
		main     *clnf
		part     *part
		valid    *validatorModel
		err      error
		tableErr error
	}
	var entries []*entry
	var wg sync.WaitGroup
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		path := filepath.Join(root, f[1])
		e := &entry{}
		switch f[0] {
		case "LandmarkDetector":
			wg.Go(func() { e.main, e.tableErr, e.err = loadCLNF(path, "main", mainSettings(), dir) })
		case "LandmarkDetector_part":
			wg.Go(func() {
				if e.part, e.tableErr, e.err = loadPart(path, f[2:], dir); e.err != nil {
					e.err = fmt.Errorf("%s: %w", mainPath, e.err)
				}
			})
		case "DetectionValidator":
			wg.Go(func() { e.valid, e.err = loadValidator(path) })
		default:
			continue
		}
		entries = append(entries, e)
	}
	wg.Wait()
	m := &Model{}
	var tableErrs []error
	for _, e := range entries {
		tableErrs = append(tableErrs, e.tableErr)
		switch {
		case e.err != nil:
			return nil, nil, e.err
		case e.main != nil:
			m.main = e.main
		case e.part != nil:
			m.parts = append(m.parts, e.part)
		case e.valid != nil:
			m.valid = e.valid
		}
	}
	if m.main == nil {
		return nil, nil, fmt.Errorf("%w: %s names no LandmarkDetector", ErrFormat, mainPath)
	}
	n := m.main.pdm.NumPoints()
	for _, p := range m.parts {
		for _, mp := range p.mapping {
			if mp[0] < 0 || mp[0] >= n || mp[1] < 0 || mp[1] >= p.pdm.NumPoints() {
				return nil, nil, fmt.Errorf("%w: %s: part %s maps landmark %d to %d, out of range", ErrFormat, mainPath, p.name, mp[0], mp[1])
			}
		}
	}
	if m.main.set.validate && m.valid == nil {
		return nil, nil, fmt.Errorf("%w: %s names no DetectionValidator", ErrFormat, mainPath)
	}
	return m, errors.Join(tableErrs...), nil
}

// loadPart reads a LandmarkDetector_part line's model: fields are the
// part name followed by (main index, part index) pairs.
func loadPart(path string, fields []string, dir string) (*part, error, error) {
	if len(fields) < 1 {
		return nil, nil, fmt.Errorf("%w: part model %s has no name", ErrFormat, path)
	}
	name := fields[0]
	set, ok := partSettings(name)
	if !ok {
		return nil, nil, fmt.Errorf("%w: unsupported part model %q", ErrFormat, name)
	}
	pairs := fields[1:]
	if len(pairs)%2 != 0 || len(pairs) == 0 {
		return nil, nil, fmt.Errorf("%w: part %s: %d index values, want a non-empty even count", ErrFormat, name, len(pairs))
	}
	mapping := make([][2]int, len(pairs)/2)
	for i := range mapping {
		for j := 0; j < 2; j++ {
			v, err := strconv.Atoi(pairs[2*i+j])
			if err != nil {
				return nil, nil, fmt.Errorf("%w: part %s: index %q: %v", ErrFormat, name, pairs[2*i+j], err)
			}
			mapping[i][j] = v
		}
	}
	// A part's own main file names its CLNF description, relative to it.
	lines, err := readLines(path)
	if err != nil {
		return nil, nil, err
	}
	var c *clnf
	var tableErr error
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "LandmarkDetector" {
			c, tableErr, err = loadCLNF(filepath.Join(filepath.Dir(path), f[1]), name, set, dir)
			if err != nil {
				return nil, nil, err
			}
		}
	}
	if c == nil {
		return nil, nil, fmt.Errorf("%w: %s names no LandmarkDetector", ErrFormat, path)
	}
	return &part{clnf: c, mapping: mapping}, tableErr, nil
}

// loadCLNF reads a CLNF description (clnf_general.txt and the like): a
// PDM and CCNF patch experts, one file per scale in order, with the panel
// tables of dir when it is not empty.
func loadCLNF(path, name string, set settings, dir string) (*clnf, error, error) {
	lines, err := readLines(path)
	if err != nil {
		return nil, nil, err
	}
	var tableErrs []error
	root := filepath.Dir(path)
	c := &clnf{name: name, set: set, kde: map[int]*kdeTable{}}
	for _, line := range lines {
		module, rest, _ := strings.Cut(strings.TrimLeft(line, " \t"), " ")
		rest = strings.TrimSpace(rest)
		if module == "" || rest == "" {
			continue
		}
		p := filepath.Join(root, rest)
		switch module {
		case "PDM":
			if c.pdm, err = pdm.Load(p); err != nil {
				return nil, nil, err
			}
		case "PatchesCCNF":
			table := ""
			if dir != "" {
				table = filepath.Join(dir, panelTableName(name, len(c.scales)))
			}
			s, tableErr, err := ccnf.LoadWithPanels(p, table)
			if err != nil {
				return nil, nil, err
			}
			tableErrs = append(tableErrs, tableErr)
			c.scales = append(c.scales, s)
			c.sources = append(c.sources, p)
		case "PatchesIntensity", "PatchesCEN", "EarlyTermination":
			return nil, nil, fmt.Errorf("%w: %s: %s patch experts are not supported (only CCNF)", ErrFormat, path, module)
		}
	}
	if c.pdm == nil || len(c.scales) == 0 {
		return nil, nil, fmt.Errorf("%w: %s needs a PDM and at least one PatchesCCNF", ErrFormat, path)
	}
	for i, s := range c.scales {
		if s.NumPoints() != c.pdm.NumPoints() {
			return nil, nil, fmt.Errorf("%w: %s: scale %d has %d landmarks, the PDM %d", ErrFormat, path, i, s.NumPoints(), c.pdm.NumPoints())
		}
	}
	// Kernel tables for every window size a fit can use, with the sigma
	// of the first scale that uses it.
	for _, wins := range [][]int{set.windowsInit, set.windowsSmall} {
		for s := range c.scales {
			if s >= len(wins) || wins[s] <= 0 {
				continue
			}
			if _, ok := c.kde[wins[s]]; !ok {
				sc := set.atScale(c.scales[min(s, 2)].PatchScaling)
				c.kde[wins[s]] = newKDETable(wins[s], kdeCoefficient(sc.sigma))
			}
		}
	}
	return c, errors.Join(tableErrs...), nil
}

// readLines returns the lines of a small text file.
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open model file: %w", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return lines, nil
}
