package models

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// maxModelSize bounds what Install accepts for one file, so a misbehaving
// server cannot fill the disk; the largest registry file is under 3 MB.
const maxModelSize = 64 << 20

// InstallOptions says where Install takes the files from.
type InstallOptions struct {
	// Mirror is a local folder with OpenFace's model layout (such as the
	// project's ../shared/openface-models). When it exists, files are
	// copied from it; files it lacks are downloaded.
	Mirror string
	// BaseURL serves OpenFace's repository files at a commit; a file's URL
	// is BaseURL + "/" + File.RepoPath(). Empty means DefaultBaseURL.
	BaseURL string
	// Client makes the downloads; nil means a client with a 5-minute
	// timeout per file.
	Client *http.Client
	// Progress, if set, is called once for every file, after it is handled.
	Progress func(Event)
}

// Action says what Install did with one file.
type Action int

const (
	// Kept: the file was already installed with the right hash.
	Kept Action = iota
	// Copied from the mirror folder.
	Copied
	// Downloaded from BaseURL.
	Downloaded
	// Converted: a generated file was (re)made.
	Converted
)

func (a Action) String() string {
	switch a {
	case Kept:
		return "kept"
	case Copied:
		return "copied"
	case Downloaded:
		return "downloaded"
	case Converted:
		return "converted"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Event reports one file handled by Install.
type Event struct {
	Name   string // registry or generated name
	Action Action
	From   string // the mirror file or URL it came from; empty when kept or converted
	Done   int    // files handled so far, this one included
	Total  int    // files Install handles in all
}

// Install puts every registry file into the model folder dst, verified, and
// then generates the ONNX versions of the MTCNN networks.
//
// Files already present with the right hash are kept, so a second run
// changes nothing. Every other file is written to a temporary file in its
// destination folder, hashed, synced and only then renamed into place: a
// failed or corrupt transfer leaves no partial file behind, and content
// whose hash is not the registered one is refused with a *FileError
// (ErrBadSource) naming the file, the source and both hashes.
func Install(ctx context.Context, dst string, opt InstallOptions) error {
	if dst == "" {
		return errors.New("install models: no destination folder")
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("install models: %w", err)
	}
	mirror := ""
	if opt.Mirror != "" {
		if fi, err := os.Stat(opt.Mirror); err == nil && fi.IsDir() {
			mirror = opt.Mirror
		}
	}
	client := opt.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Minute}
	}
	store := Open(dst)
	total := len(registry) + len(generatedFiles)
	done := 0
	report := func(name string, a Action, from string) {
		done++
		if opt.Progress != nil {
			opt.Progress(Event{Name: name, Action: a, From: from, Done: done, Total: total})
		}
	}

	for _, f := range registry {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("install models: %w", err)
		}
		target, err := store.checkFile(f, true)
		if err == nil {
			report(f.Name, Kept, "")
			continue
		}
		if mirror != "" {
			src := filepath.Join(mirror, filepath.FromSlash(f.Name))
			if _, err := os.Stat(src); err == nil {
				if err := copyFile(src, target, f); err != nil {
					return err
				}
				report(f.Name, Copied, src)
				continue
			}
		}
		url := f.URL(opt.BaseURL)
		if err := download(ctx, client, url, target, f); err != nil {
			return err
		}
		report(f.Name, Downloaded, url)
	}
	return convertMTCNN(ctx, store, report)
}

func copyFile(src, target string, f File) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("install %s: %w", f.Name, err)
	}
	defer in.Close()
	if _, err := writeFile(target, in, verifier(f, src)); err != nil {
		return installError(f, src, err)
	}
	return nil
}

func download(ctx context.Context, client *http.Client, url, target string, f File) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("install %s: %w", f.Name, err)
	}
	req.Header.Set("User-Agent", "facemirror-models")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("install %s: download: %w", f.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("install %s: download %s: HTTP %s", f.Name, url, resp.Status)
	}
	if _, err := writeFile(target, resp.Body, verifier(f, url)); err != nil {
		return installError(f, url, err)
	}
	return nil
}

// installError puts f and its source into err unless err, a *FileError,
// already names them.
func installError(f File, from string, err error) error {
	var fe *FileError
	if errors.As(err, &fe) {
		return err
	}
	return fmt.Errorf("install %s from %s: %w", f.Name, from, err)
}

// verifier refuses content whose hash is not f's.
func verifier(f File, from string) func(string) error {
	return func(got string) error {
		if got != f.SHA256 {
			return &FileError{Name: f.Name, Path: from, Want: f.SHA256, Got: got, Err: ErrBadSource}
		}
		return nil
	}
}

// writeFile atomically replaces target with the content of r, returning its
// SHA-256. check sees the hash before anything is renamed into place; an
// error from it, or any failure, removes the temporary file and leaves
// target as it was.
func writeFile(target string, r io.Reader, check func(sha256 string) error) (sum string, err error) {
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".partial-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, maxModelSize+1))
	if err != nil {
		return "", fmt.Errorf("read: %w", err)
	}
	if n > maxModelSize {
		return "", fmt.Errorf("content exceeds %d bytes", maxModelSize)
	}
	sum = hex.EncodeToString(h.Sum(nil))
	if check != nil {
		if err := check(sum); err != nil {
			return "", err
		}
	}
	if err := tmp.Chmod(0o644); err != nil {
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return "", err
	}
	syncDir(dir)
	return sum, nil
}

// writeBytes atomically replaces target with data and returns its SHA-256.
func writeBytes(target string, data []byte) (string, error) {
	return writeFile(target, bytes.NewReader(data), nil)
}

// syncDir makes a rename durable. It is best effort: some systems cannot
// sync a directory, and the file itself is already synced.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
