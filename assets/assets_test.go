package assets

import (
	"bytes"
	"image"
	"image/png"
	"testing"
)

func TestIcon(t *testing.T) {
	data := IconPNG()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode icon: %v", err)
	}
	if b := img.Bounds(); b != image.Rect(0, 0, 512, 512) {
		t.Errorf("icon bounds %v, want 512x512", b)
	}
	// Rounded corners are transparent; the centre of the tile is opaque.
	if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
		t.Errorf("corner alpha %d, want 0", a)
	}
	if _, _, _, a := img.At(256, 256).RGBA(); a != 0xffff {
		t.Errorf("centre alpha %d, want opaque", a)
	}
	data[0] = 0
	if IconPNG()[0] != 0x89 {
		t.Error("changing the returned bytes changed the embedded icon")
	}
}
