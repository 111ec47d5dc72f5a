package openface

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"facemirror/pipeline/align"
	"facemirror/pipeline/au"
	"facemirror/pipeline/gaze"
	"facemirror/pipeline/openfacecsv"
	"facemirror/pipeline/pdm"
)

// Paths inside an OpenFace model folder, relative to it. They are the
// files FeatureExtraction opens: the FaceAnalyser's configuration and the
// landmark detector's top-level model, whose entries name the rest.
const (
	AUConfigFile   = "AU_predictors/main_dynamic_svms.txt"
	LandmarkerFile = "model/main_clnf_general.txt"
)

// ErrModelConfig reports a model configuration file that lacks an entry the
// analysis needs or names a file that does not fit.
var ErrModelConfig = errors.New("openface: invalid model configuration")

// ModelFiles names the files a Models was read from.
type ModelFiles struct {
	// AUConfig is the FaceAnalyser configuration (main_dynamic_svms.txt);
	// AUPredictors, AUPDM and Triangulation are the files it names.
	AUConfig      string
	AUPredictors  string
	AUPDM         string
	Triangulation string
	// LandmarkPDM is the landmark detector's PDM, named by the CLNF model
	// files (main_clnf_general.txt → clnf_general.txt). FeatureExtraction
	// computes the pose and 3D landmarks with it.
	LandmarkPDM string
	// EyePDMs are the PDMs of the landmark detector's eye part models,
	// left_eye_28 then right_eye_28 (main_clnf_general.txt →
	// main_clnf_synth_left.txt → clnf_left_synth.txt, and right). The eye
	// landmarks' 3D positions are computed with them.
	EyePDMs [2]string
}

// Names of the landmark detector's eye part models in
// main_clnf_general.txt: Landmarks.Eyes and the eye landmark columns hold
// them in this order, and gaze_0 is the left eye's, gaze_1 the right's.
const (
	LeftEyePart  = "left_eye_28"
	RightEyePart = "right_eye_28"
)

// eyeParts are the eye part model names in the order of Landmarks.Eyes.
var eyeParts = [2]string{LeftEyePart, RightEyePart}

// Models holds everything the analysis reads from an OpenFace model
// folder. It is immutable after LoadModels and safe for concurrent use.
type Models struct {
	files ModelFiles
	// lmPDM is the landmark detector's PDM (pose, 3D landmarks); auPDM
	// is the FaceAnalyser's own copy (refit, alignment, geometry). The
	// stock files are byte-identical, but each is read from where OpenFace
	// reads it so that a model folder where they differ is still analysed
	// as OpenFace would.
	lmPDM, auPDM *pdm.Model
	// eyes are the landmark detector's eye part models (Landmarks.Eyes order).
	eyes       [2]eyeModel
	eyePoints  int // landmarks of both eye models together
	aligner    *align.Aligner
	predictors *au.Predictors
	layout     openfacecsv.Layout
}

