package openface

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrEncoding reports bytes that are not an encoded FrameResult.
var ErrEncoding = errors.New("openface: malformed encoded frame result")

// resultMagic starts every encoded FrameResult; its last byte is the
// format version.
var resultMagic = [4]byte{'O', 'F', 'R', 3}

// maxEncodedLen bounds each slice of an encoded FrameResult, so that
// corrupt bytes cannot trigger a huge allocation.
const maxEncodedLen = 1 << 16

const (
	flagSuccess = 1 << iota
	flagAUSuccess
)

// MarshalBinary encodes r compactly and exactly (little-endian float32):
// a 4-byte header, flags, the rejection, the confidence, the fixed arrays,
// then each slice as a uint32 length and its values, and last the aligned
// face's bytes with their uint32 length. A successful frame takes about
// 20 KB (57 KB with its aligned face), a failed one about 2.8 KB. It also
// makes FrameResult usable with encoding/gob.
func (r FrameResult) MarshalBinary() ([]byte, error) {
	slices := [][]float32{r.Landmarks, r.Local, r.Landmarks3D, r.EyeLandmarks, r.EyeLandmarks3D, r.AULocal, r.HOG}
	size := len(resultMagic) + 2 + 4 + (4*6+2)*4
	for _, s := range slices {
		if len(s) > maxEncodedLen {
			return nil, fmt.Errorf("%w: slice of %d values exceeds %d", ErrEncoding, len(s), maxEncodedLen)
		}
		size += 4 + 4*len(s)
	}
	if len(r.Aligned) > 4*maxEncodedLen {
		return nil, fmt.Errorf("%w: aligned face of %d bytes exceeds %d", ErrEncoding, len(r.Aligned), 4*maxEncodedLen)
	}
	size += 4 + len(r.Aligned)
	b := make([]byte, 0, size)
	b = append(b, resultMagic[:]...)
	var flags byte
	if r.Success {
		flags |= flagSuccess
	}
	if r.AUSuccess {
		flags |= flagAUSuccess
	}
	b = append(b, flags, byte(r.Rejected))
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(r.Confidence))
	for _, a := range [][]float32{r.Global[:], r.Pose[:], r.AUGlobal[:], r.Gaze[:], r.GazeAngle[:]} {
		for _, v := range a {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	for _, s := range slices {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		for _, v := range s {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Aligned)))
	b = append(b, r.Aligned...)
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote. Malformed bytes give
// an error wrapping ErrEncoding and leave r unchanged. A slice that was nil
// or empty decodes as nil.
func (r *FrameResult) UnmarshalBinary(data []byte) error {
	d := decoder{b: data}
	var head [4]byte
	copy(head[:], d.bytes(4))
	if d.err == nil && head != resultMagic {
		return fmt.Errorf("%w: header %q", ErrEncoding, head[:])
	}
	var out FrameResult
	flags := d.bytes(1)
	rej := d.bytes(1)
	out.Confidence = d.f32()
	for _, a := range [][]float32{out.Global[:], out.Pose[:], out.AUGlobal[:], out.Gaze[:], out.GazeAngle[:]} {
		for i := range a {
			a[i] = d.f32()
		}
	}
	for _, s := range []*[]float32{&out.Landmarks, &out.Local, &out.Landmarks3D, &out.EyeLandmarks, &out.EyeLandmarks3D, &out.AULocal, &out.HOG} {
		*s = d.slice()
	}
	out.Aligned = d.byteSlice()
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d bytes after the end", ErrEncoding, len(d.b))
	}
	if flags[0]&^(flagSuccess|flagAUSuccess) != 0 || rej[0] > uint8(Unfittable) {
		return fmt.Errorf("%w: flags %#x, rejection %d", ErrEncoding, flags[0], rej[0])
	}
	out.Success = flags[0]&flagSuccess != 0
	out.AUSuccess = flags[0]&flagAUSuccess != 0
	out.Rejected = Rejection(rej[0])
	*r = out
	return nil
}

// decoder reads little-endian values, recording the first shortfall.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return make([]byte, n)
	}
	if len(d.b) < n {
		d.err = fmt.Errorf("%w: data ends early", ErrEncoding)
		return make([]byte, n)
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) f32() float32 {
	return math.Float32frombits(binary.LittleEndian.Uint32(d.bytes(4)))
}

func (d *decoder) slice() []float32 {
	n := binary.LittleEndian.Uint32(d.bytes(4))
	if d.err != nil {
		return nil
	}
	if n > maxEncodedLen || int(n)*4 > len(d.b) {
		d.err = fmt.Errorf("%w: slice of %d values in %d bytes", ErrEncoding, n, len(d.b))
		return nil
	}
	if n == 0 {
		return nil
	}
	s := make([]float32, n)
	for i := range s {
		s[i] = math.Float32frombits(binary.LittleEndian.Uint32(d.b[4*i:]))
	}
	d.b = d.b[4*n:]
	return s
}

// byteSlice reads a uint32 length and that many bytes (a copy); none
// gives nil.
func (d *decoder) byteSlice() []byte {
	n := binary.LittleEndian.Uint32(d.bytes(4))
	if d.err != nil {
		return nil
	}
	if n > 4*maxEncodedLen || int(n) > len(d.b) {
		d.err = fmt.Errorf("%w: %d bytes announced in %d", ErrEncoding, n, len(d.b))
		return nil
	}
	if n == 0 {
		return nil
	}
	out := append([]byte(nil), d.b[:n]...)
	d.b = d.b[n:]
	return out
}
