package ccnf

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"runtime"
	"sync"
	"unsafe"
)

// A Sigma table holds the Sigma of every expert of a Scale at one window
// size, precomputed. Computing them is most of a tracker's start-up (a
// Cholesky inverse of a 121×121 matrix per expert at ws = 11, about 0.7 s
// per process for the views a first detection visits) and they take
// 20-30 MB per process; a table written once and mapped read-only by
// every helper (package mmapfile) costs neither.
//
// Layout, little-endian: the 32-byte header
//
//	magic "FMSIGMA1", ws, views, points (uint32 each), the fingerprint
//	of everything the Sigmas depend on (uint64), 4 reserved zero bytes,
//
// then for each view and landmark in order whose expert is visible, its
// ws²×ws² Sigma as float32, row-major.
const (
	sigmaMagic      = "FMSIGMA1"
	sigmaHeaderSize = 32
)

// ErrSigmaTable reports a Sigma table that does not belong to the Scale
// and window size it is attached to, or is damaged.
var ErrSigmaTable = errors.New("ccnf: Sigma table does not match the patch experts")

// sigmaTable is an attached table: offset[view][landmark] is where the
// expert's Sigma starts in data (−1 for an invisible landmark).
type sigmaTable struct {
	n      int // ws²
	data   []float32
	offset [][]int
}

func (t *sigmaTable) at(view, i int) []float32 {
	o := t.offset[view][i]
	return t.data[o : o+t.n*t.n : o+t.n*t.n]
}

// layout returns the offsets of the visible experts' Sigmas in a table for
// window size ws and the number of float32 values in the table.
func (s *Scale) layout(ws int) (offset [][]int, total int) {
	n := ws * ws
	offset = make([][]int, len(s.Experts))
	for v := range s.Experts {
		offset[v] = make([]int, len(s.Experts[v]))
		for i := range s.Experts[v] {
			offset[v][i] = -1
			if s.Visible(v, i) && !s.Experts[v][i].Empty() {
				offset[v][i] = total
				total += n * n
			}
		}
	}
	return offset, total
}

