package encode

import (
	"fmt"
	"strings"
)

// Codec selects the kind of file a Writer produces.
type Codec string

const (
	// H264 is H.264 (Constrained Baseline), yuv420p, in .mp4: plays in QuickTime,
	// Windows and browsers.
	H264 Codec = "h264"
	// FFV1 is FFV1 lossless in .mkv: the decoded BGR frames equal the
	// written ones bit for bit.
	FFV1 Codec = "ffv1"
)

// codecs lists the valid values in the order error messages name them.
var codecs = [...]Codec{H264, FFV1}

// ParseCodec turns a user's choice ("h264", "FFV1", " ffv1 ") into a Codec;
// an unknown name gives an error listing the valid values.
func ParseCodec(s string) (Codec, error) {
	c := Codec(strings.ToLower(strings.TrimSpace(s)))
	if c.valid() {
		return c, nil
	}
	names := make([]string, len(codecs))
	for i, c := range codecs {
		names[i] = string(c)
	}
	return "", fmt.Errorf("unknown video codec %q: use one of %s", s, strings.Join(names, ", "))
}

func (c Codec) valid() bool {
	for _, v := range codecs {
		if c == v {
			return true
		}
	}
	return false
}

// Ext returns the file extension of the codec's container, with its dot:
// ".mp4" for H264, ".mkv" for FFV1 (and "" for an invalid Codec).
func (c Codec) Ext() string {
	switch c {
	case H264:
		return ".mp4"
	case FFV1:
		return ".mkv"
	}
	return ""
}

// muxer is ffmpeg's name for the container, passed with -f so the
// temporary file's name never decides the format.
func (c Codec) muxer() string {
	if c == H264 {
		return "mp4"
	}
	return "matroska"
}
