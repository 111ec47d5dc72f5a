package ccnf

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"facemirror/models/ofmat"
	"facemirror/pipeline/pdm"
)

// ErrFormat reports a patch-expert file that is not a valid CCNF file.
var ErrFormat = errors.New("ccnf: invalid patch expert file")

// maxFileSize bounds what Read accepts; the largest CCNF file is 2.4 MB.
const maxFileSize = 64 << 20

// maxPoints bounds the landmark count (68 in the largest model).
const maxPoints = 4096

// Neuron is one neuron of a patch expert: a linear filter over the
// contrast-normalised patch followed by a scaled sigmoid.
type Neuron struct {
	// Type is the neuron type; 0 (raw intensities) in every OpenFace file.
	// The response path OpenFace uses does not look at it.
	Type int32
	// NormWeights scales the filter, Bias is added before the sigmoid and
	// Alpha weights the neuron's sigmoid in the response (and in Sigma).
	NormWeights, Bias, Alpha float64
	// Weights is the Height×Width filter, row-major as stored, or nil after
	// Scale.DropFilters.
	Weights []float32
}

// Expert is the patch expert of one landmark in one view.
type Expert struct {
	// Width and Height are the patch support (11×11 in every file).
	Width, Height int
	// Neurons is empty for a landmark that is invisible in the view.
	Neurons []Neuron
	// Betas weight the file's sigma components (one per component of the
	// file's first window entry).
	Betas []float64
	// Confidence is the expert's patch_confidence (the NU-RLMS weight of
	// the landmark). OpenFace leaves it uninitialised for empty experts;
	// here it is 0.
	Confidence float64

	// weights is OpenFace's weight_matrix: one row per neuron holding
	// (float)bias, then the filter flattened column-major, each multiplied
	// by (float)NormWeights.
	weights []float32
	// panel is weights laid out for the neuron kernel: neurons in groups
	// of eight (the last one padded with zeros), each group k-major, i.e.
	// weight c of neuron g·8+j at panel[(g·K+c)·8+j].
	panel []float32

	mu     sync.Mutex
	sigmas []*sigmaEntry
}

// Empty reports whether the expert has no neurons (invisible landmark).
func (e *Expert) Empty() bool { return len(e.Neurons) == 0 }

// Window is one window-size entry of a CCNF file.
type Window struct {
	// Size is the response window size ws.
	Size int
	// Components are the ws²×ws² sigma components (row-major); the eye
	// models have none.
	Components [][]float32
}

// Scale is one CCNF file: the patch experts of every view and landmark at
// one patch scaling (OpenFace's Patch_experts for one scale).
type Scale struct {
	// PatchScaling is the scale of the reference shape the experts were
	// trained at (0.25, 0.35, 0.5 for the general model).
	PatchScaling float64
	// Centers are the view orientations (pitch, yaw, roll) in radians,
	// computed from the stored degrees as OpenFace does (deg·π·(1/180)).
	Centers [][3]float64
	// Visibility[view][landmark] tells whether the landmark has an expert
	// in that view.
	Visibility [][]bool
	// Windows are the window sizes listed in the file with their sigma
	// components.
	Windows []Window
	// Experts[view][landmark] are the patch experts.
	Experts [][]*Expert

	// tables are precomputed Sigmas by window size (AttachSigmaTable).
	tables map[int]*sigmaTable
	// fromTable tells that the experts' weights and panels are a panel
	// table's (LoadWithPanels).
	fromTable bool
}

// NumViews returns the number of views.
func (s *Scale) NumViews() int { return len(s.Centers) }

// NumPoints returns the number of landmarks.
func (s *Scale) NumPoints() int {
	if len(s.Visibility) == 0 {
		return 0
	}
	return len(s.Visibility[0])
}

// Visible reports whether landmark i has an expert in the view.
func (s *Scale) Visible(view, i int) bool {
	return view >= 0 && view < len(s.Visibility) && i >= 0 && i < len(s.Visibility[view]) && s.Visibility[view][i]
}

// ViewIndex returns the view whose centre is nearest to the rotation, as
// Patch_experts::GetViewIdx computes it: float32 differences to the
// (double) centres, squared distance in float32, the first view winning
// ties.
func (s *Scale) ViewIndex(rot pdm.Euler) int {
	idx := 0
	var best float32
	for i, c := range s.Centers {
		v1 := float32(float64(rot.X) - c[0])
		v2 := float32(float64(rot.Y) - c[1])
		v3 := float32(float64(rot.Z) - c[2])
		d := float32(float32(v1*v1)+float32(v2*v2)) + float32(v3*v3)
		if i == 0 || d < best {
			best, idx = d, i
		}
	}
	return idx
}

