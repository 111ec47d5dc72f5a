package helper

import (
	"context"
	"fmt"
	"path/filepath"

	"facemirror/pipeline/clnf"
	"facemirror/pipeline/openface"
)

// TablesDir is the folder of the model folder where models install puts
// the landmark detector's prepared tables, which every helper maps instead
// of computing them: the patch experts' Sigmas
// (clnf.Model.WriteSigmaCache) and weight panels
// (clnf.Model.WritePanelTables). It is named for the first of them, so
// that folders installed before the panels keep their Sigmas.
const TablesDir = "sigma"

// WriteTables prepares the landmark detector's tables for an installed
// model folder; tables already valid are kept.
func WriteTables(ctx context.Context, dir string) error {
	m, err := clnf.Load(filepath.Join(dir, filepath.FromSlash(openface.LandmarkerFile)))
	if err != nil {
		return fmt.Errorf("load the landmark detector: %w", err)
	}
	tables := filepath.Join(dir, TablesDir)
	if err := m.WriteSigmaCache(ctx, tables); err != nil {
		return fmt.Errorf("precompute the landmark detector's Sigma tables: %w", err)
	}
	if err := m.WritePanelTables(ctx, tables); err != nil {
		return fmt.Errorf("prepare the landmark detector's weight panels: %w", err)
	}
	return nil
}