// fingerprint hashes everything computeSigma reads for window size ws:
// the shape of the Scale, each visible expert's alphas and betas, and the
// sigma components.
func (s *Scale) fingerprint(ws int) uint64 {
	h := fnv.New64a()
	var b [8]byte
	put := func(v uint64) {
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	put(uint64(ws))
	put(uint64(len(s.Experts)))
	for v := range s.Experts {
		put(uint64(len(s.Experts[v])))
		for i, e := range s.Experts[v] {
			if !s.Visible(v, i) || e.Empty() {
				put(0)
				continue
			}
			put(uint64(len(e.Neurons)))
			for _, nr := range e.Neurons {
				put(math.Float64bits(nr.Alpha))
			}
			put(uint64(len(e.Betas)))
			for _, beta := range e.Betas {
				put(math.Float64bits(beta))
			}
		}
	}
	comps := s.components(ws)
	put(uint64(len(comps)))
	for _, c := range comps {
		for _, v := range c {
			put(uint64(math.Float32bits(v)))
		}
	}
	return h.Sum64()
}

// WriteSigmaTable computes the Sigma of every visible expert at window
// size ws (on all cores) and writes the table to w.
func (s *Scale) WriteSigmaTable(w io.Writer, ws int) error {
	if ws < 1 || ws > 64 {
		return fmt.Errorf("ccnf: window size %d out of range", ws)
	}
	comps := s.components(ws)
	var experts []*Expert
	for v := range s.Experts {
		for i, e := range s.Experts[v] {
			if s.Visible(v, i) && !e.Empty() {
				experts = append(experts, e)
			}
		}
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var hdr [sigmaHeaderSize]byte
	copy(hdr[:8], sigmaMagic)
	binary.LittleEndian.PutUint32(hdr[8:], uint32(ws))
	binary.LittleEndian.PutUint32(hdr[12:], uint32(len(s.Experts)))
	binary.LittleEndian.PutUint32(hdr[16:], uint32(s.NumPoints()))
	binary.LittleEndian.PutUint64(hdr[20:], s.fingerprint(ws))
	if _, err := bw.Write(hdr[:]); err != nil {
		return err
	}
	// Compute in batches on every core, write in order.
	workers := runtime.GOMAXPROCS(0)
	batch := make([][]float32, 4*workers)
	buf := make([]byte, 0, 4*ws*ws*ws*ws)
	for start := 0; start < len(experts); start += len(batch) {
		end := min(start+len(batch), len(experts))
		var wg sync.WaitGroup
		next := make(chan int)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range next {
					batch[k-start] = computeSigma(experts[k], ws, comps)
				}
			}()
		}
		for k := start; k < end; k++ {
			next <- k
		}
		close(next)
		wg.Wait()
		for k := start; k < end; k++ {
			buf = buf[:0]
			for _, v := range batch[k-start] {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

// AttachSigmaTable makes the Scale take its Sigmas for window size ws from
// a table written by WriteSigmaTable, instead of computing them. data is
// used in place, not copied, and must stay valid and unchanged for as long
// as the Scale is used (a read-only mapping of the file suits). The table
// is checked against the Scale: its header and size, the fingerprint of
// the model data, and two of its Sigmas recomputed bit for bit (which
// catches a table from an older way of computing them). A table that
// fails gives an error wrapping ErrSigmaTable and the Scale is unchanged.
// AttachSigmaTable must be called before the Scale is in use: it is not
// safe to call concurrently with anything else on the Scale.
func (s *Scale) AttachSigmaTable(data []byte, ws int) error {
	t, err := s.checkSigmaTable(data, ws)
	if err != nil {
		return err
	}
	if s.tables == nil {
		s.tables = map[int]*sigmaTable{}
	}
	s.tables[ws] = t
	return nil
}

// CheckSigmaTable reports whether AttachSigmaTable would accept the table,
// without attaching it: nil, or the error AttachSigmaTable would return.
func (s *Scale) CheckSigmaTable(data []byte, ws int) error {
	_, err := s.checkSigmaTable(data, ws)
	return err
}

// checkSigmaTable validates a table for window size ws and returns it
// ready to attach.
func (s *Scale) checkSigmaTable(data []byte, ws int) (*sigmaTable, error) {
	if ws < 1 || ws > 64 {
		return nil, fmt.Errorf("ccnf: window size %d out of range", ws)
	}
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		return nil, fmt.Errorf("%w: tables are little-endian and this CPU is not", ErrSigmaTable)
	}
	if len(data) < sigmaHeaderSize || !bytes.Equal(data[:8], []byte(sigmaMagic)) {
		return nil, fmt.Errorf("%w: no Sigma table header", ErrSigmaTable)
	}
	le := binary.LittleEndian
	if got := int(le.Uint32(data[8:])); got != ws {
		return nil, fmt.Errorf("%w: table for window size %d, want %d", ErrSigmaTable, got, ws)
	}
	if v, p := int(le.Uint32(data[12:])), int(le.Uint32(data[16:])); v != len(s.Experts) || p != s.NumPoints() {
		return nil, fmt.Errorf("%w: table for %d views of %d landmarks, the experts have %d of %d", ErrSigmaTable, v, p, len(s.Experts), s.NumPoints())
	}
	if le.Uint64(data[20:]) != s.fingerprint(ws) {
		return nil, fmt.Errorf("%w: made from other patch experts", ErrSigmaTable)
	}
	offset, total := s.layout(ws)
	body := data[sigmaHeaderSize:]
	if len(body) != 4*total {
		return nil, fmt.Errorf("%w: %d bytes of Sigmas, want %d", ErrSigmaTable, len(body), 4*total)
	}
	if uintptr(unsafe.Pointer(unsafe.SliceData(body)))%4 != 0 {
		return nil, fmt.Errorf("%w: table data not aligned for float32", ErrSigmaTable)
	}
	t := &sigmaTable{n: ws * ws, offset: offset}
	if total > 0 {
		t.data = unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(body))), total)
	}
	comps := s.components(ws)
	var first, last [2]int
	found := false
	for v := range offset {
		for i, o := range offset[v] {
			if o < 0 {
				continue
			}
			if !found {
				first, found = [2]int{v, i}, true
			}
			last = [2]int{v, i}
		}
	}
	if found {
		for _, vi := range [][2]int{first, last} {
			want := computeSigma(s.Experts[vi[0]][vi[1]], ws, comps)
			got := t.at(vi[0], vi[1])
			for k := range want {
				if math.Float32bits(got[k]) != math.Float32bits(want[k]) {
					return nil, fmt.Errorf("%w: the Sigma of landmark %d in view %d differs from a fresh computation", ErrSigmaTable, vi[1], vi[0])
				}
			}
		}
	}
	return t, nil
}