// Load reads a CCNF patch-expert file such as
// model/patch_experts/ccnf_patches_0.25_general.txt (binary despite the
// name).
func Load(path string) (*Scale, error) {
	return ofmat.LoadFile(path, "patch experts", Read)
}

// Read parses a CCNF patch-expert file (the layout of
// Patch_experts::Read_CCNF_patch_experts). Malformed input gives an error
// wrapping ErrFormat.
func Read(r io.Reader) (*Scale, error) {
	d, err := ofmat.ReadDecoder(r, maxFileSize, ErrFormat)
	if err != nil {
		return nil, err
	}
	return parse(d, nil)
}

// parse reads a CCNF file's layout from d, taking the experts' weights and
// panels from ps when it is not nil (an error wrapping ErrPanelTable if
// the table does not fit) and building them otherwise.
func parse(d *ofmat.Decoder, ps *panelSource) (*Scale, error) {
	var err error
	s := &Scale{}
	if s.PatchScaling, err = d.Float64("patch scaling"); err != nil {
		return nil, err
	}
	if !(s.PatchScaling > 0) || math.IsInf(s.PatchScaling, 0) {
		return nil, d.Fail("patch scaling", "value %v", s.PatchScaling)
	}
	nViews, err := d.Int32("view count")
	if err != nil {
		return nil, err
	}
	if nViews < 1 || nViews > 64 {
		return nil, d.Fail("view count", "%d views", nViews)
	}
	s.Centers = make([][3]float64, nViews)
	for v := range s.Centers {
		m, err := d.Mat("view centre")
		if err != nil {
			return nil, err
		}
		c, err := m.Float64s("view centre")
		if err != nil {
			return nil, err
		}
		if len(c) != 3 {
			return nil, d.Fail("view centre", "%d×%d, want 3 values", m.Rows, m.Cols)
		}
		for k := range c {
			s.Centers[v][k] = (c[k] * math.Pi) * (1.0 / 180.0)
		}
	}
	n := -1
	s.Visibility = make([][]bool, nViews)
	for v := range s.Visibility {
		m, err := d.Mat("visibility")
		if err != nil {
			return nil, err
		}
		vis, err := m.Int32s("visibility")
		if err != nil {
			return nil, err
		}
		if n < 0 {
			n = m.Rows
		}
		if m.Cols != 1 || m.Rows != n || n == 0 || n > maxPoints {
			return nil, d.Fail("visibility", "view %d is %d×%d, want %d×1", v, m.Rows, m.Cols, n)
		}
		s.Visibility[v] = make([]bool, n)
		for i, x := range vis {
			s.Visibility[v][i] = x != 0
		}
	}
	if err := s.readWindows(d); err != nil {
		return nil, err
	}
	nBetas := 0
	if len(s.Windows) > 0 {
		nBetas = len(s.Windows[0].Components)
	}
	s.Experts = make([][]*Expert, nViews)
	for v := range s.Experts {
		s.Experts[v] = make([]*Expert, n)
		for i := range s.Experts[v] {
			e, err := readExpert(d, nBetas, ps)
			if err != nil {
				return nil, fmt.Errorf("view %d landmark %d: %w", v, i, err)
			}
			s.Experts[v][i] = e
		}
	}
	if err := d.End(); err != nil {
		return nil, err
	}
	if ps != nil {
		if err := ps.finish(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Scale) readWindows(d *ofmat.Decoder) error {
	nWin, err := d.Int32("window count")
	if err != nil {
		return err
	}
	if nWin < 0 || nWin > 64 {
		return d.Fail("window count", "%d windows", nWin)
	}
	s.Windows = make([]Window, nWin)
	for w := range s.Windows {
		size, err := d.Int32("window size")
		if err != nil {
			return err
		}
		nComp, err := d.Int32("sigma component count")
		if err != nil {
			return err
		}
		if size < 1 || size > 64 || nComp < 0 || nComp > 16 {
			return d.Fail("window", "size %d with %d components", size, nComp)
		}
		win := Window{Size: int(size), Components: make([][]float32, nComp)}
		for c := range win.Components {
			m, err := d.Mat("sigma component")
			if err != nil {
				return err
			}
			// OpenFace picks components by their row count (ws²) and
			// multiplies them with ws²×ws² identities, so any other shape
			// would break the computation.
			if m.Rows != win.Size*win.Size || m.Cols != m.Rows {
				return d.Fail("sigma component", "%d×%d for window %d", m.Rows, m.Cols, win.Size)
			}
			if win.Components[c], err = m.Float32s("sigma component"); err != nil {
				return err
			}
		}
		s.Windows[w] = win
	}
	return nil
}

func readExpert(d *ofmat.Decoder, nBetas int, ps *panelSource) (*Expert, error) {
	typ, err := d.Int32("expert type")
	if err != nil {
		return nil, err
	}
	if typ != 5 {
		return nil, d.Fail("expert type", "%d, want 5", typ)
	}
	w, err := d.Int32("expert width")
	if err != nil {
		return nil, err
	}
	h, err := d.Int32("expert height")
	if err != nil {
		return nil, err
	}
	nNeurons, err := d.Int32("neuron count")
	if err != nil {
		return nil, err
	}
	if w < 1 || h < 1 || w > 64 || h > 64 || nNeurons < 0 || nNeurons > 1024 {
		return nil, d.Fail("expert", "%d×%d support with %d neurons", w, h, nNeurons)
	}
	e := &Expert{Width: int(w), Height: int(h)}
	if nNeurons == 0 {
		// An invisible landmark's expert is followed by one unused int.
		_, err := d.Int32("empty expert padding")
		return e, err
	}
	e.Neurons = make([]Neuron, nNeurons)
	raw := make([]ofmat.Mat, nNeurons)
	for k := range e.Neurons {
		var err error
		if raw[k], err = readNeuron(d, &e.Neurons[k], e.Width, e.Height); err != nil {
			return nil, fmt.Errorf("neuron %d: %w", k, err)
		}
	}
	e.Betas = make([]float64, nBetas)
	for k := range e.Betas {
		if e.Betas[k], err = d.Float64("beta"); err != nil {
			return nil, err
		}
	}
	if e.Confidence, err = d.Float64("patch confidence"); err != nil {
		return nil, err
	}
	if ps != nil {
		return e, ps.take(e, raw)
	}
	for k, m := range raw {
		e.Neurons[k].Weights = m.ToFloat32()
	}
	e.buildWeights()
	return e, nil
}

// readNeuron reads a neuron and returns its filter as stored, an f32
// matrix of the expert's size; its bytes are the file's.
func readNeuron(d *ofmat.Decoder, nr *Neuron, w, h int) (ofmat.Mat, error) {
	typ, err := d.Int32("neuron type tag")
	if err != nil {
		return ofmat.Mat{}, err
	}
	if typ != 2 {
		return ofmat.Mat{}, d.Fail("neuron type tag", "%d, want 2", typ)
	}
	if nr.Type, err = d.Int32("neuron type"); err != nil {
		return ofmat.Mat{}, err
	}
	if nr.NormWeights, err = d.Float64("norm weights"); err != nil {
		return ofmat.Mat{}, err
	}
	if nr.Bias, err = d.Float64("bias"); err != nil {
		return ofmat.Mat{}, err
	}
	if nr.Alpha, err = d.Float64("alpha"); err != nil {
		return ofmat.Mat{}, err
	}
	m, err := d.Mat("neuron weights")
	if err != nil {
		return ofmat.Mat{}, err
	}
	if m.Rows != h || m.Cols != w {
		return ofmat.Mat{}, d.Fail("neuron weights", "%d×%d, the expert is %d×%d", m.Rows, m.Cols, h, w)
	}
	if m.Depth != ofmat.DepthF32 {
		return ofmat.Mat{}, d.Fail("neuron weights", "element type %d, want float32 (%d)", m.Depth, ofmat.DepthF32)
	}
	return m, nil
}

// buildWeights lays out weight_matrix as CCNF_patch_expert::Read does.
// DropFilters releases every neuron's filter as stored (Neuron.Weights).
// Responses use the weights built from the filters when the file was read,
// so a tracker needs them no more: in OpenFace's landmark detector with its
// part models they are 10 MB of every helper's heap.
func (s *Scale) DropFilters() {
	for _, view := range s.Experts {
		for _, e := range view {
			for k := range e.Neurons {
				e.Neurons[k].Weights = nil
			}
		}
	}
}

func (e *Expert) buildWeights() {
	k := 1 + e.Width*e.Height
	e.weights = make([]float32, len(e.Neurons)*k)
	for j, nr := range e.Neurons {
		row := e.weights[j*k : (j+1)*k]
		row[0] = float32(nr.Bias)
		nw := float32(nr.NormWeights)
		for xx := 0; xx < e.Width; xx++ {
			for yy := 0; yy < e.Height; yy++ {
				row[1+xx*e.Height+yy] = nr.Weights[yy*e.Width+xx] * nw
			}
		}
	}
	groups := (len(e.Neurons) + 7) / 8
	e.panel = make([]float32, groups*k*8)
	for j := range e.Neurons {
		g := e.panel[j/8*k*8:]
		for c, v := range e.weights[j*k : (j+1)*k] {
			g[c*8+j%8] = v
		}
	}
}
