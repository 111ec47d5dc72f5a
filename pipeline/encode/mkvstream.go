package encode

import "time"

// The frames reach ffmpeg as a minimal live Matroska stream: an EBML
// header, a Segment of unknown size (the stream's length is not known when
// it starts), one Info, one video track of uncompressed BGR (V_UNCOMPRESSED
// with the FourCC "BGR" 24 in ColourSpace, which FFmpeg's demuxer maps to
// its bgr24 raw format), and then one Cluster per frame holding a single
// SimpleBlock. A Cluster per frame keeps every timestamp absolute (the
// Block's own 16-bit relative timestamp stays 0), so no frame interval,
// however long, can overflow it.

// Matroska element IDs (with their length-marker bits, as written).
const (
	idEBML               = 0x1A45DFA3
	idEBMLVersion        = 0x4286
	idEBMLReadVersion    = 0x42F7
	idEBMLMaxIDLength    = 0x42F2
	idEBMLMaxSizeLength  = 0x42F3
	idDocType            = 0x4282
	idDocTypeVersion     = 0x4287
	idDocTypeReadVersion = 0x4285
	idSegment            = 0x18538067
	idInfo               = 0x1549A966
	idTimestampScale     = 0x2AD7B1
	idMuxingApp          = 0x4D80
	idWritingApp         = 0x5741
	idTracks             = 0x1654AE6B
	idTrackEntry         = 0xAE
	idTrackNumber        = 0xD7
	idTrackUID           = 0x73C5
	idTrackType          = 0x83
	idFlagLacing         = 0x9C
	idCodecID            = 0x86
	idDefaultDuration    = 0x23E383
	idVideo              = 0xE0
	idPixelWidth         = 0xB0
	idPixelHeight        = 0xBA
	idColourSpace        = 0x2EB524
	idCluster            = 0x1F43B675
	idTimestamp          = 0xE7
	idSimpleBlock        = 0xA3
)

// streamTick is the stream's TimestampScale: one microsecond. It is far
// finer than any output timescale used (1 ms in Matroska, 1/90000 s or
// 1/Rate in MP4), so the one rounding to it never moves a frame to another
// output tick (see frameTick), and 2^63 µs leave no risk of overflow.
const streamTick = time.Microsecond

// unknownSize is the reserved all-ones 8-byte size: "until the stream ends".
var unknownSize = []byte{0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}

// ebml builds elements into a byte slice.
type ebml []byte

func (b ebml) id(id uint32) ebml {
	switch {
	case id >= 1<<24:
		return append(b, byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
	case id >= 1<<16:
		return append(b, byte(id>>16), byte(id>>8), byte(id))
	case id >= 1<<8:
		return append(b, byte(id>>8), byte(id))
	}
	return append(b, byte(id))
}

// size appends n as an EBML variable-length integer of the fewest bytes
// (never the all-ones pattern, which means "unknown").
func (b ebml) size(n uint64) ebml {
	l := 1
	for l < 8 && n >= 1<<(7*l)-1 {
		l++
	}
	v := n | 1<<(7*l)
	for i := l - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

func (b ebml) uint(id uint32, v uint64) ebml {
	l := 1
	for l < 8 && v >= 1<<(8*l) {
		l++
	}
	b = b.id(id).size(uint64(l))
	for i := l - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

func (b ebml) bytes(id uint32, v []byte) ebml {
	return append(b.id(id).size(uint64(len(v))), v...)
}

func (b ebml) master(id uint32, body ebml) ebml {
	return b.bytes(id, body)
}

// streamHeader returns everything before the first Cluster for a
// width x height track of BGR pictures, or of I420 ones (planar YUV 4:2:0,
// FFmpeg's yuv420p) when i420 is set. defaultDuration (nanoseconds, 0 for none) tells
// the demuxer the nominal frame interval of a constant-rate stream.
func streamHeader(width, height int, i420 bool, defaultDuration uint64) []byte {
	var hdr ebml
	hdr = hdr.master(idEBML, ebml(nil).
		uint(idEBMLVersion, 1).
		uint(idEBMLReadVersion, 1).
		uint(idEBMLMaxIDLength, 4).
		uint(idEBMLMaxSizeLength, 8).
		bytes(idDocType, []byte("matroska")).
		uint(idDocTypeVersion, 4).
		uint(idDocTypeReadVersion, 2))
	hdr = hdr.id(idSegment)
	hdr = append(hdr, unknownSize...)
	hdr = hdr.master(idInfo, ebml(nil).
		uint(idTimestampScale, uint64(streamTick/time.Nanosecond)).
		bytes(idMuxingApp, []byte("facemirror")).
		bytes(idWritingApp, []byte("facemirror")))
	fourCC := []byte{'B', 'G', 'R', 24}
	if i420 {
		fourCC = []byte("I420")
	}
	video := ebml(nil).
		uint(idPixelWidth, uint64(width)).
		uint(idPixelHeight, uint64(height)).
		bytes(idColourSpace, fourCC)
	track := ebml(nil).
		uint(idTrackNumber, 1).
		uint(idTrackUID, 1).
		uint(idTrackType, 1).
		uint(idFlagLacing, 0).
		bytes(idCodecID, []byte("V_UNCOMPRESSED"))
	if defaultDuration > 0 {
		track = track.uint(idDefaultDuration, defaultDuration)
	}
	track = track.master(idVideo, video)
	hdr = hdr.master(idTracks, ebml(nil).master(idTrackEntry, track))
	return hdr
}

// frameHeader appends to dst the bytes that precede a frame's payload of
// n bytes: a Cluster at tick (in streamTick units) whose only child is a
// SimpleBlock holding the payload, which the caller writes right after.
func frameHeader(dst []byte, tick uint64, n int) []byte {
	// SimpleBlock body: track number 1 as a 1-byte vint, relative
	// timestamp 0 (int16), flags 0x80 (keyframe: every raw frame is one).
	blockHead := [4]byte{0x81, 0, 0, 0x80}
	blockLen := uint64(len(blockHead) + n)
	ts := ebml(nil).uint(idTimestamp, tick)
	block := ebml(nil).id(idSimpleBlock).size(blockLen)
	clusterLen := uint64(len(ts)+len(block)) + blockLen
	b := ebml(dst).id(idCluster).size(clusterLen)
	b = append(b, ts...)
	b = append(b, block...)
	return append(b, blockHead[:]...)
}
