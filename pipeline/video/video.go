package video

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"gocv.io/x/gocv"
)

// Kind tells videos from still images.
type Kind int

const (
	// Video is a moving-picture file decoded by FFmpeg.
	Video Kind = iota + 1
	// Image is a still picture (JPEG, PNG, ...), treated as a one-frame video.
	Image
)

func (k Kind) String() string {
	switch k {
	case Video:
		return "video"
	case Image:
		return "image"
	}
	return "unknown"
}

// Info describes an input file.
type Info struct {
	// Path is the path as given by the caller.
	Path string
	Kind Kind
	// Frames is the number of frames. From Probe it is exact: every frame was
	// decoded and counted (FramesExact). From ProbeHeader and Reader.Info it
	// is the container's count of presented samples (MP4/MOV, edit list
	// applied) or FFmpeg's estimate otherwise.
	Frames      int
	FramesExact bool
	// FPS is FFmpeg's average frame rate for the stream, exactly (e.g.
	// 30000/1001), recovered bit-exactly from OpenCV's CAP_PROP_FPS. For a
	// variable-frame-rate file it is only the average (e02: 519168/19667 ≈
	// 26.398); Timestamps hold the truth. Images have 0/1.
	FPS Rational
	// Duration is from the first frame's start to the last frame's end.
	// With a usable MP4/MOV sample table it is exact (the last frame's
	// time plus its sample duration); from Probe without one it is the last
	// timestamp plus the last frame interval (1/FPS for a one-frame video);
	// from ProbeHeader without one it is Frames/FPS. Zero for images.
	Duration time.Duration
	// Width and Height are the size of the frames Read returns: upright,
	// after rotation.
	Width, Height int
	// StoredWidth and StoredHeight are the size as encoded in the file.
	StoredWidth, StoredHeight int
	// Rotation is how many degrees counter-clockwise the stored picture is
	// turned to make it upright: 0, 90, 180 or 270. For videos it is
	// OpenCV's CAP_PROP_ORIENTATION_META (the display matrix); for images
	// it is the EXIF orientation, which the image decoder applies.
	Rotation int
	// Mirrored reports an image whose EXIF orientation also mirrors it
	// (orientations 2, 4, 5, 7); the decoder applies that too.
	Mirrored bool
	// Codec is the FourCC OpenCV reports (CAP_PROP_FOURCC: "avc1", "hvc1",
	// ...) for videos, the format name ("jpeg", "png", ...) for images.
	Codec string
	// Timestamps is the presentation time of each frame relative to the
	// first (so Timestamps[0] == 0), one per decoded frame; only Probe
	// fills it. TimestampSource says where they come from and Extrapolated
	// how many the decoder did not report (see TimestampSource).
	Timestamps      []time.Duration
	TimestampSource TimestampSource
	Extrapolated    int
	// Truncated reports an MP4/MOV file whose last box runs past the end of
	// the file: its index survived but it was cut off, so frames decode up
	// to the cut only.
	Truncated bool
	// Gaps are the stretches of frames that could not be decoded (Probe
	// only; see Gap): damaged data, and the frames a cut-off MP4/MOV file
	// lists beyond the last that decodes. Frames counts the frames up to
	// the last that decodes, lost ones included; Decodable those that
	// decode.
	Gaps []Gap
}

// Decodable is the number of frames that decode: Frames less those lost
// in gaps before the last.
func (i Info) Decodable() int {
	n := i.Frames
	for _, g := range i.Gaps {
		if !g.Tail {
			n -= g.Frames()
		}
	}
	return n
}

// Listed is the number of frames the file's container lists when that is
// known exactly (MP4/MOV sample tables): Frames plus a lost tail.
func (i Info) Listed() int {
	n := i.Frames
	for _, g := range i.Gaps {
		if g.Tail {
			n += g.Frames()
		}
	}
	return n
}

// OpenFaceTimestamp returns the timestamp OpenFace 2.2's FeatureExtraction
// writes for the 0-based frame: frame * (1/fps) in double precision, with
// fps = CAP_PROP_FPS (30 when that is not positive); OpenFace prints it
// with 3 decimals ("%.3f"). It is not the true time of a variable-rate or
// edit-listed video (e02 drifts up to 360 ms from its Timestamps, e03 up
// to 54 ms); use it only to reproduce OpenFace's "timestamp" column.
// Images give 0.
func (i Info) OpenFaceTimestamp(frame int) float64 {
	if i.Kind != Video {
		return 0
	}
	fps := i.FPS.Float()
	if !(fps > 0) {
		fps = 30
	}
	return float64(frame) * (1.0 / fps)
}

// Frame is one decoded picture.
type Frame struct {
	// Index is the 0-based position among the decoded frames.
	Index int
	// Time is the frame's presentation time relative to the first frame,
	// the same value as Info.Timestamps[Index] from Probe.
	Time time.Duration
	// Mat is the upright picture, 8-bit BGR (CV_8UC3). From Read it is a
	// new Mat that the caller owns and must Close; from ReadInto it is the
	// caller's own Mat. The Reader keeps no reference to it.
	Mat gocv.Mat
}

// Probe decodes the whole file once (without colour conversion) and
// returns its exact Info: the true frame count, every frame's timestamp,
// the upright size. Unusable files give an *Error wrapping one of the
// sentinel errors. Cancelling ctx stops the decoding between two frames.
func Probe(ctx context.Context, path string) (Info, error) {
	src, err := openSource(ctx, path)
	if err != nil {
		return Info{}, err
	}
	defer src.close()
	info := src.info
	if info.Kind == Image {
		return info, nil
	}
	tl := newTimeline(src)
	var ts []time.Duration
	decode := func() bool { return grab(src.capture) }
	pos := func() float64 { return src.capture.Get(gocv.VideoCapturePosMsec) }
	for {
		if err := ctx.Err(); err != nil {
			return Info{}, fmt.Errorf("probe %s: %w", filepath.Base(path), err)
		}
		i, t, ok, err := tl.advance(ctx, decode, pos)
		if err != nil {
			return Info{}, fmt.Errorf("probe %s: %w", filepath.Base(path), err)
		}
		if !ok {
			break
		}
		// Lost frames get times spread evenly over their gap, so that
		// Timestamps[i] stays frame i's.
		for from, k := len(ts), len(ts); k < i; k++ {
			prev := ts[from-1]
			ts = append(ts, prev+(t-prev)*time.Duration(k-from+1)/time.Duration(i-from+1))
		}
		ts = append(ts, t)
	}
	if len(ts) == 0 {
		return Info{}, src.noFramesError()
	}
	clock := tl.clock
	info.Frames = len(ts)
	info.FramesExact = true
	info.Timestamps = ts
	info.Gaps = tl.gaps
	info.TimestampSource = clock.source()
	info.Extrapolated = clock.extrapolated
	if info.TimestampSource == SampleTable && len(ts) == len(src.table) {
		info.Duration = src.tableEnd
	} else {
		last := clock.step
		if n := len(ts); n >= 2 {
			last = ts[n-1] - ts[n-2]
		}
		info.Duration = ts[len(ts)-1] + last
	}
	return info, nil
}

// ProbeHeader returns what is known without decoding the frames: kind,
// size, rotation, frame rate, codec, and the container's frame count
// (FramesExact false, Timestamps nil). It costs a few milliseconds and
// suits a file list; Probe gives the exact count and timestamps. Images
// are decoded, so their Info is exact.
func ProbeHeader(ctx context.Context, path string) (Info, error) {
	src, err := openSource(ctx, path)
	if err != nil {
		return Info{}, err
	}
	defer src.close()
	return src.info, nil
}
