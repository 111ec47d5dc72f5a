package job

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"facemirror/internal/atomicfile"
	"facemirror/models"
)

// Outcomes a manifest records.
const (
	// outcomeComplete: every output of the mode was written.
	outcomeComplete = "complete"
	// outcomeNoFace: no frame had a face; the source's CSV (modes aus and
	// full) was written, no mirrored video.
	outcomeNoFace = "no_face"
)

// manifestFormat is the manifest's version, for readers of old files.
const manifestFormat = 1

// Manifest is <stem>_facemirror.json: what produced an input's outputs,
// from what, and how it went. It is written last, after every output it
// lists is in place, so its presence with outcome "complete" means the
// run finished; --skip-existing relies on that.
type Manifest struct {
	Format   int               `json:"format"`
	App      string            `json:"app"`
	Version  string            `json:"version"`
	Mode     Mode              `json:"mode"`
	Settings ManifestSettings  `json:"settings"`
	Models   map[string]string `json:"models"`
	Input    ManifestInput     `json:"input"`
	Video    ManifestVideo     `json:"video"`
	Outputs  []ManifestOutput  `json:"outputs"`
	Started  time.Time         `json:"started"`
	Seconds  float64           `json:"seconds"`
	Stages   []ManifestStage   `json:"stages"`
	Outcome  string            `json:"outcome"`
	Warnings []string          `json:"warnings,omitempty"`
}

// ManifestSettings are the settings that shape the outputs.
type ManifestSettings struct {
	VideoCodec  string `json:"video_codec,omitempty"`
	Workers     int    `json:"workers"`
	WholeVideos bool   `json:"whole_videos"`
	// HOG and Aligned record Options.HOG and Options.Aligned.
	HOG     bool `json:"hog,omitempty"`
	Aligned bool `json:"aligned,omitempty"`
}

// ManifestInput identifies the input file.
type ManifestInput struct {
	Path     string    `json:"path"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
	SHA256   string    `json:"sha256"`
}

// ManifestVideo are the input's facts as analysed (upright).
type ManifestVideo struct {
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	Frames       int    `json:"frames"`
	FrameRate    string `json:"frame_rate"`
	VariableRate bool   `json:"variable_rate"`
	FaceFrames   int    `json:"face_frames"`
	// Lost are the frames that could not be decoded (FileReport.Gaps),
	// numbered from 1 as in the CSV.
	Lost []ManifestGap `json:"lost,omitempty"`
}

// ManifestGap is a stretch of lost frames: first to last, from 1, shown
// from start to end seconds; tail marks the missing end of a cut-off file.
type ManifestGap struct {
	First int     `json:"first"`
	Last  int     `json:"last"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Tail  bool    `json:"tail,omitempty"`
}

// ManifestStage is how long the input spent in one stage (a stage
// entered twice, such as writing, is listed twice).
type ManifestStage struct {
	Stage   Stage   `json:"stage"`
	Seconds float64 `json:"seconds"`
}