// LoadModels reads the models under an OpenFace model folder (the folder
// holding AU_predictors/ and model/), following the configuration files as
// OpenFace does. Errors name the file that could not be used.
func LoadModels(dir string) (*Models, error) {
	files := ModelFiles{AUConfig: filepath.Join(dir, filepath.FromSlash(AUConfigFile))}
	cfg, err := readModuleFile(files.AUConfig)
	if err != nil {
		return nil, err
	}
	for _, e := range []struct {
		key string
		dst *string
	}{
		{"AUPredictor", &files.AUPredictors},
		{"PDM", &files.AUPDM},
		{"Triangulation", &files.Triangulation},
	} {
		if *e.dst, err = cfg.path(e.key); err != nil {
			return nil, err
		}
	}

	// The landmark detector's PDM: main_clnf_general.txt names the CLNF
	// model file ("LandmarkDetector"), which names the PDM.
	top, err := readModuleFile(filepath.Join(dir, filepath.FromSlash(LandmarkerFile)))
	if err != nil {
		return nil, err
	}
	clnfFile, err := top.path("LandmarkDetector")
	if err != nil {
		return nil, err
	}
	clnf, err := readModuleFile(clnfFile)
	if err != nil {
		return nil, err
	}
	if files.LandmarkPDM, err = clnf.path("PDM"); err != nil {
		return nil, err
	}

	parts, err := readParts(filepath.Join(dir, filepath.FromSlash(LandmarkerFile)))
	if err != nil {
		return nil, err
	}

	m := &Models{files: files}
	if m.lmPDM, err = loadPDM(files.LandmarkPDM); err != nil {
		return nil, err
	}
	for i, name := range eyeParts {
		if m.eyes[i], err = loadEyeModel(parts, name, m.lmPDM.NumPoints()); err != nil {
			return nil, err
		}
		m.files.EyePDMs[i] = m.eyes[i].file
		m.eyePoints += m.eyes[i].pdm.NumPoints()
	}
	if m.auPDM, err = loadPDM(files.AUPDM); err != nil {
		return nil, err
	}
	if m.lmPDM.NumPoints() != m.auPDM.NumPoints() || m.lmPDM.NumModes() != m.auPDM.NumModes() {
		return nil, fmt.Errorf("%w: landmark PDM %s has %d points and %d modes, AU PDM %s has %d and %d",
			ErrModelConfig, files.LandmarkPDM, m.lmPDM.NumPoints(), m.lmPDM.NumModes(),
			files.AUPDM, m.auPDM.NumPoints(), m.auPDM.NumModes())
	}
	tris, err := align.LoadTriangulation(files.Triangulation)
	if err != nil {
		return nil, err
	}
	if m.aligner, err = align.New(m.auPDM, tris); err != nil {
		return nil, fmt.Errorf("aligner from %s and %s: %w", files.AUPDM, files.Triangulation, err)
	}
	if m.predictors, err = au.LoadPredictors(files.AUPredictors); err != nil {
		return nil, err
	}
	// Check now that predictors and PDM fit together, rather than on the
	// first frame of a video.
	if err := au.CheckModels(m.predictors, m.auPDM); err != nil {
		return nil, fmt.Errorf("AU predictors %s with PDM %s: %w", files.AUPredictors, files.AUPDM, err)
	}

	l := openfacecsv.OpenFaceLayout()
	l.EyeLandmarks = m.eyePoints
	l.Landmarks = m.lmPDM.NumPoints()
	l.Modes = m.lmPDM.NumModes()
	l.IntensityAUs = m.predictors.IntensityNames()
	l.OccurrenceAUs = m.predictors.OccurrenceNames()
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("CSV layout for %s: %w", files.AUPredictors, err)
	}
	m.layout = l
	return m, nil
}

func loadPDM(path string) (*pdm.Model, error) {
	md, err := pdm.Load(path) // its errors name the file
	if err != nil {
		return nil, err
	}
	if md.NumPoints() != align.NumPoints {
		return nil, fmt.Errorf("%w: PDM %s has %d points, the analysis needs %d",
			ErrModelConfig, path, md.NumPoints(), align.NumPoints)
	}
	return md, nil
}

// Files returns the paths of the files the models were read from.
func (m *Models) Files() ModelFiles { return m.files }

// Predictors returns the AU predictors. They must not be modified.
func (m *Models) Predictors() *au.Predictors { return m.predictors }

// LandmarkPDM returns the landmark detector's PDM, with which pose and 3D
// landmarks are computed. It must not be modified.
func (m *Models) LandmarkPDM() *pdm.Model { return m.lmPDM }

// AUPDM returns the FaceAnalyser's PDM, refitted to the landmarks for the
// alignment and the geometry features. It must not be modified.
func (m *Models) AUPDM() *pdm.Model { return m.auPDM }

// Layout returns the CSV layout the analysis produces: the columns of
// OpenFace's FeatureExtraction with -2Dfp -3Dfp -pdmparams -pose -aus
// -gaze (714 with the stock models).
func (m *Models) Layout() openfacecsv.Layout {
	l := m.layout
	l.IntensityAUs = append([]string(nil), l.IntensityAUs...)
	l.OccurrenceAUs = append([]string(nil), l.OccurrenceAUs...)
	return l
}

// EyePDM returns the PDM of the landmark detector's eye part model e
// (0 for left_eye_28, 1 for right_eye_28). It must not be modified.
func (m *Models) EyePDM(e int) *pdm.Model { return m.eyes[e].pdm }

// eyeModel is an eye part model of the landmark detector, as far as the
// analysis needs it: its PDM and which main landmarks map to which of its
// points.
type eyeModel struct {
	name, file string
	pdm        *pdm.Model
	// mapping pairs (main landmark, eye landmark).
	mapping [][2]int
}

// partLine is a LandmarkDetector_part entry of main_clnf_general.txt:
// the part's main file, its name and its index pairs.
type partLine struct {
	file, name string
	pairs      []string
	top        string // the file it was read from
}

