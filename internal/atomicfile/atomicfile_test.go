package atomicfile

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name    string
		old     string // "" : no file before
		fill    func(*bufio.Writer) error
		want    string // the file after
		wantErr error
	}{
		{"new file", "", func(w *bufio.Writer) error { _, err := w.WriteString("a,b\n"); return err }, "a,b\n", nil},
		{"replaced", "old\n", func(w *bufio.Writer) error { _, err := w.WriteString("new\n"); return err }, "new\n", nil},
		{"fill fails", "old\n", func(w *bufio.Writer) error { w.WriteString("half"); return boom }, "old\n", boom},
		{"fill fails, no file before", "", func(w *bufio.Writer) error { return boom }, "", boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.csv")
			if tc.old != "" {
				if err := os.WriteFile(path, []byte(tc.old), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := Write(path, tc.fill)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			got, rerr := os.ReadFile(path)
			if tc.want == "" {
				if !errors.Is(rerr, os.ErrNotExist) {
					t.Errorf("a file was left: %q, %v", got, rerr)
				}
			} else if string(got) != tc.want {
				t.Errorf("file holds %q, want %q", got, tc.want)
			}
			if err == nil {
				if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
					t.Errorf("mode %v, want 0644", fi.Mode().Perm())
				}
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if e.Name() != "out.csv" {
					t.Errorf("left behind: %s", e.Name())
				}
			}
		})
	}
}

func TestWriteMissingFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	err := WriteBytes(filepath.Join(dir, "x.csv"), []byte("x"))
	var ce *CreateError
	if !errors.As(err, &ce) || ce.Dir != dir || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error %v, want a CreateError for %s wrapping ErrNotExist", err, dir)
	}
	if want := "create a file in " + dir + ": no such file or directory"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}
