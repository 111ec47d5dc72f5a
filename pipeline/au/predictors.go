package au

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Feature sizes of OpenFace 2.2's AU stage.
const (
	// HOGLen is the FHOG descriptor length of the 112×112 aligned face:
	// 12×12 cells of 31 features.
	HOGLen = 4464
	// GeomLen is the geometry descriptor length: 204 values of
	// princ_comp·params_local (x, y, z blocks of 68 points) followed by the
	// 34 local parameters.
	GeomLen = 238
	// FeatureLen is the length of the predictors' input, HOG then geometry.
	FeatureLen = HOGLen + GeomLen
)

// ErrModel reports a predictor list or predictor file that is missing
// parts, has an unknown type or does not fit the 4702-value features.
var ErrModel = errors.New("au: invalid AU predictor model")

// Kind tells intensity predictors (SVR) from occurrence predictors (SVM).
type Kind uint8

const (
	// Intensity predictors are linear SVRs giving an AU intensity.
	Intensity Kind = iota
	// Occurrence predictors are linear SVMs deciding whether an AU is present.
	Occurrence
)

// String returns "intensity" or "occurrence".
func (k Kind) String() string {
	if k == Occurrence {
		return "occurrence"
	}
	return "intensity"
}

// NoCutoff is the Cutoff of predictors without a person-specific offset.
const NoCutoff = -1.0

// Predictor is one linear AU predictor read from an OpenFace .dat file.
// Its raw output for features x is (x − Means − median)·Weights + Bias,
// where median is the running median for dynamic predictors and zero for
// static ones.
type Predictor struct {
	// AU is the action unit's name as the predictor list spells it ("AU01").
	AU      string
	Kind    Kind
	Dynamic bool
	// Cutoff is the fraction of a video's frames assumed neutral, used to
	// shift dynamic intensities offline, or NoCutoff.
	Cutoff float64
	// Means is subtracted from the features. OpenFace keeps one mean vector
	// per kind and dynamic flag, the one of the first file of that group it
	// reads, and ignores the means stored in later files; so does this
	// package, which is why predictors of a group share this slice.
	Means   []float64
	Weights []float64
	Bias    float64
	// PosClass and NegClass are the occurrence values reported for a
	// positive and a non-positive SVM score (1 and 0, or swapped in some
	// files).
	PosClass, NegClass float64
	// File is the .dat file the predictor was read from.
	File string
}

// Predictors is a complete AU model: OpenFace's AU_all_best.txt and the
// files it lists.
type Predictors struct {
	// Intensity and Occurrence hold the predictors sorted by AU name, which
	// is the order of OpenFace's CSV columns and of all results here.
	Intensity  []Predictor
	Occurrence []Predictor
}

// IntensityNames returns the intensity AUs in column order.
func (p *Predictors) IntensityNames() []string { return names(p.Intensity) }

// OccurrenceNames returns the occurrence AUs in column order.
func (p *Predictors) OccurrenceNames() []string { return names(p.Occurrence) }

func names(ps []Predictor) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.AU
	}
	return out
}

// .dat type codes (FaceAnalyser's RegressorType).
const (
	typeSVRStatic  = 0
	typeSVRDynamic = 1
	typeSVMStatic  = 4
	typeSVMDynamic = 5
)

// cvType64F is OpenCV's CV_64FC1 type code, the only matrix type the
// predictor files use.
const cvType64F = 6

// LoadPredictors reads a predictor list such as
// AU_predictors/AU_all_best.txt: one line per .dat file, a path relative to
// the list's folder followed by the comma-separated AU names it predicts.
func LoadPredictors(listPath string) (*Predictors, error) {
	text, err := os.ReadFile(listPath)
	if err != nil {
		return nil, fmt.Errorf("read AU predictor list: %w", err)
	}
	root := filepath.Dir(listPath)
	var p Predictors
	// Means are shared per (kind, dynamic) group, first file wins.
	groupMeans := map[[2]bool][]float64{}
	seen := map[string]string{}
	for lineNo, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		loc, rest, _ := strings.Cut(line, " ")
		var aus []string
		for _, n := range strings.Split(rest, ",") {
			if n = strings.TrimSpace(n); n != "" {
				aus = append(aus, n)
			}
		}
		if len(aus) != 1 {
			return nil, fmt.Errorf("%w: %s line %d: want one AU name after the file, got %q", ErrModel, listPath, lineNo+1, rest)
		}
		file := filepath.Join(root, filepath.FromSlash(loc))
		pr, err := readPredictorFile(file)
		if err != nil {
			return nil, err
		}
		pr.AU = aus[0]
		key := [2]bool{pr.Kind == Occurrence, pr.Dynamic}
		if m, ok := groupMeans[key]; ok {
			pr.Means = m
		} else {
			groupMeans[key] = pr.Means
		}
		id := pr.Kind.String() + " " + pr.AU
		if prev, dup := seen[id]; dup {
			return nil, fmt.Errorf("%w: %s: %s predicted by both %s and %s", ErrModel, listPath, id, prev, file)
		}
		seen[id] = file
		if pr.Kind == Intensity {
			p.Intensity = append(p.Intensity, pr)
		} else {
			p.Occurrence = append(p.Occurrence, pr)
		}
	}
	if len(p.Intensity) == 0 && len(p.Occurrence) == 0 {
		return nil, fmt.Errorf("%w: %s lists no predictors", ErrModel, listPath)
	}
	sort.SliceStable(p.Intensity, func(i, j int) bool { return p.Intensity[i].AU < p.Intensity[j].AU })
	sort.SliceStable(p.Occurrence, func(i, j int) bool { return p.Occurrence[i].AU < p.Occurrence[j].AU })
	return &p, nil
}

