package helper

import (
	"context"
	"fmt"
	"path/filepath"

	"facemirror/pipeline/clnf"
	"facemirror/pipeline/openface"
)

// SigmaCacheDir is the folder of the model folder where models install
// puts the CLNF patch experts' precomputed Sigma tables, which every
// helper maps instead of computing them (clnf.Model.WriteSigmaCache).
const SigmaCacheDir = "sigma"

// WriteSigmaCache precomputes the Sigma tables of the landmark detector of
// an installed model folder; tables already valid are kept.
func WriteSigmaCache(ctx context.Context, dir string) error {
	m, err := clnf.Load(filepath.Join(dir, filepath.FromSlash(openface.LandmarkerFile)))
	if err != nil {
		return fmt.Errorf("load the landmark detector: %w", err)
	}
	if err := m.WriteSigmaCache(ctx, filepath.Join(dir, SigmaCacheDir)); err != nil {
		return fmt.Errorf("precompute the landmark detector's Sigma tables: %w", err)
	}
	return nil
}
