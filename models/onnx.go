package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"facemirror/models/cnn"
	"facemirror/models/onnxconv"
)

// Names of the generated ONNX versions of OpenFace's MTCNN networks, for
// Store.Path.
const (
	PNetONNX = "onnx/mtcnn_pnet.onnx"
	RNetONNX = "onnx/mtcnn_rnet.onnx"
	ONetONNX = "onnx/mtcnn_onet.onnx"
)

// Registry names of OpenFace's MTCNN networks, from which the ONNX
// versions are made.
const (
	PNetDat = "model/mtcnn_detector/PNet.dat"
	RNetDat = "model/mtcnn_detector/RNet.dat"
	ONetDat = "model/mtcnn_detector/ONet.dat"
)

// manifestName records what the generated files were made from. It is
// written after them, so a conversion cut short leaves no manifest and is
// redone by the next Install.
const manifestName = "onnx/manifest.json"

// generated describes one file Install makes rather than fetches.
type generated struct {
	Name   string // generated name, e.g. PNetONNX
	Source string // registry name of the .dat it is converted from
	Graph  string // graph name inside the ONNX file
}

var generatedFiles = []generated{
	{Name: PNetONNX, Source: PNetDat, Graph: "PNet"},
	{Name: RNetONNX, Source: RNetDat, Graph: "RNet"},
	{Name: ONetONNX, Source: ONetDat, Graph: "ONet"},
}

func lookupGenerated(name string) (generated, bool) {
	for _, g := range generatedFiles {
		if g.Name == name {
			return g, true
		}
	}
	return generated{}, false
}

// MTCNNFiles are the verified paths of the three MTCNN networks.
type MTCNNFiles struct {
	PNet, RNet, ONet string
}

// MTCNN returns the verified paths of the ONNX MTCNN networks.
func (s *Store) MTCNN() (MTCNNFiles, error) {
	return s.mtcnn(PNetONNX, RNetONNX, ONetONNX)
}

// MTCNNDat returns the verified paths of OpenFace's own MTCNN network
// files (for models/cnn).
func (s *Store) MTCNNDat() (MTCNNFiles, error) {
	return s.mtcnn(PNetDat, RNetDat, ONetDat)
}

func (s *Store) mtcnn(pnet, rnet, onet string) (MTCNNFiles, error) {
	var m MTCNNFiles
	for _, p := range []struct {
		name string
		dst  *string
	}{{pnet, &m.PNet}, {rnet, &m.RNet}, {onet, &m.ONet}} {
		path, err := s.Path(p.name)
		if err != nil {
			return MTCNNFiles{}, err
		}
		*p.dst = path
	}
	return m, nil
}

// converterVersion identifies the converter in the manifest; Path refuses
// files made by another. onnxconv has no release number of its own, so this
// is built from the format constants it exports; Install also compares the
// bytes, which catches a converter change this string does not show.
func converterVersion() string {
	return fmt.Sprintf("%s opset %d ir %d", onnxconv.Producer, onnxconv.Opset, onnxconv.IRVersion)
}

// manifest is the JSON record of the generated files.
type manifest struct {
	// Converter is converterVersion() of the program that made the files.
	Converter string          `json:"converter"`
	Files     []manifestEntry `json:"files"`
}

type manifestEntry struct {
	Name         string `json:"name"`
	SHA256       string `json:"sha256"`
	Source       string `json:"source"`
	SourceSHA256 string `json:"source_sha256"`
}

func (m manifest) entry(name string) (manifestEntry, bool) {
	for _, e := range m.Files {
		if e.Name == name {
			return e, true
		}
	}
	return manifestEntry{}, false
}

func (m manifest) hashOf(name string) string {
	e, _ := m.entry(name)
	return e.SHA256
}

