package mainwindow

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"facemirror/ui/backend"
	"facemirror/ui/videolist"
)

func TestEmptyWindow(t *testing.T) {
	h := newHarness(t, newFake(), Config{})
	content := h.win.Canvas().Content()
	all := texts(content)
	for _, want := range []string{AddVideosLabel, ClearLabel, EmptyHint} {
		if !contains(all, want) {
			t.Errorf("empty window lacks %q; texts: %q", want, all)
		}
	}
	if !containsPart(all, "Videos and images: mp4, mov, avi, mkv") {
		t.Errorf("empty window does not list the accepted kinds; texts: %q", all)
	}
	if !button(content, ClearLabel).Disabled() {
		t.Error("Clear is enabled with an empty list")
	}
	if !button(content, AddVideosLabel).Disabled() {
		t.Error("Add videos… is enabled without a file picker")
	}
	if len(h.rows()) != 0 {
		t.Errorf("%d rows in an empty window", len(h.rows()))
	}
}

func TestMenus(t *testing.T) {
	h := newHarness(t, newFake(), Config{PickFiles: func() ([]string, error) { return nil, nil }})
	m := h.win.MainMenu()
	if m == nil {
		t.Fatal("no main menu")
	}
	var got [][]string
	for _, menu := range m.Items {
		items := []string{menu.Label}
		for _, it := range menu.Items {
			switch {
			case it.IsSeparator:
				items = append(items, "---")
			case it.IsQuit:
				items = append(items, it.Label+" (quit)")
			default:
				items = append(items, it.Label)
			}
		}
		got = append(got, items)
	}
	want := [][]string{{"File", AddVideosLabel, AddFolderLabel, "---", StartLabel, CancelLabel, "---", ExportAUsLabel, ExportSummaryLabel, OpenOutLabel, "---", "Quit (quit)"}, {"Help", AboutLabel}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("menus = %q, want %q", got, want)
	}
	if m.Items[0].Items[0].Disabled {
		t.Error("Add videos… is disabled although a picker is configured")
	}
}

func TestAddShowsProgressThenFacts(t *testing.T) {
	fake := newFake()
	v01 := goodFile()
	v01.probeGate, v01.frameGate = make(chan struct{}), make(chan struct{})
	fake.files["v01.mp4"] = v01
	h := newHarness(t, fake, Config{})
	path := filepath.Join(t.TempDir(), "v01.mp4")

	h.w.Add(path)
	content := h.win.Canvas().Content()
	if contains(texts(content), EmptyHint) {
		t.Error("the empty hint is still shown after adding a file")
	}
	h.pump.until(t, "the probe has started", func() bool { return fake.callCount("probe v01.mp4") == 1 })
	got := h.rowTexts("v01.mp4")
	if want := []string{"v01.mp4", filepath.Dir(path), "probing…", RemoveLabel}; !reflect.DeepEqual(got, want) {
		t.Errorf("probing row = %q, want %q", got, want)
	}
	if !contains(texts(content), "1 video · 1 in progress") {
		t.Errorf("count while probing: %q", texts(content))
	}

	close(v01.probeGate)
	h.pump.until(t, "the row shows the facts", func() bool { return contains(h.rowTexts("v01.mp4"), v01Facts) })
	if got := h.rowTexts("v01.mp4"); !contains(got, "finding face…") {
		t.Errorf("row after probing = %q, want a finding face… state", got)
	}

	close(v01.frameGate)
	const found = "face found in the first frame · confidence 0.97"
	h.pump.until(t, "the face is reported", func() bool { return contains(h.rowTexts("v01.mp4"), found) })
	got = h.rowTexts("v01.mp4")
	if want := []string{"v01.mp4", filepath.Dir(path), v01Facts, found, RemoveLabel}; !reflect.DeepEqual(got, want) {
		t.Errorf("ready row = %q, want %q", got, want)
	}
	r := h.row("v01.mp4")
	if l := label(r, found); l.Importance != widget.SuccessImportance {
		t.Errorf("face line importance = %v, want success", l.Importance)
	}
	img := thumbImage(r)
	if img == nil {
		t.Fatal("ready row shows no thumbnail")
	}
	// 480x360 shrinks to 320x240; the face box's left edge x=120 lands at 80.
	if b := img.Bounds(); b != (image320x240) {
		t.Errorf("thumbnail bounds %v, want %v", b, image320x240)
	}
	if c := img.At(80, 100); !isColor(c, faceGreen) {
		t.Errorf("thumbnail pixel on the face box edge = %v, want the box colour", c)
	}
	if c := img.At(120, 100); !isColor(c, grey) {
		t.Errorf("thumbnail pixel inside the face = %v, want the frame's grey", c)
	}
	if !contains(texts(content), "1 video") {
		t.Errorf("count when ready: %q", texts(content))
	}
}

