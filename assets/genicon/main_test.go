package main

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedIconIsCurrent fails when icon.png was not regenerated after
// the drawing changed (run `go generate ./assets`). A difference of one
// level per channel is allowed for floating-point differences between
// machines.
func TestCommittedIconIsCurrent(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "icon.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	committed, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode icon.png: %v", err)
	}
	drawn := render(512)
	if committed.Bounds() != drawn.Bounds() {
		t.Fatalf("icon.png is %v, the drawing %v", committed.Bounds(), drawn.Bounds())
	}
	c, ok := committed.(*image.NRGBA)
	if !ok {
		t.Fatalf("icon.png decodes as %T, want *image.NRGBA", committed)
	}
	for i := range c.Pix {
		if d := int(c.Pix[i]) - int(drawn.Pix[i]); d < -1 || d > 1 {
			t.Fatalf("icon.png differs from the drawing at byte %d (pixel %d,%d): %d vs %d; run go generate ./assets",
				i, i/4%512, i/4/512, c.Pix[i], drawn.Pix[i])
		}
	}
}

func TestWrite(t *testing.T) {
	out := filepath.Join(t.TempDir(), "icon.png")
	if err := write(out, 64); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width != 64 || cfg.Height != 64 {
		t.Errorf("written icon: %+v, %v; want a 64x64 PNG", cfg, err)
	}
	if err := write(filepath.Join(t.TempDir(), "missing", "icon.png"), 8); err == nil {
		t.Error("writing into a missing folder gave no error")
	}
}
