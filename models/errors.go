package models

import (
	"errors"
	"fmt"
)

// RepairHint tells the user how to put a model folder right; every error
// about an installed file ends with it.
const RepairHint = "run `make models` or `facemirror models install` to repair it"

// Kinds of *FileError, for errors.Is.
var (
	// ErrUnknown: the name is not in the registry nor a generated file.
	ErrUnknown = errors.New("not a FaceMirror model file")
	// ErrMissing: the file is not in the model folder.
	ErrMissing = errors.New("missing")
	// ErrAltered: the installed file's hash is not the registered one.
	ErrAltered = errors.New("altered")
	// ErrStale: a generated file was made from other inputs or by another
	// converter version than this program's.
	ErrStale = errors.New("out of date")
	// ErrBadSource: what the mirror or the server delivered does not have
	// the registered hash, so it was not installed.
	ErrBadSource = errors.New("bad source")
)

// FileError reports a model file that cannot be used or installed.
type FileError struct {
	Name   string // registry name, e.g. "model/mtcnn_detector/PNet.dat"
	Path   string // where the content is or came from: a file path or a URL
	Want   string // the SHA-256 the file must have; empty if unknown
	Got    string // the SHA-256 it has; empty if it could not be read
	Detail string // for ErrStale: what differs
	Err    error  // one of the kinds above, or the underlying I/O error
}

func (e *FileError) Error() string {
	switch {
	case errors.Is(e.Err, ErrUnknown):
		return fmt.Sprintf("model file %s: %v", e.Name, e.Err)
	case errors.Is(e.Err, ErrMissing) && e.Want == "":
		return fmt.Sprintf("model file %s is missing (looked for %s); %s", e.Name, e.Path, RepairHint)
	case errors.Is(e.Err, ErrMissing):
		return fmt.Sprintf("model file %s is missing (looked for %s; expected SHA-256 %s); %s",
			e.Name, e.Path, e.Want, RepairHint)
	case errors.Is(e.Err, ErrAltered):
		return fmt.Sprintf("model file %s (%s) is altered: SHA-256 is %s, expected %s; %s",
			e.Name, e.Path, e.Got, e.Want, RepairHint)
	case errors.Is(e.Err, ErrStale):
		return fmt.Sprintf("model file %s (%s) is out of date: %s; %s", e.Name, e.Path, e.Detail, RepairHint)
	case errors.Is(e.Err, ErrBadSource):
		return fmt.Sprintf("model file %s from %s has SHA-256 %s, expected %s; not installed",
			e.Name, e.Path, e.Got, e.Want)
	}
	return fmt.Sprintf("model file %s (%s): %v; %s", e.Name, e.Path, e.Err, RepairHint)
}

func (e *FileError) Unwrap() error { return e.Err }