func TestDuplicatesAreNotAddedTwice(t *testing.T) {
	fake := newFake()
	fake.files["a.mp4"], fake.files["b.mov"] = goodFile(), goodFile()
	h := newHarness(t, fake, Config{})
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.mp4"), filepath.Join(dir, "b.mov")

	h.w.Add(a, b, a)
	h.pump.until(t, "both are ready", func() bool { return h.w.list.Count(videolist.Ready) == 2 })
	t.Chdir(dir)
	h.w.Add("a.mp4")
	h.pump.drain()

	var names []string
	for _, r := range h.rows() {
		names = append(names, texts(r)[0])
	}
	if want := []string{"a.mp4", "b.mov"}; !reflect.DeepEqual(names, want) {
		t.Errorf("rows = %q, want %q", names, want)
	}
	if n := fake.callCount("probe a.mp4"); n != 1 {
		t.Errorf("a.mp4 probed %d times, want once", n)
	}
	notice := "Already in the list, not added again: a.mp4"
	l := label(h.win.Canvas().Content(), notice)
	if l == nil {
		t.Fatalf("no notice %q; texts: %q", notice, texts(h.win.Canvas().Content()))
	}
	if l.Importance == widget.DangerImportance {
		t.Error("a duplicate is reported as an error")
	}
	test.Tap(button(h.w.noticeBar, ""))
	if label(h.win.Canvas().Content(), notice) != nil {
		t.Error("the notice stays after dismissing it")
	}
	// The next Add with nothing to report replaces the notice.
	h.w.Add(a)
	if label(h.win.Canvas().Content(), notice) == nil {
		t.Fatal("no notice for the second duplicate")
	}
	h.w.Add(filepath.Join(dir, "c.mp4"))
	if label(h.win.Canvas().Content(), notice) != nil {
		t.Error("an old notice stays after a clean Add")
	}
}

