package ccnf

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"runtime"
	"unsafe"

	"facemirror/internal/mmapfile"
	"facemirror/models/ofmat"
)

// A panel table holds what a Scale builds from its filters as it is read:
// every expert's weight matrix and its panel for the neuron kernel. For
// the landmark detector with its part models these are about 20 MB, and
// building them in fresh memory (cleared and page-faulted 4 KB at a time)
// was half of loading it in a new helper. A table written once and mapped
// read-only is shared by every helper through the page cache.
//
// Layout, little-endian: the 64-byte header
//
//	magic "FMPANEL1", views, points (uint32 each), the payload's length
//	in bytes (uint64), its CRC-32C (uint32), 4 reserved zero bytes, and
//	the SHA-256 of the patch-expert file the table was made from,
//
// then for each view and landmark in order whose expert has neurons, its
// weights and then its panel as float32, each padded with zeros to a
// multiple of 64 bytes.
const (
	panelMagic      = "FMPANEL1"
	panelHeaderSize = 64
	panelAlign      = 16 // float32s: 64 bytes
)

// ErrPanelTable reports a panel table that was not made from the
// patch-expert file it is used with, or is damaged.
var ErrPanelTable = errors.New("ccnf: panel table does not match the patch experts")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// padded rounds a float32 count up to the table's alignment.
func padded(n int) int { return (n + panelAlign - 1) / panelAlign * panelAlign }

// panelSizes returns the lengths of an expert's weights and panel.
func panelSizes(e *Expert) (weights, panel int) {
	k := 1 + e.Width*e.Height
	return len(e.Neurons) * k, (len(e.Neurons) + 7) / 8 * k * 8
}

// WritePanelTable reads the patch-expert file at path and writes its panel
// table to w.
func WritePanelTable(w io.Writer, path string) error {
	type built struct {
		s   *Scale
		sum [32]byte
	}
	b, err := ofmat.LoadFile(path, "patch experts", func(r io.Reader) (built, error) {
		d, err := ofmat.ReadDecoder(r, maxFileSize, ErrFormat)
		if err != nil {
			return built{}, err
		}
		sum := sha256.Sum256(d.Bytes())
		s, err := parse(d, nil)
		return built{s, sum}, err
	})
	if err != nil {
		return err
	}
	var payload []byte
	for _, view := range b.s.Experts {
		for _, e := range view {
			if e.Empty() {
				continue
			}
			for _, part := range [][]float32{e.weights, e.panel} {
				for _, v := range part {
					payload = binary.LittleEndian.AppendUint32(payload, math.Float32bits(v))
				}
				for range padded(len(part)) - len(part) {
					payload = binary.LittleEndian.AppendUint32(payload, 0)
				}
			}
		}
	}
	var hdr [panelHeaderSize]byte
	copy(hdr[:8], panelMagic)
	binary.LittleEndian.PutUint32(hdr[8:], uint32(len(b.s.Experts)))
	binary.LittleEndian.PutUint32(hdr[12:], uint32(b.s.NumPoints()))
	binary.LittleEndian.PutUint64(hdr[16:], uint64(len(payload)))
	binary.LittleEndian.PutUint32(hdr[24:], crc32.Checksum(payload, castagnoli))
	copy(hdr[32:], b.sum[:])
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err = w.Write(payload)
	return err
}

// LoadWithPanels is Load taking every expert's weights and panel from the
// panel table at tablePath (written by WritePanelTable) instead of
// building them; the Scale's neurons then have no filters (Neuron.Weights
// is nil, as after DropFilters). The table is used in place and stays
// mapped until the Scale is garbage.
//
// A missing table is no error: the Scale is built as by Load followed by
// DropFilters. A table that does not fit (made from another file, damaged,
// or from another way of building) is not used either; tableErr then says
// why, wrapping ErrPanelTable. err is what Load would report.
func LoadWithPanels(path, tablePath string) (s *Scale, tableErr, err error) {
	s, err = ofmat.LoadFile(path, "patch experts", func(r io.Reader) (*Scale, error) {
		d, err := ofmat.ReadDecoder(r, maxFileSize, ErrFormat)
		if err != nil {
			return nil, err
		}
		var table *mappedTable
		if table, tableErr = openPanelTable(tablePath, d.Bytes()); table != nil {
			s, err := parse(d, &panelSource{data: table.payload})
			switch {
			case err == nil:
				s.fromTable = true
				runtime.AddCleanup(s, func(f *mmapfile.File) { f.Close() }, table.file)
				return s, nil
			case !errors.Is(err, ErrPanelTable):
				table.Close()
				return nil, err
			}
			table.Close()
			tableErr = fmt.Errorf("%s: %w", tablePath, err)
			// Read the file again, building the panels.
			d = ofmat.NewDecoder(d.Bytes(), ErrFormat)
		}
		s, err := parse(d, nil)
		if err != nil {
			return nil, err
		}
		s.DropFilters()
		return s, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return s, tableErr, nil
}

// mappedTable is a panel table whose header fits the source file.
type mappedTable struct {
	file    *mmapfile.File
	payload []float32
}

func (t *mappedTable) Close() { t.file.Close() }

// openPanelTable maps the table at path and checks it against the bytes of
// the patch-expert file: nil, nil when there is no table.
func openPanelTable(path string, source []byte) (*mappedTable, error) {
	if path == "" {
		return nil, nil
	}
	f, err := mmapfile.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPanelTable, err)
	}
	payload, err := checkPanelHeader(f.Bytes(), source)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &mappedTable{file: f, payload: payload}, nil
}

