package videolist

import (
	"errors"
	"image"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"facemirror/ui/backend"
)

func TestAddSkipsDuplicates(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.mp4")
	b := filepath.Join(dir, "b.mov")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "link.mp4")
	if err := os.Symlink(a, link); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)

	var l List
	got := l.Add(a, b, a)
	if len(got.New) != 2 || got.New[0].Path != a || got.New[1].Path != b {
		t.Fatalf("first Add: New = %+v, want a then b", got.New)
	}
	if got.New[0].Status != Probing || got.New[0].ID == got.New[1].ID {
		t.Errorf("new entries: %+v, want state Probing and distinct IDs", got.New)
	}
	if !reflect.DeepEqual(got.Duplicates, []string{a}) {
		t.Errorf("first Add: Duplicates = %q, want [%q]", got.Duplicates, a)
	}

	// The same files again: relative, with redundant elements, through a
	// symbolic link, and a file that does not exist (kept: the prober
	// reports it).
	missing := filepath.Join(dir, "missing.mp4")
	got = l.Add("a.mp4", "./sub/../b.mov", link, missing)
	if len(got.New) != 1 || got.New[0].Path != missing {
		t.Errorf("second Add: New = %+v, want only %s", got.New, missing)
	}
	if want := []string{a, b, link}; !reflect.DeepEqual(got.Duplicates, want) {
		t.Errorf("second Add: Duplicates = %q, want %q", got.Duplicates, want)
	}
	if l.Len() != 3 {
		t.Errorf("Len = %d, want 3", l.Len())
	}
}

func TestRemoveAndReadd(t *testing.T) {
	var l List
	first := l.Add("/v/a.mp4", "/v/b.mp4").New
	if !l.Remove(first[0].ID) {
		t.Fatal("Remove of a listed entry reported false")
	}
	if l.Remove(first[0].ID) {
		t.Error("second Remove of the same entry reported true")
	}
	again := l.Add("/v/a.mp4").New
	if len(again) != 1 {
		t.Fatalf("re-adding a removed file: New = %+v", again)
	}
	if again[0].ID == first[0].ID {
		t.Errorf("re-added entry reuses ID %d", again[0].ID)
	}
	// A late report about the removed entry must not touch the new one.
	if l.Probed(first[0].ID, backend.Probe{Frames: 9}, nil) {
		t.Error("Probed accepted a report about a removed entry")
	}
	e, _ := l.Entry(again[0].ID)
	if e.Status != Probing || e.Probe != nil {
		t.Errorf("re-added entry changed by a stale report: %+v", e)
	}
	var paths []string
	for _, e := range l.Entries() {
		paths = append(paths, e.Path)
	}
	if want := []string{"/v/b.mp4", "/v/a.mp4"}; !reflect.DeepEqual(paths, want) {
		t.Errorf("order after remove and re-add = %q, want %q", paths, want)
	}
}

func TestClear(t *testing.T) {
	var l List
	added := l.Add("/v/a.mp4", "/v/b.mp4").New
	ids := l.Clear()
	if want := []ID{added[0].ID, added[1].ID}; !reflect.DeepEqual(ids, want) {
		t.Errorf("Clear returned %v, want %v", ids, want)
	}
	if l.Len() != 0 {
		t.Errorf("Len after Clear = %d", l.Len())
	}
	if n := len(l.Add("/v/a.mp4").New); n != 1 {
		t.Errorf("adding a cleared file again added %d entries, want 1", n)
	}
}

func TestTransitions(t *testing.T) {
	thumb := image.NewRGBA(image.Rect(0, 0, 4, 3))
	face := &backend.FaceBox{X: 1, Y: 1, Width: 2, Height: 1, Confidence: 0.9}
	probe := backend.Probe{Frames: 300, FPS: 30, Width: 480, Height: 360}
	errProbe := errors.New("probe x: moov atom not found")
	errFrame := errors.New("first frame of x: decode failed")

	tests := []struct {
		name   string
		steps  func(l *List, id ID) []bool
		want   []bool
		status Status
		err    error
		face   *backend.FaceBox
	}{
		{
			name: "probe then face",
			steps: func(l *List, id ID) []bool {
				return []bool{l.Probed(id, probe, nil), l.FaceSearched(id, thumb, face, nil)}
			},
			want: []bool{true, true}, status: Ready, face: face,
		},
		{
			name: "probe then no face",
			steps: func(l *List, id ID) []bool {
				return []bool{l.Probed(id, probe, nil), l.FaceSearched(id, thumb, nil, nil)}
			},
			want: []bool{true, true}, status: Ready,
		},
		{
			name: "probe fails",
			steps: func(l *List, id ID) []bool {
				return []bool{l.Probed(id, backend.Probe{}, errProbe), l.FaceSearched(id, thumb, face, nil)}
			},
			want: []bool{true, false}, status: Failed, err: errProbe,
		},
		{
			name: "frame fails",
			steps: func(l *List, id ID) []bool {
				return []bool{l.Probed(id, probe, nil), l.FaceSearched(id, nil, nil, errFrame)}
			},
			want: []bool{true, true}, status: Failed, err: errFrame,
		},
		{
			name: "face before probe is out of order",
			steps: func(l *List, id ID) []bool {
				return []bool{l.FaceSearched(id, thumb, face, nil)}
			},
			want: []bool{false}, status: Probing,
		},
		{
			name: "second probe report is ignored",
			steps: func(l *List, id ID) []bool {
				return []bool{l.Probed(id, probe, nil), l.Probed(id, backend.Probe{}, errProbe)}
			},
			want: []bool{true, false}, status: FindingFace,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var l List
			id := l.Add("/v/x.mp4").New[0].ID
			if got := tc.steps(&l, id); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("changed = %v, want %v", got, tc.want)
			}
			e, _ := l.Entry(id)
			if e.Status != tc.status || e.Err != tc.err || e.Face != tc.face {
				t.Errorf("entry = status %v err %v face %v, want %v %v %v", e.Status, e.Err, e.Face, tc.status, tc.err, tc.face)
			}
			if tc.status == Ready && e.Thumbnail != thumb {
				t.Error("ready entry lost its thumbnail")
			}
			if tc.status != Probing && tc.err != errProbe && (e.Probe == nil || *e.Probe != probe) {
				t.Errorf("probe facts = %v, want %v", e.Probe, probe)
			}
		})
	}
}

func TestCount(t *testing.T) {
	var l List
	ids := l.Add("/v/a.mp4", "/v/b.mp4", "/v/c.mp4").New
	l.Probed(ids[0].ID, backend.Probe{}, errors.New("bad"))
	l.Probed(ids[1].ID, backend.Probe{}, nil)
	for s, want := range map[Status]int{Probing: 1, FindingFace: 1, Failed: 1, Ready: 0} {
		if got := l.Count(s); got != want {
			t.Errorf("Count(%v) = %d, want %d", s, got, want)
		}
	}
}

func TestStatusString(t *testing.T) {
	for s, want := range map[Status]string{Probing: "probing…", FindingFace: "finding face…", Ready: "ready", Failed: "failed", 7: "Status(7)"} {
		if got := s.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(s), got, want)
		}
	}
}