// readParts reads the LandmarkDetector_part lines of a landmark detector's
// top-level model file, as CLNF::Read does: the part's main file relative
// to the file's folder, the part name, then (main index, part index)
// pairs.
func readParts(path string) ([]partLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open model configuration: %w", err)
	}
	defer f.Close()
	var parts []partLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) < 3 || w[0] != "LandmarkDetector_part" {
			continue
		}
		parts = append(parts, partLine{
			file:  filepath.Join(filepath.Dir(path), filepath.FromSlash(w[1])),
			name:  w[2],
			pairs: w[3:],
			top:   path,
		})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read model configuration %s: %w", path, err)
	}
	return parts, nil
}

// loadEyeModel finds the part called name among parts and reads its PDM
// (part main file → LandmarkDetector → PDM) and index map, checked
// against a main model of n landmarks.
func loadEyeModel(parts []partLine, name string, n int) (eyeModel, error) {
	var pl *partLine
	for i := range parts {
		if parts[i].name == name {
			pl = &parts[i]
			break
		}
	}
	if pl == nil {
		if len(parts) == 0 {
			return eyeModel{}, fmt.Errorf("%w: the landmark detector has no %s part model", ErrModelConfig, name)
		}
		return eyeModel{}, fmt.Errorf("%w: %s has no %s part model", ErrModelConfig, parts[0].top, name)
	}
	top, err := readModuleFile(pl.file)
	if err != nil {
		return eyeModel{}, err
	}
	clnfFile, err := top.path("LandmarkDetector")
	if err != nil {
		return eyeModel{}, err
	}
	cfg, err := readModuleFile(clnfFile)
	if err != nil {
		return eyeModel{}, err
	}
	file, err := cfg.path("PDM")
	if err != nil {
		return eyeModel{}, err
	}
	md, err := pdm.Load(file) // its errors name the file
	if err != nil {
		return eyeModel{}, err
	}
	if md.NumPoints() < gaze.IrisLandmarks {
		return eyeModel{}, fmt.Errorf("%w: eye PDM %s has %d points, the gaze needs at least %d",
			ErrModelConfig, file, md.NumPoints(), gaze.IrisLandmarks)
	}
	if len(pl.pairs)%2 != 0 {
		return eyeModel{}, fmt.Errorf("%w: %s: part %s has an odd number of indices", ErrModelConfig, pl.top, name)
	}
	em := eyeModel{name: name, file: file, pdm: md, mapping: make([][2]int, len(pl.pairs)/2)}
	for i := range em.mapping {
		for j := 0; j < 2; j++ {
			v, err := strconv.Atoi(pl.pairs[2*i+j])
			if err != nil {
				return eyeModel{}, fmt.Errorf("%w: %s: part %s: index %q", ErrModelConfig, pl.top, name, pl.pairs[2*i+j])
			}
			em.mapping[i][j] = v
		}
		if mp := em.mapping[i]; mp[0] < 0 || mp[0] >= n || mp[1] < 0 || mp[1] >= md.NumPoints() {
			return eyeModel{}, fmt.Errorf("%w: %s: part %s maps landmark %d to %d, out of range", ErrModelConfig, pl.top, name, mp[0], mp[1])
		}
	}
	return em, nil
}

// moduleFile is one of OpenFace's "Module relative/path" configuration
// files (main_dynamic_svms.txt, main_clnf_general.txt, clnf_general.txt).
type moduleFile struct {
	file    string
	entries map[string]string // module → first location given
}

// readModuleFile reads such a file as OpenFace does: each line is a module
// name and a location relative to the file's folder; later words, other
// modules and blank lines are ignored, and the first entry of a module is
// the one used.
func readModuleFile(path string) (*moduleFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open model configuration: %w", err)
	}
	defer f.Close()
	mf := &moduleFile{file: path, entries: map[string]string{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) < 2 {
			continue
		}
		if _, dup := mf.entries[w[0]]; !dup {
			mf.entries[w[0]] = w[1]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read model configuration %s: %w", path, err)
	}
	return mf, nil
}

// path returns the file named by module key, resolved against the
// configuration's folder.
func (mf *moduleFile) path(key string) (string, error) {
	loc, ok := mf.entries[key]
	if !ok {
		return "", fmt.Errorf("%w: %s has no %q entry", ErrModelConfig, mf.file, key)
	}
	return filepath.Join(filepath.Dir(mf.file), filepath.FromSlash(loc)), nil
}
