package job

import (
	"bufio"
	"fmt"
	"image"
	"os"
	"path/filepath"

	"facemirror/pipeline/align"
	"facemirror/pipeline/fhog"
	"facemirror/pipeline/openface"

	"golang.org/x/image/bmp"
)

// recorder writes what OpenFace's -hogalign and -simalign write beside the
// CSV: every frame's FHOG descriptor to <stem>.hog and every tracked
// frame's aligned face to <stem>_aligned/frame_det_00_NNNNNN.bmp. Frames
// come in order (the job's drain); everything goes under hidden names
// until commit, so a failed or interrupted run leaves nothing half
// written.
type recorder struct {
	// hogPath and alignedDir are the final names; empty when not wanted.
	hogPath, alignedDir string
	hogTemp, dirTemp    string
	hogFile             *os.File
	hog                 *bufio.Writer
	// black is the descriptor of an all-black aligned face, which
	// OpenFace computes and writes for a frame whose face was not
	// tracked.
	black fhog.Descriptor
	face  *image.RGBA
	err   error
}

// newRecorder opens the hidden files of the outputs asked for (stem is
// the output path without extension).
func newRecorder(stem string, hog, aligned bool) (*recorder, error) {
	rec := &recorder{}
	dir, base := filepath.Dir(stem), filepath.Base(stem)
	if hog {
		rec.hogPath = stem + ".hog"
		f, err := os.CreateTemp(dir, "."+base+".partial-*.hog")
		if err != nil {
			return nil, fmt.Errorf("create the HOG file: %w", err)
		}
		rec.hogFile, rec.hogTemp = f, f.Name()
		rec.hog = bufio.NewWriterSize(f, 256<<10)
		black, err := fhog.Extract(make([]byte, 3*align.DefaultSize*align.DefaultSize), align.DefaultSize, align.DefaultSize, 3*align.DefaultSize)
		if err != nil {
			rec.discard()
			return nil, fmt.Errorf("HOG of an empty face: %w", err)
		}
		rec.black = black
	}
	if aligned {
		rec.alignedDir = stem + "_aligned"
		d, err := os.MkdirTemp(dir, "."+base+"_aligned.partial-")
		if err != nil {
			rec.discard()
			return nil, fmt.Errorf("create the aligned faces' folder: %w", err)
		}
		rec.dirTemp = d
		rec.face = image.NewRGBA(image.Rect(0, 0, align.DefaultSize, align.DefaultSize))
	}
	return rec, nil
}

// add records frame index (0-based) of the video. As in OpenFace, the HOG
// file has every frame, flagged by the CSV's success, and the aligned
// folder the frames the CSV calls successful; a frame the AU stage did
// not use has the black face and its descriptor.
func (rec *recorder) add(index int, fr openface.FrameResult) error {
	if rec.err != nil {
		return rec.err
	}
	if rec.hog != nil {
		d := rec.black
		if fr.AUSuccess {
			d = fhog.Descriptor{Rows: rec.black.Rows, Cols: rec.black.Cols, Data: fr.HOG}
		}
		if err := fhog.WriteHOGFrame(rec.hog, d, fr.Success); err != nil {
			rec.err = err
			return err
		}
	}
	if rec.face != nil && fr.Success {
		if err := rec.writeFace(index, fr.Aligned); err != nil {
			rec.err = err
			return err
		}
	}
	return nil
}

// writeFace writes one aligned face, bgr (black when nil), as a 24-bit
// BMP.
func (rec *recorder) writeFace(index int, bgr []byte) error {
	pix := rec.face.Pix
	n := align.DefaultSize * align.DefaultSize
	if bgr != nil && len(bgr) != 3*n {
		return fmt.Errorf("frame %d: aligned face of %d bytes, want %d", index+1, len(bgr), 3*n)
	}
	for i := 0; i < n; i++ {
		if bgr == nil {
			pix[4*i], pix[4*i+1], pix[4*i+2] = 0, 0, 0
		} else {
			pix[4*i], pix[4*i+1], pix[4*i+2] = bgr[3*i+2], bgr[3*i+1], bgr[3*i]
		}
		pix[4*i+3] = 0xff
	}
	name := filepath.Join(rec.dirTemp, fmt.Sprintf("frame_det_00_%06d.bmp", index+1))
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("write the aligned face of frame %d: %w", index+1, err)
	}
	w := bufio.NewWriterSize(f, 48<<10)
	err = bmp.Encode(w, rec.face)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write the aligned face of frame %d: %w", index+1, err)
	}
	return nil
}

// commit moves the outputs into place and returns their final names. A
// folder of aligned faces from an earlier run is replaced whole.
func (rec *recorder) commit() ([]string, error) {
	if rec.err != nil {
		rec.discard()
		return nil, rec.err
	}
	var done []string
	if rec.hog != nil {
		err := rec.hog.Flush()
		if err == nil {
			// CreateTemp made it private; the outputs are the user's files.
			err = rec.hogFile.Chmod(0o644)
		}
		if cerr := rec.hogFile.Close(); err == nil {
			err = cerr
		}
		rec.hog = nil
		if err == nil {
			err = os.Rename(rec.hogTemp, rec.hogPath)
		}
		if err != nil {
			rec.discard()
			return nil, fmt.Errorf("write %s: %w", filepath.Base(rec.hogPath), err)
		}
		rec.hogTemp = ""
		done = append(done, rec.hogPath)
	}
	if rec.dirTemp != "" {
		if err := os.Chmod(rec.dirTemp, 0o755); err != nil {
			rec.discard()
			return nil, fmt.Errorf("write %s: %w", filepath.Base(rec.alignedDir), err)
		}
		if err := replaceDir(rec.dirTemp, rec.alignedDir); err != nil {
			rec.discard()
			return nil, err
		}
		rec.dirTemp = ""
		done = append(done, rec.alignedDir)
	}
	return done, nil
}

// replaceDir renames the folder tmp to final, moving an existing final
// aside first: a folder cannot be renamed over one that has files.
func replaceDir(tmp, final string) error {
	old := ""
	if _, err := os.Lstat(final); err == nil {
		old = tmp + ".old"
		if err := os.Rename(final, old); err != nil {
			return fmt.Errorf("move the earlier %s aside: %w", filepath.Base(final), err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		if old != "" {
			os.Rename(old, final)
		}
		return fmt.Errorf("move %s into place: %w", filepath.Base(final), err)
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("remove the earlier %s: %w", filepath.Base(final), err)
		}
	}
	return nil
}

// discard removes whatever was not committed.
func (rec *recorder) discard() {
	if rec.hogFile != nil {
		rec.hogFile.Close()
	}
	rec.hog = nil
	if rec.hogTemp != "" {
		os.Remove(rec.hogTemp)
		rec.hogTemp = ""
	}
	if rec.dirTemp != "" {
		os.RemoveAll(rec.dirTemp)
		rec.dirTemp = ""
	}
}
