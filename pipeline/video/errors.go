package video

import (
	"errors"
	"path/filepath"
)

// Sentinel errors for the kinds of unusable input. Every error returned by
// Probe, ProbeHeader, Open and Seek for a bad file is an *Error that wraps
// one of these (or a file-system error such as os.ErrNotExist), so callers
// test them with errors.Is. The texts are meant for clinicians: the file's
// name followed by what is wrong with it.
var (
	// ErrEmpty means the file has no bytes at all.
	ErrEmpty = errors.New("the file is empty (0 bytes)")
	// ErrNotFile means the path is a folder, device or other non-file.
	ErrNotFile = errors.New("is a folder or device, not a video or image file")
	// ErrNotMedia means the content is neither a video nor an image
	// (random bytes, a text file renamed to .mov or .png, ...).
	ErrNotMedia = errors.New("not a video or image file")
	// ErrTruncated means the file stops early: a video whose index (the
	// MP4/MOV "moov" atom) is missing because the copy or recording was cut
	// off, or an image whose data ends before its end marker.
	ErrTruncated = errors.New("the file is incomplete: it was cut off before its end")
	// ErrNoVideoStream means a media file that holds sound but no pictures.
	ErrNoVideoStream = errors.New("contains audio but no video")
	// ErrCorruptImage means an image file (by its signature) that the image
	// decoder rejects.
	ErrCorruptImage = errors.New("the image is damaged and cannot be decoded")
	// ErrUnreadable means a recognised video container that FFmpeg cannot
	// open, e.g. an unsupported codec or damaged headers.
	ErrUnreadable = errors.New("the video cannot be decoded: damaged or unsupported format")
	// ErrNoFrames means the video opens but not a single frame decodes.
	ErrNoFrames = errors.New("the video has no decodable frames")
	// ErrFrameRange means a Seek to a frame index the video does not have.
	ErrFrameRange = errors.New("frame index is outside the video")
)

// Error describes why a file cannot be used. Error() reads
// "<file name>: <problem>" or "<file name>: <problem> (<detail>)".
type Error struct {
	// Path is the path as the caller gave it; only its base name is shown.
	Path string
	// Err is one of the sentinel errors above or a file-system error.
	Err error
	// Detail is optional technical detail (e.g. "moov atom not found").
	Detail string
}

func (e *Error) Error() string {
	s := filepath.Base(e.Path) + ": " + e.Err.Error()
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// Unwrap returns the sentinel or file-system error.
func (e *Error) Unwrap() error { return e.Err }

func fileError(path string, kind error, detail string) error {
	return &Error{Path: path, Err: kind, Detail: detail}
}