// readPredictorFile reads one .dat predictor; errors name the file.
func readPredictorFile(path string) (Predictor, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Predictor{}, fmt.Errorf("read AU predictor: %w", err)
	}
	pr, err := ReadPredictor(bytes.NewReader(data))
	if err != nil {
		return Predictor{}, fmt.Errorf("AU predictor %s: %w", path, err)
	}
	pr.File = path
	return pr, nil
}

// ReadPredictor parses one OpenFace binary predictor (.dat): int32 type
// (0/1 static/dynamic SVR, 4/5 static/dynamic SVM), a float64 cutoff for
// dynamic SVRs, the means (1×4702) and weights (4702×1) as OpenCV binary
// matrices (int32 rows, cols, type, then float64 values), a float64 bias,
// and for SVMs the float64 positive and negative class values. All values
// are little-endian. The AU name and File are left empty.
func ReadPredictor(r io.Reader) (Predictor, error) {
	br := &binReader{r: bufio.NewReader(r)}
	typ := br.int32("type")
	pr := Predictor{Cutoff: NoCutoff}
	switch typ {
	case typeSVRStatic:
	case typeSVRDynamic:
		pr.Dynamic = true
		pr.Cutoff = br.float64("cutoff")
	case typeSVMStatic:
		pr.Kind = Occurrence
	case typeSVMDynamic:
		pr.Kind, pr.Dynamic = Occurrence, true
	default:
		if br.err != nil {
			return Predictor{}, br.err
		}
		return Predictor{}, fmt.Errorf("%w: unsupported predictor type %d", ErrModel, typ)
	}
	pr.Means = br.matrix("means", 1, FeatureLen)
	pr.Weights = br.matrix("weights", FeatureLen, 1)
	pr.Bias = br.float64("bias")
	if pr.Kind == Occurrence {
		pr.PosClass = br.float64("positive class")
		pr.NegClass = br.float64("negative class")
	}
	if br.err != nil {
		return Predictor{}, br.err
	}
	if pr.Cutoff != NoCutoff && !(pr.Cutoff >= 0 && pr.Cutoff < 1) {
		return Predictor{}, fmt.Errorf("%w: cutoff %v outside [0, 1)", ErrModel, pr.Cutoff)
	}
	for _, v := range [][]float64{pr.Means, pr.Weights, {pr.Bias, pr.PosClass, pr.NegClass}} {
		for _, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return Predictor{}, fmt.Errorf("%w: non-finite value %v", ErrModel, x)
			}
		}
	}
	return pr, nil
}

// binReader reads little-endian values and keeps the first error, so a
// truncated file yields one error naming the part that was cut off.
type binReader struct {
	r   *bufio.Reader
	err error
	buf [8]byte
}

func (b *binReader) read(what string, n int) []byte {
	if b.err != nil {
		return nil
	}
	if _, err := io.ReadFull(b.r, b.buf[:n]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			b.err = fmt.Errorf("%w: file ends in the %s", ErrModel, what)
		} else {
			b.err = fmt.Errorf("read %s: %w", what, err)
		}
		return nil
	}
	return b.buf[:n]
}

func (b *binReader) int32(what string) int32 {
	if p := b.read(what, 4); p != nil {
		return int32(binary.LittleEndian.Uint32(p))
	}
	return 0
}

func (b *binReader) float64(what string) float64 {
	if p := b.read(what, 8); p != nil {
		return math.Float64frombits(binary.LittleEndian.Uint64(p))
	}
	return 0
}

// matrix reads an OpenCV binary matrix that must be rows×cols float64.
func (b *binReader) matrix(what string, rows, cols int) []float64 {
	r, c, t := b.int32(what+" rows"), b.int32(what+" cols"), b.int32(what+" type")
	if b.err != nil {
		return nil
	}
	if int(r) != rows || int(c) != cols || t != cvType64F {
		b.err = fmt.Errorf("%w: %s is %d×%d of OpenCV type %d, want %d×%d of type %d (float64)", ErrModel, what, r, c, t, rows, cols, cvType64F)
		return nil
	}
	raw := make([]byte, 8*rows*cols)
	if _, err := io.ReadFull(b.r, raw); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			b.err = fmt.Errorf("%w: file ends in the %s values", ErrModel, what)
		} else {
			b.err = fmt.Errorf("read %s: %w", what, err)
		}
		return nil
	}
	out := make([]float64, rows*cols)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	return out
}
