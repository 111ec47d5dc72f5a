package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"facemirror/internal/sharedtest"
)

// installMirror installs the shared models into a fresh folder.
func installMirror(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := Install(context.Background(), dir, InstallOptions{Mirror: sharedtest.Models(t)}); err != nil {
		t.Fatalf("Install from mirror: %v", err)
	}
	return dir
}

func sha256Hex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func TestDefaultDir(t *testing.T) {
	cache := t.TempDir()
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, env, xdg, want string
	}{
		{"env wins over the cache folder", "/srv/facemirror-models", cache, "/srv/facemirror-models"},
		{"relative env is made absolute", "some/models", cache, filepath.Join(cwd, "some/models")},
		{"cache folder when env is empty", "", cache, filepath.Join(cache, "facemirror", "models")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvDir, tt.env)
			t.Setenv("XDG_CACHE_HOME", tt.xdg)
			got, err := DefaultDir()
			if err != nil || got != tt.want {
				t.Errorf("DefaultDir() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	t.Run("no cache folder", func(t *testing.T) {
		t.Setenv(EnvDir, "")
		t.Setenv("XDG_CACHE_HOME", "")
		t.Setenv("HOME", "")
		_, err := DefaultDir()
		if err == nil || !strings.Contains(err.Error(), "set FACEMIRROR_MODELS") {
			t.Errorf("DefaultDir() error = %v, want a hint to set %s", err, EnvDir)
		}
	})
}

