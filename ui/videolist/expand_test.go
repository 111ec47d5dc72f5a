package videolist

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestIsMedia(t *testing.T) {
	for name, want := range map[string]bool{
		"a.mp4": true, "IMG_0001.MOV": true, "x.Mkv": true, "scan.TIFF": true, "s.jpeg": true,
		"notes.txt": false, "mp4": false, "archive.mp4.gz": false, "": false,
	} {
		if got := IsMedia(name); got != want {
			t.Errorf("IsMedia(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestExtensionsIsACopy(t *testing.T) {
	e := Extensions()
	e[0] = "exe"
	if Extensions()[0] != "mp4" {
		t.Error("changing the slice Extensions returned changed the package's list")
	}
}

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		"patient/a.mp4", "patient/B.MOV", "patient/notes.txt", "patient/._a.mp4", "patient/.hidden.mp4",
		"patient/visit2/c.jpg", "patient/.cache/d.mp4", "empty/readme.md", "loose.bin",
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	at := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }

	got, problems := Expand([]string{at("patient"), at("loose.bin"), at("missing.mp4"), at("empty")})
	want := []string{at("patient/B.MOV"), at("patient/a.mp4"), at("patient/visit2/c.jpg"), at("loose.bin"), at("missing.mp4")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("files =\n%q\nwant\n%q", got, want)
	}
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), "folder "+at("empty")+" holds no videos or images") {
		t.Errorf("problems = %v, want one saying %s holds no videos", problems, at("empty"))
	}
}

func TestExpandListsDanglingLink(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "v.mp4")
	if err := os.Symlink(filepath.Join(dir, "gone"), link); err != nil {
		t.Fatal(err)
	}
	// Listed like any file: probing it will report that it does not exist.
	got, problems := Expand([]string{dir})
	if want := []string{link}; !reflect.DeepEqual(got, want) || len(problems) != 0 {
		t.Errorf("Expand = %q, %v; want %q and no problems", got, problems, want)
	}
}

func TestExpandReportsUnreadableFolder(t *testing.T) {
	if os.Geteuid() == 0 {
		// Root reads a folder whatever its permissions.
		runAsNobody(t, "TestExpandReportsUnreadableFolder")
		return
	}
	dir := t.TempDir()
	locked := filepath.Join(dir, "locked")
	if err := os.Mkdir(locked, 0o000); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(locked, 0o755) })
	_, problems := Expand([]string{dir})
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), "read folder "+locked) {
		t.Errorf("problems = %v, want one naming %s", problems, locked)
	}
}