func TestDropAddsFilesAndFolders(t *testing.T) {
	fake := newFake()
	for _, n := range []string{"v01.mp4", "visit1.mov", "visit2.MP4"} {
		fake.files[n] = goodFile()
	}
	h := newHarness(t, fake, Config{})
	dir := t.TempDir()
	folder := filepath.Join(dir, "patient 7")
	if err := os.MkdirAll(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"visit1.mov", "visit2.MP4", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(folder, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	web, err := storage.ParseURI("https://example.org/clip.mp4")
	if err != nil {
		t.Fatal(err)
	}

	h.win.drop(storage.NewFileURI(filepath.Join(dir, "v01.mp4")), storage.NewFileURI(folder), web)
	h.pump.until(t, "all are ready", func() bool { return h.w.list.Count(videolist.Ready) == 3 })

	var names []string
	for _, r := range h.rows() {
		names = append(names, texts(r)[0])
	}
	if want := []string{"v01.mp4", "visit1.mov", "visit2.MP4"}; !reflect.DeepEqual(names, want) {
		t.Errorf("rows after drop = %q, want %q", names, want)
	}
	notice := "Only local files can be added; not added: https://example.org/clip.mp4"
	if l := label(h.win.Canvas().Content(), notice); l == nil || l.Importance != widget.DangerImportance {
		t.Errorf("no red notice %q; texts: %q", notice, texts(h.win.Canvas().Content()))
	}
}

func TestRemoveCancelsAndRemovesRow(t *testing.T) {
	fake := newFake()
	slow := goodFile()
	slow.probeGate = make(chan struct{})
	fake.files["slow.mp4"], fake.files["fast.mp4"] = slow, goodFile()
	h := newHarness(t, fake, Config{})
	dir := t.TempDir()
	h.w.Add(filepath.Join(dir, "slow.mp4"), filepath.Join(dir, "fast.mp4"))
	h.pump.until(t, "slow.mp4 is being probed", func() bool { return fake.callCount("probe slow.mp4") == 1 })

	test.Tap(button(h.row("slow.mp4"), RemoveLabel))
	if h.row("slow.mp4") != nil {
		t.Fatal("the removed row is still shown")
	}
	h.pump.until(t, "the removed file's probe is cancelled and the other is ready", func() bool {
		return fake.wasCancelled("slow.mp4") && h.w.list.Count(videolist.Ready) == 1
	})
	if len(h.rows()) != 1 || !contains(texts(h.win.Canvas().Content()), "1 video") {
		t.Errorf("after removing: texts %q", texts(h.win.Canvas().Content()))
	}

	test.Tap(button(h.row("fast.mp4"), RemoveLabel))
	content := h.win.Canvas().Content()
	if !contains(texts(content), EmptyHint) || !button(content, ClearLabel).Disabled() {
		t.Errorf("after removing the last file the empty state is not back: %q", texts(content))
	}
}

func TestClearEmptiesTheList(t *testing.T) {
	fake := newFake()
	gate := make(chan struct{})
	for _, n := range []string{"a.mp4", "b.mp4", "c.mp4"} {
		f := goodFile()
		f.probeGate = gate
		fake.files[n] = f
	}
	h := newHarness(t, fake, Config{Parallel: 3})
	dir := t.TempDir()
	h.w.Add(filepath.Join(dir, "a.mp4"), filepath.Join(dir, "b.mp4"), filepath.Join(dir, "c.mp4"))
	h.pump.until(t, "all three are being probed", func() bool {
		return fake.callCount("probe a.mp4")+fake.callCount("probe b.mp4")+fake.callCount("probe c.mp4") == 3
	})

	content := h.win.Canvas().Content()
	test.Tap(button(content, ClearLabel))
	if len(h.rows()) != 0 || !contains(texts(content), EmptyHint) {
		t.Errorf("after Clear: %d rows, texts %q", len(h.rows()), texts(content))
	}
	h.pump.until(t, "all three probes are cancelled", func() bool {
		return fake.wasCancelled("a.mp4") && fake.wasCancelled("b.mp4") && fake.wasCancelled("c.mp4")
	})
	// A file cleared away can be added again.
	close(gate)
	h.w.Add(filepath.Join(dir, "a.mp4"))
	h.pump.until(t, "a.mp4 is ready again", func() bool { return contains(h.rowTexts("a.mp4"), v01Facts) })
}

func TestErrorRows(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "b03_random_bytes.mp4")
	fake := newFake()
	fake.files["b03_random_bytes.mp4"] = &fakeFile{probeErr: errors.New("probe " + bad + ": not a video: moov atom not found")}
	fake.files["b12_truncated.jpg"] = &fakeFile{probe: backend.Probe{Frames: 1, Width: 400, Height: 300},
		frameErr: errors.New("first frame of b12_truncated.jpg: JPEG ends early")}
	fake.files["crash.mp4"] = &fakeFile{panics: true}
	fake.files["noface.mp4"] = &fakeFile{probe: v01Probe, frame: grey480()}
	h := newHarness(t, fake, Config{})
	h.w.Add(bad, filepath.Join(dir, "b12_truncated.jpg"), filepath.Join(dir, "crash.mp4"), filepath.Join(dir, "noface.mp4"))
	h.pump.until(t, "all are done", func() bool { return h.w.list.Count(videolist.Ready)+h.w.list.Count(videolist.Failed) == 4 })

	for _, tc := range []struct {
		name, status string
		importance   widget.Importance
		facts        string
	}{
		// The row names the folder; the message names just the file.
		{"b03_random_bytes.mp4", "probe b03_random_bytes.mp4: not a video: moov atom not found", widget.DangerImportance, ""},
		{"b12_truncated.jpg", "first frame of b12_truncated.jpg: JPEG ends early", widget.DangerImportance, "still image · 400×300 · rotation 0°"},
		{"crash.mp4", "probe crash.mp4: internal error: decoder exploded", widget.DangerImportance, ""},
		{"noface.mp4", "no face found in the first frame", widget.WarningImportance, v01Facts},
	} {
		r := h.row(tc.name)
		if r == nil {
			t.Errorf("no row for %s", tc.name)
			continue
		}
		got := texts(r)
		want := []string{tc.name, dir}
		if tc.facts != "" {
			want = append(want, tc.facts)
		}
		want = append(want, tc.status, RemoveLabel)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("row %s = %q, want %q", tc.name, got, want)
			continue
		}
		if l := label(r, tc.status); l.Importance != tc.importance {
			t.Errorf("row %s: status importance %v, want %v", tc.name, l.Importance, tc.importance)
		}
	}
	if img := thumbImage(h.row("noface.mp4")); img == nil || !isColor(img.At(80, 100), grey) {
		t.Error("the no-face row does not show its plain first frame")
	}
	if img := thumbImage(h.row("b03_random_bytes.mp4")); img != nil {
		t.Error("a failed row shows a thumbnail")
	}
	if !contains(texts(h.win.Canvas().Content()), "4 videos · 3 failed") {
		t.Errorf("count: %q", texts(h.win.Canvas().Content()))
	}
}

