// Package videolist holds the state of the window's list of videos: which
// files are in it, in what order, and how far each one has got (probing,
// finding the face, ready, failed).
//
// A List is plain data owned by the UI goroutine and is not safe for
// concurrent use. Background work reports back through the methods that take
// an entry's ID; a report about an entry that was removed in the meantime, or
// that arrives out of order, is ignored, so a slow prober can never overwrite
// a newer state.
package videolist

import (
	"fmt"
	"image"
	"path/filepath"

	"facemirror/ui/backend"
)

// Status is how far an entry has got.
type Status int

// The states of an entry, in the order they are passed through. An entry
// leaves Probing for FindingFace or Failed, and FindingFace for Ready or
// Failed.
const (
	Probing Status = iota
	FindingFace
	Ready
	Failed
)

// String returns the status as shown to the user.
func (s Status) String() string {
	switch s {
	case Probing:
		return "probing…"
	case FindingFace:
		return "finding face…"
	case Ready:
		return "ready"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Busy reports whether background work is still under way for the entry.
func (s Status) Busy() bool { return s == Probing || s == FindingFace }

// ID identifies an entry for as long as it is in the list. IDs are never
// reused within a List, so removing a file and adding it again gives it a
// new ID and stale reports about the old one are ignored.
type ID uint64

// Entry is one file in the list.
type Entry struct {
	ID ID
	// Path is the file's absolute, cleaned path.
	Path   string
	Status Status
	// Probe holds the file's facts; nil until probing succeeded.
	Probe *backend.Probe
	// Thumbnail is the first frame prepared for display (with the face box
	// drawn on it); nil until the face search finished.
	Thumbnail image.Image
	// Face is the face found in the first frame; nil when none was found
	// or the search has not finished.
	Face *backend.FaceBox
	// Err says why the entry failed; nil unless Status is Failed.
	Err error
}

// List is the ordered list of files. The zero value is an empty list ready
// to use.
type List struct {
	entries []Entry
	keys    map[string]ID // identity key (see identity) -> entry
	last    ID
}

// Added is the outcome of Add.
type Added struct {
	// New holds the entries that were appended, in the order given.
	New []Entry
	// Duplicates holds the paths that were already in the list (or given
	// twice) and so were not added again.
	Duplicates []string
	// Invalid holds paths that could not be made absolute.
	Invalid []error
}

// Add appends the files not yet in the list, each in state Probing. Two
// paths name the same file when they are equal after being made absolute
// and cleaned, or after symbolic links are resolved.
func (l *List) Add(paths ...string) Added {
	if l.keys == nil {
		l.keys = make(map[string]ID)
	}
	var out Added
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			out.Invalid = append(out.Invalid, fmt.Errorf("add %s: %w", p, err))
			continue
		}
		key := identity(abs)
		if _, dup := l.keys[key]; dup {
			out.Duplicates = append(out.Duplicates, abs)
			continue
		}
		l.last++
		e := Entry{ID: l.last, Path: abs, Status: Probing}
		l.keys[key] = e.ID
		l.entries = append(l.entries, e)
		out.New = append(out.New, e)
	}
	return out
}

// identity is the key under which duplicates are recognised: the path with
// symbolic links resolved when that is possible (the file may not exist, in
// which case the absolute path itself is used).
func identity(abs string) string {
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}

// Remove takes the entry out of the list and reports whether it was there.
func (l *List) Remove(id ID) bool {
	i := l.index(id)
	if i < 0 {
		return false
	}
	for k, v := range l.keys {
		if v == id {
			delete(l.keys, k)
			break
		}
	}
	l.entries = append(l.entries[:i], l.entries[i+1:]...)
	return true
}

// Clear empties the list and returns the IDs that were in it.
func (l *List) Clear() []ID {
	ids := make([]ID, len(l.entries))
	for i, e := range l.entries {
		ids[i] = e.ID
	}
	l.entries = nil
	l.keys = nil
	return ids
}

// Len returns the number of entries.
func (l *List) Len() int { return len(l.entries) }

// Entries returns a copy of the entries in list order.
func (l *List) Entries() []Entry { return append([]Entry(nil), l.entries...) }

// Entry returns the entry with the given ID.
func (l *List) Entry(id ID) (Entry, bool) {
	if i := l.index(id); i >= 0 {
		return l.entries[i], true
	}
	return Entry{}, false
}

// Count returns how many entries have the given status.
func (l *List) Count(s Status) int {
	n := 0
	for _, e := range l.entries {
		if e.Status == s {
			n++
		}
	}
	return n
}

// Probed records the outcome of probing: the entry moves on to FindingFace,
// or to Failed when err is non-nil. It reports whether the entry changed;
// false means the report was stale (entry removed or not probing).
func (l *List) Probed(id ID, p backend.Probe, err error) bool {
	i := l.index(id)
	if i < 0 || l.entries[i].Status != Probing {
		return false
	}
	e := &l.entries[i]
	if err != nil {
		e.Status, e.Err = Failed, err
		return true
	}
	e.Status, e.Probe = FindingFace, &p
	return true
}

// FaceSearched records the outcome of the first-frame face search: the
// entry becomes Ready with its thumbnail and face (nil when the frame has
// none), or Failed when err is non-nil. It reports whether the entry
// changed; false means the report was stale.
func (l *List) FaceSearched(id ID, thumbnail image.Image, face *backend.FaceBox, err error) bool {
	i := l.index(id)
	if i < 0 || l.entries[i].Status != FindingFace {
		return false
	}
	e := &l.entries[i]
	if err != nil {
		e.Status, e.Err = Failed, err
		return true
	}
	e.Status, e.Thumbnail, e.Face = Ready, thumbnail, face
	return true
}

func (l *List) index(id ID) int {
	for i := range l.entries {
		if l.entries[i].ID == id {
			return i
		}
	}
	return -1
}