// readManifest reads the manifest of the model folder dir.
func readManifest(dir string) (manifest, fileStamp, error) {
	path := filepath.Join(dir, filepath.FromSlash(manifestName))
	f, err := os.Open(path)
	if err != nil {
		return manifest{}, fileStamp{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return manifest{}, fileStamp{}, err
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return manifest{}, fileStamp{}, fmt.Errorf("read %s: %w", path, err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return manifest{}, fileStamp{}, fmt.Errorf("parse %s: %w", path, err)
	}
	return m, stampOf(fi), nil
}

// staleness says why the manifest does not vouch for g, or "" if it does.
func staleness(m manifest, g generated) string {
	if v := converterVersion(); m.Converter != v {
		return fmt.Sprintf("made by converter version %q, this program's is %q", m.Converter, v)
	}
	e, ok := m.entry(g.Name)
	if !ok {
		return "not listed in " + manifestName
	}
	src, _ := Lookup(g.Source)
	if e.Source != g.Source || e.SourceSHA256 != src.SHA256 {
		return fmt.Sprintf("made from %s with SHA-256 %s, expected %s with SHA-256 %s",
			e.Source, e.SourceSHA256, g.Source, src.SHA256)
	}
	return ""
}

// checkGenerated verifies a generated file against the manifest; fresh
// forces hashing even when nothing looks changed since the last check.
func (s *Store) checkGenerated(g generated, fresh bool) (path string, err error) {
	path = s.file(g.Name)
	defer func() {
		if err != nil {
			s.forget(g.Name)
		}
	}()
	m, mst, err := readManifest(s.Dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if _, serr := os.Stat(path); serr != nil {
				return path, statError(g.Name, path, "", serr)
			}
			return path, &FileError{Name: g.Name, Path: path, Detail: manifestName + " is missing", Err: ErrStale}
		}
		return path, &FileError{Name: g.Name, Path: path, Detail: err.Error(), Err: ErrStale}
	}
	if why := staleness(m, g); why != "" {
		return path, &FileError{Name: g.Name, Path: path, Detail: why, Err: ErrStale}
	}
	want := m.hashOf(g.Name)
	fi, err := os.Stat(path)
	if err != nil {
		return path, statError(g.Name, path, want, err)
	}
	if !fresh && s.known(g.Name, stamp{file: stampOf(fi), manifest: mst}) {
		return path, nil
	}
	got, st, err := hashFile(path)
	if err != nil {
		return path, statError(g.Name, path, want, err)
	}
	if got != want {
		return path, &FileError{Name: g.Name, Path: path, Want: want, Got: got, Err: ErrAltered}
	}
	s.remember(g.Name, stamp{file: st, manifest: mst})
	return path, nil
}

// convertMTCNN makes the ONNX networks from the installed .dat files.
//
// It always converts, in memory (about 30 ms for the three networks), and
// keeps the installed files only if the manifest vouches for them and they
// are byte for byte what this program's converter makes: so a converter
// whose output changed is caught even if its version string did not.
func convertMTCNN(ctx context.Context, s *Store, report func(string, Action, string)) error {
	type result struct {
		g    generated
		src  File
		data []byte
		sum  string
	}
	var results []result
	installed, _, installedErr := readManifest(s.Dir)
	upToDate := true
	for _, g := range generatedFiles {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("convert MTCNN: %w", err)
		}
		src, ok := Lookup(g.Source)
		if !ok {
			return fmt.Errorf("convert MTCNN: %s is not in the registry", g.Source)
		}
		srcPath, err := s.checkFile(src, false)
		if err != nil {
			return fmt.Errorf("convert %s: %w", g.Name, err)
		}
		net, err := cnn.Load(srcPath)
		if err != nil {
			return fmt.Errorf("convert %s: %w", g.Name, err)
		}
		data, err := onnxconv.Convert(net, g.Graph)
		if err != nil {
			return fmt.Errorf("convert %s to %s: %w", g.Source, g.Name, err)
		}
		sum := sha256.Sum256(data)
		r := result{g: g, src: src, data: data, sum: hex.EncodeToString(sum[:])}
		results = append(results, r)
		if _, err := s.checkGenerated(g, true); err != nil || installedErr != nil || installed.hashOf(g.Name) != r.sum {
			upToDate = false
		}
	}
	if upToDate {
		for _, r := range results {
			report(r.g.Name, Kept, "")
		}
		return nil
	}
	// Without a manifest the folder reads as "not converted" until the new
	// one is written, whatever happens in between.
	if err := os.Remove(s.file(manifestName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("convert MTCNN: %w", err)
	}
	m := manifest{Converter: converterVersion()}
	for _, r := range results {
		if _, err := writeBytes(s.file(r.g.Name), r.data); err != nil {
			return fmt.Errorf("write %s: %w", r.g.Name, err)
		}
		m.Files = append(m.Files, manifestEntry{Name: r.g.Name, SHA256: r.sum, Source: r.src.Name, SourceSHA256: r.src.SHA256})
		report(r.g.Name, Converted, "")
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", manifestName, err)
	}
	if _, err := writeBytes(s.file(manifestName), append(data, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", manifestName, err)
	}
	return nil
}
