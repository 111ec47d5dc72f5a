package models

import (
	"bufio"
	_ "embed"
	"fmt"
	"path"
	"slices"
	"strings"
)

// Where the registry's files come from. Every file of the registry is
// tracked in git in OpenFace's repository (the landmark models under
// lib/local/LandmarkDetector/model/, the AU predictors under
// lib/local/FaceAnalyser/AU_predictors/); none comes from OpenFace's
// download_models scripts, which fetch only the CE-CLM "cen" patch experts
// that FaceMirror does not use.
const (
	// OpenFaceRepository is the GitHub repository the files come from.
	OpenFaceRepository = "TadasBaltrusaitis/OpenFace"
	// OpenFaceRelease is the tag of the release the hashes belong to.
	OpenFaceRelease = "OpenFace_2.2.0"
	// OpenFaceCommit is the commit the release tag points to, as shown
	// (abbreviated) on the repository's releases page. Downloads are pinned
	// to it rather than to the tag, which could be moved; the SHA-256 check
	// is what finally vouches for every byte.
	OpenFaceCommit = "658a6a1"
	// DefaultBaseURL serves the repository's raw files at OpenFaceCommit.
	DefaultBaseURL = "https://raw.githubusercontent.com/" + OpenFaceRepository + "/" + OpenFaceCommit
)

// The registry is kept in sha256sum's format so that
// `sha256sum -c models/openface-2.2.0.sha256`, run inside a model folder,
// checks an installation without this program.
//
//go:embed openface-2.2.0.sha256
var registryText string

// registry is parsed once from the embedded text and never changed.
var registry = mustParseRegistry(registryText)

// File is one OpenFace model file FaceMirror uses.
type File struct {
	// Name is the slash-separated path relative to the model folder,
	// e.g. "model/mtcnn_detector/PNet.dat".
	Name string
	// SHA256 is the file's SHA-256 hash in lowercase hex.
	SHA256 string
}

// RepoPath returns the file's path inside OpenFace's repository.
func (f File) RepoPath() string {
	if rest, ok := strings.CutPrefix(f.Name, "AU_predictors/"); ok {
		return "lib/local/FaceAnalyser/AU_predictors/" + rest
	}
	return "lib/local/LandmarkDetector/" + f.Name
}

// URL returns where the file is downloaded from, given the base URL of the
// repository's raw files at a commit (DefaultBaseURL by default).
func (f File) URL(baseURL string) string {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	return strings.TrimSuffix(baseURL, "/") + "/" + f.RepoPath()
}

// Files returns the registry: every OpenFace file FaceMirror uses with its
// SHA-256, sorted by name (what `facemirror version` prints). The slice is a
// copy. Store.Verify reports the generated ONNX files as well.
func Files() []File { return slices.Clone(registry) }

// Lookup returns the registry entry called name.
func Lookup(name string) (File, bool) {
	i, ok := slices.BinarySearchFunc(registry, name, func(f File, n string) int { return strings.Compare(f.Name, n) })
	if !ok {
		return File{}, false
	}
	return registry[i], true
}

// mustParseRegistry panics because the text is compiled into the program:
// a malformed registry is a build defect, caught by the package's tests.
func mustParseRegistry(text string) []File {
	files, err := parseSums(text)
	if err != nil {
		panic("models: embedded registry: " + err.Error())
	}
	return files
}

// parseSums reads sha256sum output ("<hex>  <name>" per line) into a sorted
// list, refusing anything that could escape the model folder.
func parseSums(text string) ([]File, error) {
	var files []File
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for line := 1; sc.Scan(); line++ {
		hash, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			return nil, fmt.Errorf("line %d: want \"<sha256>  <name>\", got %q", line, sc.Text())
		}
		if !isSHA256(hash) {
			return nil, fmt.Errorf("line %d: %q is not a lowercase hex SHA-256", line, hash)
		}
		if !validName(name) {
			return nil, fmt.Errorf("line %d: %q is not a clean relative path", line, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("line %d: %s listed twice", line, name)
		}
		seen[name] = true
		files = append(files, File{Name: name, SHA256: hash})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	return files, nil
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// validName accepts slash-separated relative paths that stay inside the
// model folder.
func validName(name string) bool {
	return name != "" && !strings.Contains(name, `\`) && path.Clean(name) == name &&
		!path.IsAbs(name) && name != ".." && !strings.HasPrefix(name, "../")
}