func TestPathRefusesMissingAlteredAndUnknownFiles(t *testing.T) {
	dir := installMirror(t)
	const hint = "; run `make models` or `facemirror models install` to repair it"
	pnet := filepath.Join(dir, "model", "mtcnn_detector", "PNet.dat")
	pnetWant := "22dfd0a96ec983e99b21c0e214d89d55ea9a471eedd53e5a48203f22bcb4c489"
	val := filepath.Join(dir, "model", "detection_validation", "validator_cnn.txt")
	valWant, _ := Lookup("model/detection_validation/validator_cnn.txt")

	valData, err := os.ReadFile(val)
	if err != nil {
		t.Fatal(err)
	}
	valData[len(valData)/2] ^= 1
	if err := os.WriteFile(val, valData, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(pnet); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, path string
		kind       error
		msg        string
	}{
		{"model/mtcnn_detector/PNet.dat", pnet, ErrMissing,
			"model file model/mtcnn_detector/PNet.dat is missing (looked for " + pnet + "; expected SHA-256 " + pnetWant + ")" + hint},
		{"model/detection_validation/validator_cnn.txt", val, ErrAltered,
			"model file model/detection_validation/validator_cnn.txt (" + val + ") is altered: SHA-256 is " + sha256Hex(valData) +
				", expected " + valWant.SHA256 + hint},
		{"model/cen_general.txt", "", ErrUnknown,
			"model file model/cen_general.txt: not a FaceMirror model file"},
	}
	s := Open(dir)
	for _, tt := range tests {
		got, err := s.Path(tt.name)
		if !errors.Is(err, tt.kind) {
			t.Errorf("Path(%s) error = %v, want %v", tt.name, err, tt.kind)
			continue
		}
		if err.Error() != tt.msg {
			t.Errorf("Path(%s) error\n got %s\nwant %s", tt.name, err, tt.msg)
		}
		var fe *FileError
		if !errors.As(err, &fe) || fe.Path != tt.path || got != tt.path {
			t.Errorf("Path(%s) = %q, error path %+v; want %q", tt.name, got, fe, tt.path)
		}
	}

	// Intact files are still served.
	for _, name := range []string{"model/mtcnn_detector/RNet.dat", "AU_predictors/AU_all_best.txt"} {
		got, err := s.Path(name)
		if want := filepath.Join(dir, filepath.FromSlash(name)); err != nil || got != want {
			t.Errorf("Path(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
}

// The verification is remembered per Store: a change that keeps size and
// modification time is invisible to that Store's Path (it does not hash
// again), but any new Store, and Verify, hash afresh and catch it. A change
// of size is caught at once.
func TestPathCachesPerStore(t *testing.T) {
	dir := installMirror(t)
	const name = "model/mtcnn_detector/ONet.dat"
	path := filepath.Join(dir, filepath.FromSlash(name))
	s := Open(dir)
	if _, err := s.Path(name); err != nil {
		t.Fatal(err)
	}

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[100] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}

	if _, err := s.Path(name); err != nil {
		t.Errorf("same Store, same size and time: Path = %v, want the remembered verification", err)
	}
	if _, err := Open(dir).Path(name); !errors.Is(err, ErrAltered) {
		t.Errorf("new Store: Path error = %v, want ErrAltered", err)
	}
	if _, err := s.Verify(context.Background()); !errors.Is(err, ErrAltered) {
		t.Errorf("Verify error = %v, want ErrAltered", err)
	}
	// Verify's fresh result replaced the remembered one.
	if _, err := s.Path(name); !errors.Is(err, ErrAltered) {
		t.Errorf("after Verify: Path error = %v, want ErrAltered", err)
	}

	if err := os.WriteFile(path, append(data, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	s2 := Open(dir)
	if err := Install(context.Background(), dir, InstallOptions{Mirror: sharedtest.Models(t)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Path(name); err != nil {
		t.Errorf("after repair: Path = %v", err)
	}
	if err := os.WriteFile(path, append(data, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Path(name); !errors.Is(err, ErrAltered) {
		t.Errorf("grown file: Path error = %v, want ErrAltered", err)
	}
}

func TestPathIsSafeForConcurrentUse(t *testing.T) {
	dir := installMirror(t)
	s := Open(dir)
	files := Files()
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(files))
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, f := range files {
				if _, err := s.Path(f.Name); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestVerify(t *testing.T) {
	dir := installMirror(t)
	s := Open(dir)
	checks, err := s.Verify(context.Background())
	if err != nil {
		t.Fatalf("Verify on a fresh install: %v", err)
	}
	if len(checks) != len(Files())+3 {
		t.Fatalf("Verify returned %d checks, want %d", len(checks), len(Files())+3)
	}
	for i, f := range Files() {
		c := checks[i]
		if c.Name != f.Name || c.SHA256 != f.SHA256 || c.Err != nil || c.Path != filepath.Join(dir, filepath.FromSlash(f.Name)) {
			t.Errorf("check %d = %+v, want %s intact", i, c, f.Name)
		}
	}
	for i, name := range []string{PNetONNX, RNetONNX, ONetONNX} {
		c := checks[len(Files())+i]
		if c.Name != name || c.Err != nil || len(c.SHA256) != 64 {
			t.Errorf("check of %s = %+v", name, c)
		}
	}

	if err := os.Remove(filepath.Join(dir, "AU_predictors", "svr_combined", "AU_4_static_intensity_comb.dat")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model", "tris_68.txt"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	checks, err = s.Verify(context.Background())
	want := fmt.Sprintf("2 of %d model files in %s are unusable", len(Files())+3, dir)
	if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, ErrMissing) || !errors.Is(err, ErrAltered) {
		t.Fatalf("Verify error = %v, want %q wrapping ErrMissing and ErrAltered", err, want)
	}
	bad := map[string]error{}
	for _, c := range checks {
		if c.Err != nil {
			bad[c.Name] = c.Err
		}
	}
	if len(bad) != 2 || !errors.Is(bad["AU_predictors/svr_combined/AU_4_static_intensity_comb.dat"], ErrMissing) ||
		!errors.Is(bad["model/tris_68.txt"], ErrAltered) {
		t.Errorf("unusable files = %v", bad)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Verify(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify with a cancelled context: %v", err)
	}
}

func TestEmptyFolder(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	for _, f := range Files() {
		if _, err := s.Path(f.Name); !errors.Is(err, ErrMissing) {
			t.Fatalf("Path(%s) error = %v, want ErrMissing", f.Name, err)
		}
	}
	_, err := s.MTCNN()
	want := "model file onnx/mtcnn_pnet.onnx is missing (looked for " + filepath.Join(dir, "onnx", "mtcnn_pnet.onnx") +
		"); run `make models` or `facemirror models install` to repair it"
	if !errors.Is(err, ErrMissing) || err.Error() != want {
		t.Errorf("MTCNN() error\n got %v\nwant %s", err, want)
	}
	_, err = s.Verify(context.Background())
	if want := fmt.Sprintf("%d of %d model files", len(Files())+3, len(Files())+3); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Verify error = %v, want %q", err, want)
	}
}

func BenchmarkPathRemembered(b *testing.B) {
	dir := installMirror(b)
	s := Open(dir)
	const name = "model/patch_experts/ccnf_patches_0.25_general.txt"
	if _, err := s.Path(name); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Path(name); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	dir := installMirror(b)
	s := Open(dir)
	for b.Loop() {
		if _, err := s.Verify(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
