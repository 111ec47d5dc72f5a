package video

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"time"

	"gocv.io/x/gocv"
)

// OpenCV property ids that gocv v0.31.0 has no names for.
const (
	propOrientationMeta gocv.VideoCaptureProperties = 48 // CAP_PROP_ORIENTATION_META
	propOrientationAuto gocv.VideoCaptureProperties = 49 // CAP_PROP_ORIENTATION_AUTO
)

// maxImageBytes bounds how much of an image file is read into memory for
// the structure check; larger files go to the decoder unchecked.
const maxImageBytes = 256 << 20

// init keeps FFmpeg's and OpenCV's log lines ("moov atom not found", backend
// warnings) off the user's terminal. Both libraries read these variables
// when their first capture is created, which is after package
// initialisation; a value the user has set (to debug) is left alone.
func init() {
	for k, v := range map[string]string{
		"OPENCV_FFMPEG_LOGLEVEL": "-8", // AV_LOG_QUIET
		"OPENCV_LOG_LEVEL":       "SILENT",
	} {
		if _, set := os.LookupEnv(k); !set {
			os.Setenv(k, v)
		}
	}
}

// source is an input opened for reading: a capture positioned before its
// first frame, or a decoded still image.
type source struct {
	path string
	info Info // what is known before decoding every frame

	// video
	capture  *gocv.VideoCapture
	table    []time.Duration // container presentation times, nil if unusable
	tableEnd time.Duration   // end of the last frame on the table's clock
	iso      *isoFile        // nil unless an ISO base media file
	head     []byte

	// image
	image    gocv.Mat
	hasImage bool
}

func (s *source) close() {
	if s.capture != nil {
		s.capture.Close()
		s.capture = nil
	}
	if s.hasImage {
		s.image.Close()
		s.hasImage = false
	}
}

// openSource checks the file, decides from its content whether it is an
// image or a video, and opens it.
func openSource(ctx context.Context, path string) (*source, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open %s: %w", filepath.Base(path), err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fileError(path, unwrapPathError(err), "")
	}
	if !st.Mode().IsRegular() {
		return nil, fileError(path, ErrNotFile, "")
	}
	if st.Size() == 0 {
		return nil, fileError(path, ErrEmpty, "")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(path, unwrapPathError(err), "")
	}
	defer f.Close()
	head := make([]byte, min(st.Size(), 4096))
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, fileError(path, unwrapPathError(err), "reading the first bytes")
	}
	if format := sniffImage(head); format != "" {
		return openImage(path, f, st.Size(), format)
	}
	return openVideo(path, f, st.Size(), head)
}

// unwrapPathError drops the *fs.PathError layer, whose text repeats the
// full path, keeping the errno (which still matches os.ErrNotExist etc.).
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func openImage(path string, f *os.File, size int64, format imageFormat) (*source, error) {
	var hdr imageHeader
	if (format == formatJPEG || format == formatPNG) && size <= maxImageBytes {
		b := make([]byte, size)
		if _, err := f.ReadAt(b, 0); err != nil && err != io.EOF {
			return nil, fileError(path, unwrapPathError(err), "")
		}
		if format == formatJPEG {
			hdr = parseJPEG(b)
		} else {
			hdr = parsePNG(b)
		}
		if hdr.parsed && !hdr.complete {
			// libjpeg would fill the missing part with grey and only warn;
			// a half-grey face must not reach the analysis.
			end := "end-of-image marker"
			if format == formatPNG {
				end = "IEND chunk"
			}
			return nil, fileError(path, ErrTruncated, fmt.Sprintf("%s data ends before its %s", format, end))
		}
	}
	img := gocv.IMRead(path, gocv.IMReadColor)
	if img.Empty() {
		img.Close()
		return nil, fileError(path, ErrCorruptImage, fmt.Sprintf("OpenCV could not decode this %s file", format))
	}
	w, h := img.Cols(), img.Rows()
	info := Info{
		Path: path, Kind: Image, Frames: 1, FramesExact: true, FPS: Rational{0, 1},
		Width: w, Height: h, StoredWidth: w, StoredHeight: h, Codec: string(format),
	}
	if hdr.width > 0 && hdr.height > 0 {
		rot, mirrored, swaps := exifTransform(hdr.orientation)
		sw, sh := hdr.width, hdr.height
		dw, dh := sw, sh
		if swaps {
			dw, dh = sh, sw
		}
		if dw == w && dh == h {
			info.StoredWidth, info.StoredHeight = sw, sh
			info.Rotation, info.Mirrored = rot, mirrored
		}
	}
	return &source{path: path, info: info, image: img, hasImage: true}, nil
}

// exifTransform turns an EXIF orientation into the counter-clockwise
// rotation (and mirroring) that makes the stored image upright, and whether
// it swaps width and height.
func exifTransform(o int) (rotation int, mirrored, swaps bool) {
	switch o {
	case 2:
		return 0, true, false
	case 3:
		return 180, false, false
	case 4:
		return 180, true, false
	case 5:
		return 90, true, true
	case 6:
		return 270, false, true
	case 7:
		return 270, true, true
	case 8:
		return 90, false, true
	}
	return 0, false, false
}