func TestParallelLimit(t *testing.T) {
	fake := newFake()
	gate := make(chan struct{})
	for _, n := range []string{"a.mp4", "b.mp4", "c.mp4"} {
		f := goodFile()
		f.probeGate = gate
		fake.files[n] = f
	}
	h := newHarness(t, fake, Config{Parallel: 1})
	dir := t.TempDir()
	h.w.Add(filepath.Join(dir, "a.mp4"), filepath.Join(dir, "b.mp4"), filepath.Join(dir, "c.mp4"))
	h.pump.until(t, "one probe has started", func() bool { return len(fake.callList()) >= 1 })
	close(gate)
	h.pump.until(t, "all are ready", func() bool { return h.w.list.Count(videolist.Ready) == 3 })
	if n := fake.maxRunning(); n != 1 {
		t.Errorf("%d backend calls ran at once, want at most 1", n)
	}
}

func TestAbout(t *testing.T) {
	fake := newFake()
	fake.about = []backend.Fact{
		{Name: "FaceMirror", Value: "0.1.0"},
		{Name: "Go", Value: "go1.26.8 linux/amd64"},
		{Name: "OpenCV", Value: "4.6.0"},
		{Name: "ONNX Runtime", Value: "1.24.3 (providers: CPU)"},
		{Name: "Models", Value: "14 files, all SHA-256 verified"},
	}
	h := newHarness(t, fake, Config{})
	aboutItem(t, h).Action()
	overlay := h.win.Canvas().Overlays().Top()
	if overlay == nil {
		t.Fatal("About opened no dialog")
	}
	if got := texts(overlay); !contains(got, "Gathering version facts…") || !contains(got, Tagline) || !contains(got, AboutLabel) {
		t.Errorf("About while gathering = %q", got)
	}
	h.pump.until(t, "the facts are shown", func() bool { return contains(texts(overlay), "1.24.3 (providers: CPU)") })
	got := texts(overlay)
	for _, f := range fake.about {
		if !contains(got, f.Name) || !contains(got, f.Value) {
			t.Errorf("About lacks %s = %s; texts %q", f.Name, f.Value, got)
		}
	}
	if contains(got, "Gathering version facts…") {
		t.Error("the progress line stays after the facts arrived")
	}
	test.Tap(button(overlay, "Close"))
	if h.win.Canvas().Overlays().Top() != nil {
		t.Error("Close left the About box open")
	}
}

func TestAboutError(t *testing.T) {
	fake := newFake()
	fake.aboutErr = errors.New("version facts: helper process: exit status 2")
	h := newHarness(t, fake, Config{})
	aboutItem(t, h).Action()
	overlay := h.win.Canvas().Overlays().Top()
	h.pump.until(t, "the error is shown", func() bool { return label(overlay, fake.aboutErr.Error()) != nil })
	if l := label(overlay, fake.aboutErr.Error()); l.Importance != widget.DangerImportance {
		t.Errorf("About error importance %v, want danger", l.Importance)
	}
}