func checkPanelHeader(data, source []byte) ([]float32, error) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		return nil, fmt.Errorf("%w: tables are little-endian and this CPU is not", ErrPanelTable)
	}
	if len(data) < panelHeaderSize || !bytes.Equal(data[:8], []byte(panelMagic)) {
		return nil, fmt.Errorf("%w: no panel table header", ErrPanelTable)
	}
	le := binary.LittleEndian
	body := data[panelHeaderSize:]
	if n := le.Uint64(data[16:]); n != uint64(len(body)) || n%4 != 0 {
		return nil, fmt.Errorf("%w: %d bytes of panels, the header says %d", ErrPanelTable, len(body), n)
	}
	if sum := sha256.Sum256(source); !bytes.Equal(sum[:], data[32:64]) {
		return nil, fmt.Errorf("%w: made from another patch-expert file", ErrPanelTable)
	}
	if crc32.Checksum(body, castagnoli) != le.Uint32(data[24:]) {
		return nil, fmt.Errorf("%w: damaged (checksum)", ErrPanelTable)
	}
	if uintptr(unsafe.Pointer(unsafe.SliceData(body)))%4 != 0 {
		return nil, fmt.Errorf("%w: table data not aligned for float32", ErrPanelTable)
	}
	if len(body) == 0 {
		return []float32{}, nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(body))), len(body)/4), nil
}

// panelSource hands out the experts' weights and panels from a table, in
// the order parse reads the experts.
type panelSource struct {
	data []float32
	off  int
	// checked counts the experts built afresh and compared with the
	// table: the first and (at the end of parse) the last.
	checked int
	last    *Expert
	lastRaw []ofmat.Mat
}

// take attaches the next weights and panel to e, whose filters are raw
// (the neurons' weight matrices as read).
func (p *panelSource) take(e *Expert, raw []ofmat.Mat) error {
	nw, np := panelSizes(e)
	end := p.off + padded(nw) + padded(np)
	if end > len(p.data) {
		return fmt.Errorf("%w: too short for the experts", ErrPanelTable)
	}
	e.weights = p.data[p.off : p.off+nw : p.off+nw]
	e.panel = p.data[p.off+padded(nw) : p.off+padded(nw)+np : p.off+padded(nw)+np]
	p.off = end
	if p.checked == 0 {
		p.checked++
		return p.check(e, raw)
	}
	p.last, p.lastRaw = e, raw
	return nil
}

// finish checks that the table is used up and that the last expert's
// panels equal fresh ones.
func (p *panelSource) finish() error {
	if p.off != len(p.data) {
		return fmt.Errorf("%w: %d bytes left over", ErrPanelTable, 4*(len(p.data)-p.off))
	}
	if p.last != nil {
		return p.check(p.last, p.lastRaw)
	}
	return nil
}

// check builds e's weights from its raw filters and compares them with
// the table's bit for bit, which catches a table made by another way of
// building them.
func (p *panelSource) check(e *Expert, raw []ofmat.Mat) error {
	fresh := &Expert{Width: e.Width, Height: e.Height, Neurons: make([]Neuron, len(e.Neurons))}
	for k, nr := range e.Neurons {
		fresh.Neurons[k] = nr
		fresh.Neurons[k].Weights = raw[k].ToFloat32()
	}
	fresh.buildWeights()
	for _, pair := range [][2][]float32{{fresh.weights, e.weights}, {fresh.panel, e.panel}} {
		for i := range pair[0] {
			if math.Float32bits(pair[0][i]) != math.Float32bits(pair[1][i]) {
				return fmt.Errorf("%w: an expert's weights differ from a fresh build", ErrPanelTable)
			}
		}
	}
	return nil
}