// ManifestOutput is one written file, by its name in the output folder.
type ManifestOutput struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// inputFacts reads an input's identity: size, modification time and
// SHA-256.
func inputFacts(path string) (ManifestInput, error) {
	f, err := os.Open(path)
	if err != nil {
		return ManifestInput{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ManifestInput{}, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ManifestInput{}, fmt.Errorf("hash %s: %w", filepath.Base(path), err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return ManifestInput{Path: abs, Size: fi.Size(), Modified: fi.ModTime().UTC(), SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// checkInput hashes the input for the manifest before any output is put
// in place, and refuses an input deleted or changed while it was
// processed: outputs that may not be of the file now at its path are
// not written.
func (j *job) checkInput() error {
	in, err := inputFacts(j.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("the file was deleted while it was being processed")
	case err != nil:
		return fmt.Errorf("read the file again for its manifest: %w", err)
	case j.inStat != nil && (in.Size != j.inStat.Size() || !in.Modified.Equal(j.inStat.ModTime().UTC())):
		return errors.New("the file changed while it was being processed (its size or modification time)")
	}
	j.facts = in
	return nil
}

// writeManifest writes the job's manifest atomically after its outputs
// and records them, the manifest last, as the job's files.
func (j *job) writeManifest(outcome string, outputs []string) error {
	r := j.run
	in := j.facts
	if in.SHA256 == "" {
		var err error
		if in, err = inputFacts(j.path); err != nil {
			return fmt.Errorf("manifest: %w", err)
		}
	}
	m := Manifest{
		Format:  manifestFormat,
		App:     "facemirror",
		Version: r.opts.Version,
		Mode:    r.opts.Mode,
		Settings: ManifestSettings{
			Workers:     r.workers,
			WholeVideos: !r.opts.Split || r.opts.Mode != ModeAUs,
			HOG:         r.opts.HOG && r.opts.Mode == ModeAUs,
			Aligned:     r.opts.Aligned && r.opts.Mode == ModeAUs,
		},
		Models: map[string]string{},
		Input:  in,
		Video: ManifestVideo{
			Width: j.info.Width, Height: j.info.Height, Frames: j.frames,
			FrameRate: j.info.FPS.String(), VariableRate: j.vfr, FaceFrames: j.faces,
		},
		Started:  j.started.UTC(),
		Seconds:  time.Since(j.started).Seconds(),
		Outcome:  outcome,
		Warnings: j.warnings,
	}
	if r.opts.Mode != ModeAUs {
		m.Settings.VideoCodec = string(r.opts.Codec)
	}
	now := time.Now()
	j.mu.Lock()
	for _, g := range j.gaps {
		m.Video.Lost = append(m.Video.Lost, ManifestGap{First: g.From + 1, Last: g.To, Start: g.Start, End: g.End, Tail: g.Tail})
	}
	for k, st := range j.stages {
		end := now
		if k+1 < len(j.stages) {
			end = j.stages[k+1].at
		}
		m.Stages = append(m.Stages, ManifestStage{Stage: st.stage, Seconds: end.Sub(st.at).Seconds()})
	}
	j.mu.Unlock()
	for _, f := range models.Files() {
		m.Models[f.Name] = f.SHA256
	}
	for _, o := range outputs {
		fi, err := os.Stat(o)
		if err != nil {
			return fmt.Errorf("manifest: %w", err)
		}
		m.Outputs = append(m.Outputs, ManifestOutput{Name: filepath.Base(o), Size: fi.Size()})
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if err := atomicfile.WriteBytes(j.out.manifest, append(b, '\n')); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	j.mu.Lock()
	j.files = append(append([]string(nil), outputs...), j.out.manifest)
	j.mu.Unlock()
	return nil
}

// completeBefore reports whether the input's manifest records a finished
// run of this mode (and codec) by this version on this very input (same
// size, modification time and SHA-256), with every output still there
// at its recorded size. Anything else, an unreadable manifest included,
// means the input is processed again.
func (j *job) completeBefore() bool {
	r := j.run
	b, err := os.ReadFile(j.out.manifest)
	if err != nil {
		return false
	}
	var m Manifest
	if json.Unmarshal(b, &m) != nil || m.Format != manifestFormat {
		return false
	}
	if m.Mode != r.opts.Mode || m.Version != r.opts.Version ||
		(m.Outcome != outcomeComplete && m.Outcome != outcomeNoFace) {
		return false
	}
	if r.opts.Mode != ModeAUs && m.Settings.VideoCodec != string(r.opts.Codec) {
		return false
	}
	// A run without the HOG file or the aligned faces asked for now did
	// not write them.
	if r.opts.Mode == ModeAUs && (r.opts.HOG && !m.Settings.HOG || r.opts.Aligned && !m.Settings.Aligned) {
		return false
	}
	fi, err := os.Stat(j.path)
	if err != nil || fi.Size() != m.Input.Size || !fi.ModTime().UTC().Equal(m.Input.Modified) {
		return false
	}
	in, err := inputFacts(j.path)
	if err != nil || in.SHA256 != m.Input.SHA256 {
		return false
	}
	dir := filepath.Dir(j.out.manifest)
	files := make([]string, 0, len(m.Outputs)+1)
	for _, o := range m.Outputs {
		p := filepath.Join(dir, o.Name)
		fi, err := os.Stat(p)
		if err != nil || fi.Size() != o.Size {
			return false
		}
		files = append(files, p)
	}
	j.mu.Lock()
	j.files = append(files, j.out.manifest)
	j.frames, j.faces = m.Video.Frames, m.Video.FaceFrames
	j.mu.Unlock()
	return true
}

// Completed reports, for each input, whether a Run with opts and
// SkipExisting would skip it: its manifest records a complete run of the
// same mode and version on this very input, with every output still in
// place. The window asks before it starts, so that it can offer to process
// only what is missing. Each input is hashed, as a Run would, so this
// reads every input once.
func Completed(files []string, opts Options) []bool {
	opts = opts.withDefaults()
	r := &run{opts: opts}
	done := make([]bool, len(files))
	for i, f := range files {
		j := &job{run: r, index: i, path: f, out: newOutputs(f, opts.OutDir, opts.Mode, opts.Codec)}
		done[i] = j.completeBefore()
	}
	return done
}