func aboutItem(t *testing.T, h *harness) *fyne.MenuItem {
	t.Helper()
	for _, m := range h.win.MainMenu().Items {
		for _, it := range m.Items {
			if it.Label == AboutLabel {
				return it
			}
		}
	}
	t.Fatal("no About menu item")
	return nil
}

func TestAddVideosDialog(t *testing.T) {
	dir := t.TempDir()
	chosen := filepath.Join(dir, "v01.mp4")
	release := make(chan struct{})
	answers := make(chan func() ([]string, error), 4)
	picker := func() ([]string, error) {
		<-release
		return (<-answers)()
	}
	fake := newFake()
	fake.files["v01.mp4"] = goodFile()
	h := newHarness(t, fake, Config{PickFiles: picker})
	content := h.win.Canvas().Content()
	add := button(content, AddVideosLabel)
	addItem := h.win.MainMenu().Items[0].Items[0]

	// Only one dialog at a time: Add videos… is disabled while it is open.
	answers <- func() ([]string, error) { return []string{chosen}, nil }
	test.Tap(add)
	if !add.Disabled() || !addItem.Disabled {
		t.Error("Add videos… stays enabled while the dialog is open")
	}
	close(release)
	h.pump.until(t, "the chosen file is ready", func() bool { return contains(h.rowTexts("v01.mp4"), v01Facts) })
	if add.Disabled() || addItem.Disabled {
		t.Error("Add videos… stays disabled after the dialog closed")
	}

	for _, tc := range []struct {
		name   string
		answer func() ([]string, error)
		notice string
	}{
		{"cancelled", func() ([]string, error) { return nil, nil }, ""},
		{"failed", func() ([]string, error) { return nil, errors.New("GTK: no file chooser") },
			"open file dialog: GTK: no file chooser"},
		{"panicked", func() ([]string, error) { panic("gtk initialisation failed; presumably no X server is available") },
			"open file dialog: gtk initialisation failed; presumably no X server is available"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.w.setNotice("", widget.MediumImportance)
			answers <- tc.answer
			addItem.Action()
			h.pump.until(t, "the dialog has closed", func() bool { return !add.Disabled() })
			if len(h.rows()) != 1 {
				t.Errorf("%d rows, want the one from before", len(h.rows()))
			}
			if tc.notice == "" {
				if h.w.noticeBar.Visible() {
					t.Errorf("notice %q after a cancelled dialog", h.w.notice.Text)
				}
				return
			}
			if l := label(content, tc.notice); l == nil || l.Importance != widget.DangerImportance {
				t.Errorf("no red notice %q; texts %q", tc.notice, texts(content))
			}
		})
	}
}

func TestCloseStopsWork(t *testing.T) {
	fake := newFake()
	f := goodFile()
	f.probeGate = make(chan struct{})
	fake.files["a.mp4"] = f
	h := newHarness(t, fake, Config{})
	h.w.Add(filepath.Join(t.TempDir(), "a.mp4"))
	h.pump.until(t, "the probe has started", func() bool { return fake.callCount("probe a.mp4") == 1 })
	h.w.Close() // returns only once the probe has ended
	if !fake.wasCancelled("a.mp4") {
		t.Error("Close did not cancel the running probe")
	}
	h.pump.drain()
	if got := h.rowTexts("a.mp4"); !contains(got, "probing…") {
		t.Errorf("row changed after Close: %q", got)
	}
	if strings.Contains(strings.Join(fake.callList(), " "), "thumbnail") {
		t.Error("work went on after Close")
	}
}

// Every menu command has a keyboard shortcut.
func TestMenuShortcuts(t *testing.T) {
	h := newHarness(t, newFake(), Config{PickFiles: func() ([]string, error) { return nil, nil }})
	for _, menu := range h.win.MainMenu().Items {
		for _, it := range menu.Items {
			if it.IsSeparator || it.IsQuit {
				continue // Fyne's driver gives Quit its platform's shortcut
			}
			if it.Shortcut == nil {
				t.Errorf("%s ▸ %s has no shortcut", menu.Label, it.Label)
			}
		}
	}
}
