package video

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"
)

// testPicture is 64x32 grey with a red 16x16 block in its top-left corner,
// so where the block lands tells how the decoder turned the picture.
func testPicture() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 64, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 64; x++ {
			c := color.RGBA{128, 128, 128, 255}
			if x < 16 && y < 16 {
				c = color.RGBA{255, 0, 0, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

// exifTIFF is a minimal little-endian TIFF block whose IFD0 holds only the
// orientation tag (0x0112, SHORT, 1 value).
func exifTIFF(orientation uint16) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("II")
	binary.Write(&b, le, uint16(42))
	binary.Write(&b, le, uint32(8)) // IFD0 right after the header
	binary.Write(&b, le, uint16(1)) // one entry
	binary.Write(&b, le, uint16(0x0112))
	binary.Write(&b, le, uint16(3))
	binary.Write(&b, le, uint32(1))
	binary.Write(&b, le, orientation)
	binary.Write(&b, le, uint16(0)) // value field padding
	binary.Write(&b, le, uint32(0)) // no next IFD
	return b.Bytes()
}

// jpegWithOrientation encodes testPicture and inserts an Exif APP1 segment
// right after SOI.
func jpegWithOrientation(t testing.TB, orientation uint16) []byte {
	t.Helper()
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, testPicture(), &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	payload := append([]byte("Exif\x00\x00"), exifTIFF(orientation)...)
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(2+len(payload)))
	seg = append(seg, payload...)
	b := enc.Bytes()
	out := append([]byte{}, b[:2]...)
	out = append(out, seg...)
	return append(out, b[2:]...)
}

// pngWithOrientation encodes testPicture and inserts an eXIf chunk right
// after IHDR, before the image data.
func pngWithOrientation(t testing.TB, orientation uint16) []byte {
	t.Helper()
	var enc bytes.Buffer
	if err := png.Encode(&enc, testPicture()); err != nil {
		t.Fatal(err)
	}
	b := enc.Bytes()
	ihdrEnd := 8 + 8 + 13 + 4
	data := exifTIFF(orientation)
	chunk := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(chunk, uint32(len(data)))
	copy(chunk[4:], "eXIf")
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	out := append([]byte{}, b[:ihdrEnd]...)
	out = append(out, chunk...)
	return append(out, b[ihdrEnd:]...)
}

// redCorner tells which corner of a decoded frame holds the red block.
func redCorner(t *testing.T, m gocv.Mat) string {
	t.Helper()
	corners := map[string]image.Point{
		"top-left": {8, 8}, "top-right": {m.Cols() - 9, 8},
		"bottom-left": {8, m.Rows() - 9}, "bottom-right": {m.Cols() - 9, m.Rows() - 9},
	}
	found := ""
	for name, p := range corners {
		v := m.GetVecbAt(p.Y, p.X) // B, G, R
		if v[2] > 200 && v[1] < 60 && v[0] < 60 {
			if found != "" {
				t.Fatalf("red in %s and %s", found, name)
			}
			found = name
		}
	}
	return found
}

// TestImageOrientation checks that EXIF orientation is applied by the
// decoder (OpenCV 4.6 imread with IMREAD_COLOR) and reported in Info, for
// JPEG (APP1) and PNG (eXIf).
func TestImageOrientation(t *testing.T) {
	cases := []struct {
		orientation   uint16
		png           bool
		width, height int
		rotation      int
		mirrored      bool
		corner        string
	}{
		{1, false, 64, 32, 0, false, "top-left"},
		{2, false, 64, 32, 0, true, "top-right"},
		{3, false, 64, 32, 180, false, "bottom-right"},
		{4, false, 64, 32, 180, true, "bottom-left"},
		{5, false, 32, 64, 90, true, "top-left"},
		{6, false, 32, 64, 270, false, "top-right"},
		{7, false, 32, 64, 270, true, "bottom-right"},
		{8, false, 32, 64, 90, false, "bottom-left"},
		{6, true, 32, 64, 270, false, "top-right"},
		{8, true, 32, 64, 90, false, "bottom-left"},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		ext, data := ".jpg", []byte(nil)
		if tc.png {
			ext, data = ".png", pngWithOrientation(t, tc.orientation)
		} else {
			data = jpegWithOrientation(t, tc.orientation)
		}
		path := filepath.Join(dir, "orientation"+string(rune('0'+tc.orientation))+ext)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		info, err := Probe(context.Background(), path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if info.Kind != Image || info.Width != tc.width || info.Height != tc.height || info.StoredWidth != 64 ||
			info.StoredHeight != 32 || info.Rotation != tc.rotation || info.Mirrored != tc.mirrored {
			t.Errorf("%s: %v %dx%d stored %dx%d rotation %d mirrored %v; want %dx%d stored 64x32 rotation %d mirrored %v",
				filepath.Base(path), info.Kind, info.Width, info.Height, info.StoredWidth, info.StoredHeight, info.Rotation,
				info.Mirrored, tc.width, tc.height, tc.rotation, tc.mirrored)
		}
		r, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		if got := redCorner(t, f.Mat); got != tc.corner {
			t.Errorf("%s: red block at %s, want %s", filepath.Base(path), got, tc.corner)
		}
		f.Mat.Close()
		r.Close()
	}
}

// TestCutImages cuts valid JPEG and PNG files short: both must be refused
// as truncated, never handed on half grey.
func TestCutImages(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"cut.jpg": jpegWithOrientation(t, 1),
		"cut.png": pngWithOrientation(t, 1),
	} {
		for _, keep := range []int{len(data) - 2, len(data) * 3 / 4, len(data) / 2} {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, data[:keep], 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Probe(context.Background(), path)
			if !errors.Is(err, ErrTruncated) {
				t.Errorf("%s cut to %d of %d bytes: %v, want ErrTruncated", name, keep, len(data), err)
			}
		}
	}
}
