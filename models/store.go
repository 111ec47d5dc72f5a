package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// EnvDir names the environment variable that overrides the model folder.
const EnvDir = "FACEMIRROR_MODELS"

// DefaultDir returns the model folder: $FACEMIRROR_MODELS when set, else
// facemirror/models inside the user's cache folder. The path is absolute;
// the folder may not exist yet.
func DefaultDir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		abs, err := filepath.Abs(d)
		if err != nil {
			return "", fmt.Errorf("model folder from %s=%q: %w", EnvDir, d, err)
		}
		return abs, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locate the model folder (set %s to choose one): %w", EnvDir, err)
	}
	return filepath.Join(cache, "facemirror", "models"), nil
}

// Store hands out verified paths of the model files in one folder.
//
// Each file is hashed the first time it is asked for; later requests only
// stat it and hash it again if its size or modification time changed. The
// record is kept in the Store, so each process (and each Store) checks for
// itself. A Store is safe for concurrent use and must not be copied.
type Store struct {
	// Dir is the model folder.
	Dir string

	mu       sync.Mutex
	verified map[string]stamp
}

// stamp identifies the state of a file (and, for a generated file, of the
// manifest that vouches for it) when it was verified.
type stamp struct {
	file, manifest fileStamp
}

type fileStamp struct {
	size int64
	mod  time.Time
}

func stampOf(fi fs.FileInfo) fileStamp { return fileStamp{size: fi.Size(), mod: fi.ModTime()} }

// Open returns a Store for the model folder dir. It touches no file.
func Open(dir string) *Store { return &Store{Dir: dir} }

// Path returns the path of the model file name (a registry name such as
// "model/mtcnn_detector/PNet.dat", or a generated file such as PNetONNX)
// after checking its SHA-256. A missing, altered or out-of-date file is
// refused with a *FileError that names the file, both hashes and the
// command that repairs it.
func (s *Store) Path(name string) (string, error) {
	if f, ok := Lookup(name); ok {
		return s.checkFile(f, false)
	}
	if g, ok := lookupGenerated(name); ok {
		return s.checkGenerated(g, false)
	}
	return "", &FileError{Name: name, Err: ErrUnknown}
}

// Check is the outcome of verifying one file.
type Check struct {
	Name   string // registry or generated name
	Path   string // the file on disk
	SHA256 string // the hash the file has when intact; empty if unknown
	Err    error  // nil when the file is intact, else a *FileError
}

// Verify hashes every registry file and every generated file afresh and
// reports on each, in registry order followed by the generated files. The
// error is nil only when all are intact; otherwise it is ctx's error or
// says how many files are unusable and wraps each *FileError.
func (s *Store) Verify(ctx context.Context) ([]Check, error) {
	var checks []Check
	var bad []error
	add := func(name, want, path string, err error) {
		checks = append(checks, Check{Name: name, Path: path, SHA256: want, Err: err})
		if err != nil {
			bad = append(bad, err)
		}
	}
	for _, f := range registry {
		if err := ctx.Err(); err != nil {
			return checks, err
		}
		path, err := s.checkFile(f, true)
		add(f.Name, f.SHA256, path, err)
	}
	m, _, _ := readManifest(s.Dir)
	for _, g := range generatedFiles {
		if err := ctx.Err(); err != nil {
			return checks, err
		}
		path, err := s.checkGenerated(g, true)
		add(g.Name, m.hashOf(g.Name), path, err)
	}
	if len(bad) > 0 {
		return checks, fmt.Errorf("%d of %d model files in %s are unusable: %w",
			len(bad), len(checks), s.Dir, errors.Join(bad...))
	}
	return checks, nil
}

// checkFile verifies one registry file; fresh forces hashing even when the
// file looks unchanged since it was last verified.
func (s *Store) checkFile(f File, fresh bool) (path string, err error) {
	path = s.file(f.Name)
	defer func() {
		if err != nil {
			s.forget(f.Name)
		}
	}()
	fi, err := os.Stat(path)
	if err != nil {
		return path, statError(f.Name, path, f.SHA256, err)
	}
	if !fresh && s.known(f.Name, stamp{file: stampOf(fi)}) {
		return path, nil
	}
	got, st, err := hashFile(path)
	if err != nil {
		return path, statError(f.Name, path, f.SHA256, err)
	}
	if got != f.SHA256 {
		return path, &FileError{Name: f.Name, Path: path, Want: f.SHA256, Got: got, Err: ErrAltered}
	}
	s.remember(f.Name, stamp{file: st})
	return path, nil
}

func statError(name, path, want string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &FileError{Name: name, Path: path, Want: want, Err: ErrMissing}
	}
	return &FileError{Name: name, Path: path, Want: want, Err: err}
}

// file maps a slash-separated model name to its path in the folder.
func (s *Store) file(name string) string { return filepath.Join(s.Dir, filepath.FromSlash(name)) }

func (s *Store) known(name string, st stamp) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	got, ok := s.verified[name]
	return ok && got.file.size == st.file.size && got.file.mod.Equal(st.file.mod) &&
		got.manifest.size == st.manifest.size && got.manifest.mod.Equal(st.manifest.mod)
}

func (s *Store) remember(name string, st stamp) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.verified == nil {
		s.verified = map[string]stamp{}
	}
	s.verified[name] = st
}

func (s *Store) forget(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.verified, name)
}

// hashFile returns the hex SHA-256 of a file and the stamp of the content
// that was hashed.
func hashFile(path string) (string, fileStamp, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fileStamp{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fileStamp{}, err
	}
	if !fi.Mode().IsRegular() {
		return "", fileStamp{}, fmt.Errorf("%s is not a regular file", path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fileStamp{}, fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), stampOf(fi), nil
}