func openVideo(path string, f *os.File, size int64, head []byte) (*source, error) {
	iso, isISO, err := readISO(f, size)
	if err != nil {
		return nil, fileError(path, unwrapPathError(err), "reading the container")
	}
	if !isISO {
		iso = nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", filepath.Base(path), err)
	}
	// An absolute path keeps FFmpeg from taking "name:" in a relative path
	// for a protocol; only the FFmpeg backend is tried, so other backends
	// (GStreamer) neither guess at the file nor print their own errors.
	capture, err := gocv.VideoCaptureFileWithAPI(abs, gocv.VideoCaptureFFmpeg)
	if err != nil || !capture.IsOpened() {
		capture.Close()
		return nil, classifyOpenFailure(path, head, iso)
	}
	// OpenCV 4.6 with FFmpeg 5.1 turns phone videos the wrong way
	// (upside down), so frames are read as stored and turned here.
	capture.Set(propOrientationAuto, 0)
	sw, sh := int(capture.Get(gocv.VideoCaptureFrameWidth)), int(capture.Get(gocv.VideoCaptureFrameHeight))
	if sw <= 0 || sh <= 0 {
		capture.Close()
		return nil, classifyOpenFailure(path, head, iso)
	}
	rotation := normalizeRotation(capture.Get(propOrientationMeta))
	w, h := sw, sh
	if rotation == 90 || rotation == 270 {
		w, h = sh, sw
	}
	fps := rationalFromFPS(capture.Get(gocv.VideoCaptureFPS))
	info := Info{
		Path: path, Kind: Video, FPS: fps,
		Width: w, Height: h, StoredWidth: sw, StoredHeight: sh, Rotation: rotation,
		Codec: fourccString(capture.Get(gocv.VideoCaptureFOURCC)),
	}
	var table []time.Duration
	var tableEnd time.Duration
	if iso != nil {
		info.Truncated = iso.cutBox != ""
		if vt := iso.videoTrack(); vt != nil {
			if t, end, err := vt.presentationTimes(); err == nil {
				table, tableEnd = t, end
			}
		}
	}
	if table != nil {
		info.Frames = len(table)
	} else if n := capture.Get(gocv.VideoCaptureFrameCount); n > 0 && n < 1e9 {
		info.Frames = int(n)
	}
	switch {
	case table != nil:
		info.Duration = tableEnd
	case fps.Num > 0:
		info.Duration = time.Duration(math.Round(float64(info.Frames) * float64(time.Second) / fps.Float()))
	}
	return &source{path: path, info: info, capture: capture, table: table, tableEnd: tableEnd, iso: iso, head: head}, nil
}

func normalizeRotation(deg float64) int {
	r := int(deg) % 360
	if r < 0 {
		r += 360
	}
	switch r {
	case 90, 180, 270:
		return r
	}
	return 0
}

func fourccString(v float64) string {
	code := uint32(int64(v))
	if code == 0 {
		return ""
	}
	b := []byte{byte(code), byte(code >> 8), byte(code >> 16), byte(code >> 24)}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// classifyOpenFailure explains why FFmpeg refused the file, from the
// file's own bytes.
func classifyOpenFailure(path string, head []byte, iso *isoFile) error {
	if iso != nil {
		switch iso.brand {
		case "heic", "heix", "mif1", "msf1", "avif", "avis":
			return fileError(path, ErrUnreadable, "HEIC/AVIF pictures are not supported; export the picture as JPEG or PNG")
		}
		if !iso.hasMoov {
			switch iso.cutBox {
			case "moov":
				return fileError(path, ErrTruncated, "its index (moov atom) is cut off")
			case "":
				return fileError(path, ErrTruncated, "moov atom not found: the file has no index")
			default:
				return fileError(path, ErrTruncated, fmt.Sprintf("moov atom not found: the file has no index and its %q box is cut off", iso.cutBox))
			}
		}
		vt := iso.videoTrack()
		if vt == nil {
			if iso.hasHandler("soun") {
				return fileError(path, ErrNoVideoStream, "MP4/MOV file with only a sound track")
			}
			return fileError(path, ErrUnreadable, "MP4/MOV file without a video track")
		}
		return fileError(path, ErrUnreadable, fmt.Sprintf("FFmpeg cannot open its %q video track", vt.codec))
	}
	if sniffAudio(head) {
		return fileError(path, ErrNoVideoStream, "a sound file")
	}
	if c := sniffVideoContainer(head); c != "" {
		return fileError(path, ErrUnreadable, c+" file that FFmpeg cannot open")
	}
	return fileError(path, ErrNotMedia, "")
}

// noFramesError explains a video that opened but yielded no frame.
func (s *source) noFramesError() error {
	if s.iso != nil && s.iso.cutBox != "" {
		return fileError(s.path, ErrTruncated, fmt.Sprintf("no frame could be decoded before the cut in its %q box", s.iso.cutBox))
	}
	if s.iso != nil || sniffVideoContainer(s.head) != "" {
		return fileError(s.path, ErrNoFrames, "")
	}
	// FFmpeg guessed a format from bytes that are not media after all.
	return fileError(s.path, ErrNotMedia, "")
}

// grab decodes the next frame without converting it, reporting whether
// there was one. gocv v0.31.0's Grab returns nothing, but OpenCV advances
// CAP_PROP_POS_FRAMES exactly when a frame was decoded.
func grab(c *gocv.VideoCapture) bool {
	before := c.Get(gocv.VideoCapturePosFrames)
	c.Grab(1)
	return c.Get(gocv.VideoCapturePosFrames) != before
}
