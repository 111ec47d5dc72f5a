package fhog

import (
	"errors"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"facemirror/internal/sharedtest"
)

const v01 = "v01_talking_frontal_glasses_480x360"

// loadBGR decodes a PNG into packed BGR bytes, the layout of OpenCV's
// 8-bit colour Mat that OpenFace hands to dlib.
func loadBGR(t testing.TB, path string) (pix []byte, width, height int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	b := img.Bounds()
	width, height = b.Dx(), b.Dy()
	pix = make([]byte, 0, 3*width*height)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			pix = append(pix, byte(bl>>8), byte(g>>8), byte(r>>8))
		}
	}
	return pix, width, height
}

func readReference(t testing.TB) []Frame {
	t.Helper()
	path := sharedtest.Reference(t, v01+"/"+v01+".hog")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	frames, err := ReadHOGFile(f)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return frames
}

// TestMatchesOpenFace computes FHOG from OpenFace's own aligned faces and
// compares every value with the .hog file OpenFace wrote from them. The
// brief's tolerance is 1e-5; the implementation reproduces dlib's float
// arithmetic, so anything but bit-identical values is reported as a
// regression too.
func TestMatchesOpenFace(t *testing.T) {
	frames := readReference(t)
	if len(frames) != 300 {
		t.Fatalf("reference has %d frames, want 300", len(frames))
	}
	dir := sharedtest.Reference(t, v01+"/aligned")
	var e Extractor
	var out []float32
	var worst float64
	worstFrame, exact := 0, 0
	for i, ref := range frames {
		if ref.Rows != 12 || ref.Cols != 12 || ref.Channels != NumFeatures || !ref.Success {
			t.Fatalf("frame %d: reference header %dx%dx%d success=%v", i+1, ref.Rows, ref.Cols, ref.Channels, ref.Success)
		}
		pix, w, h := loadBGR(t, filepath.Join(dir, fmt.Sprintf("frame_det_00_%06d.png", i+1)))
		d, err := e.Extract(out, pix, w, h, 3*w)
		if err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
		out = d.Data
		if d.Rows != 12 || d.Cols != 12 || len(d.Data) != 4464 {
			t.Fatalf("frame %d: got %dx%d with %d values, want 12x12 with 4464", i+1, d.Rows, d.Cols, len(d.Data))
		}
		var frameMax float64
		at, differing := 0, 0
		for k, v := range d.Data {
			if v != ref.Data[k] {
				differing++
			}
			if diff := math.Abs(float64(v) - float64(ref.Data[k])); diff > frameMax {
				frameMax, at = diff, k
			}
		}
		if differing == 0 {
			exact++
		}
		if frameMax > 1e-5 {
			t.Errorf("frame %d: max |diff| %.3g at row %d col %d feature %d (got %v, want %v)",
				i+1, frameMax, at/NumFeatures/12, at/NumFeatures%12, at%NumFeatures, d.Data[at], ref.Data[at])
		}
		if frameMax > worst {
			worst, worstFrame = frameMax, i+1
		}
	}
	t.Logf("%d frames: max |diff| %.3g (worst frame %d); %d frames bit-identical", len(frames), worst, worstFrame, exact)
	if exact != len(frames) {
		t.Errorf("only %d of %d frames are bit-identical to OpenFace's (max |diff| %.3g in frame %d)", exact, len(frames), worst, worstFrame)
	}
}

// TestExtractorReuseAcrossSizes checks that an Extractor reused across
// image sizes and strides agrees with a fresh one.
func TestExtractorReuseAcrossSizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var e Extractor
	for _, size := range [][2]int{{112, 112}, {64, 40}, {112, 112}, {37, 95}} {
		w, h := size[0], size[1]
		stride := 3*w + 5
		pix := make([]byte, stride*h)
		for i := range pix {
			pix[i] = byte(rng.IntN(256))
		}
		fresh, err := Extract(pix, w, h, stride)
		if err != nil {
			t.Fatal(err)
		}
		reused, err := e.Extract(nil, pix, w, h, stride)
		if err != nil {
			t.Fatal(err)
		}
		rows, cols, _ := OutputSize(w, h)
		if fresh.Rows != rows || fresh.Cols != cols || len(fresh.Data) != rows*cols*NumFeatures {
			t.Fatalf("%dx%d: got %dx%d cells, %d values", w, h, fresh.Rows, fresh.Cols, len(fresh.Data))
		}
		for i := range fresh.Data {
			if fresh.Data[i] != reused.Data[i] {
				t.Fatalf("%dx%d: value %d differs: %v vs %v", w, h, i, fresh.Data[i], reused.Data[i])
			}
		}
	}
}

func TestOutputSize(t *testing.T) {
	tests := []struct {
		w, h, rows, cols int
		ok               bool
	}{
		{112, 112, 12, 12, true},
		{20, 20, 1, 1, true},    // 2.5 cells round up to 3
		{19, 112, 12, 0, false}, // 2.375 cells round to 2: nothing left
		{100, 60, 6, 11, true},  // 7.5 → 8 rows of cells, 12.5 → 13 columns
		{0, 0, 0, 0, false},
		{-5, 112, 0, 0, false},
		{MaxSide + 1, 112, 0, 0, false},
	}
	for _, tc := range tests {
		rows, cols, err := OutputSize(tc.w, tc.h)
		if !tc.ok {
			if !errors.Is(err, ErrImageSize) {
				t.Errorf("OutputSize(%d,%d): err %v, want ErrImageSize", tc.w, tc.h, err)
			}
			continue
		}
		if err != nil || rows != tc.rows || cols != tc.cols {
			t.Errorf("OutputSize(%d,%d) = %d,%d,%v; want %d,%d", tc.w, tc.h, rows, cols, err, tc.rows, tc.cols)
		}
	}
}

func TestBadInput(t *testing.T) {
	full := make([]byte, 3*112*112)
	tests := []struct {
		name                  string
		pix                   []byte
		width, height, stride int
	}{
		{"nil buffer", nil, 112, 112, 336},
		{"short buffer", full[:len(full)-1], 112, 112, 336},
		{"stride below row", full, 112, 112, 335},
		{"huge stride", full, 112, 112, math.MaxInt / 2},
		{"negative stride", full, 112, 112, -336},
		{"too small", full, 10, 10, 30},
		{"zero size", full, 0, 0, 0},
		{"negative size", full, -112, 112, 336},
		{"too large", full, MaxSide + 8, 2, 3 * (MaxSide + 8)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Extract(tc.pix, tc.width, tc.height, tc.stride)
			if !errors.Is(err, ErrImageSize) {
				t.Fatalf("err = %v, want ErrImageSize", err)
			}
		})
	}
}

// fill makes a w×h BGR image from a function of the pixel position.
func fill(w, h int, f func(x, y int) (b, g, r byte)) []byte {
	pix := make([]byte, 3*w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			b, g, r := f(x, y)
			pix[3*(y*w+x)], pix[3*(y*w+x)+1], pix[3*(y*w+x)+2] = b, g, r
		}
	}
	return pix
}

func TestSyntheticImages(t *testing.T) {
	t.Run("flat image gives zeros", func(t *testing.T) {
		for _, level := range []byte{0, 77, 255} {
			d, err := Extract(fill(112, 112, func(int, int) (byte, byte, byte) { return level, level / 2, 255 - level }), 112, 112, 336)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range d.Data {
				if v != 0 {
					t.Fatalf("level %d: value %d = %v, want 0", level, i, v)
				}
			}
		}
	})

	// A horizontal ramp of slope 2 gives every interior pixel the
	// gradient (4, 0): bin 0 only, and constant energy in cells away from
	// the border, where each cell's 4 blocks all normalise identically.
	t.Run("horizontal ramp", func(t *testing.T) {
		d, err := Extract(fill(112, 112, func(x, _ int) (byte, byte, byte) { v := byte(2 * x); return v, v, v }), 112, 112, 336)
		if err != nil {
			t.Fatal(err)
		}
		for r := 1; r < 11; r++ {
			for c := 1; c < 11; c++ {
				for f := 0; f < NumFeatures; f++ {
					v := d.At(r, c, f)
					switch f {
					case 0, 18: // signed and unsigned bin 0, truncated at 0.2 per block
						if math.Abs(float64(v)-0.4) > 1e-6 {
							t.Fatalf("cell %d,%d feature %d = %v, want 0.4", r, c, f, v)
						}
					case 27, 28, 29, 30: // 0.2357·2·0.1 per block
						if math.Abs(float64(v)-0.04714) > 1e-6 {
							t.Fatalf("cell %d,%d feature %d = %v, want 0.04714", r, c, f, v)
						}
					default:
						if v != 0 {
							t.Fatalf("cell %d,%d feature %d = %v, want 0", r, c, f, v)
						}
					}
				}
			}
		}
	})

	// Reversing the ramp flips the signed bin to 9 and keeps the unsigned one.
	t.Run("reversed ramp", func(t *testing.T) {
		d, err := Extract(fill(112, 112, func(x, _ int) (byte, byte, byte) { v := byte(255 - 2*x); return v, v, v }), 112, 112, 336)
		if err != nil {
			t.Fatal(err)
		}
		if v := d.At(5, 5, 9); math.Abs(float64(v)-0.4) > 1e-6 {
			t.Fatalf("signed bin 9 = %v, want 0.4", v)
		}
		if v := d.At(5, 5, 0); v != 0 {
			t.Fatalf("signed bin 0 = %v, want 0", v)
		}
		if v := d.At(5, 5, 18); math.Abs(float64(v)-0.4) > 1e-6 {
			t.Fatalf("unsigned bin 0 = %v, want 0.4", v)
		}
	})

	// A vertical ramp in one colour channel points along bin 4 (90°
	// rounded to the 80° direction) whichever channel carries it.
	t.Run("vertical ramp in each channel", func(t *testing.T) {
		for ch := 0; ch < 3; ch++ {
			d, err := Extract(fill(112, 112, func(_, y int) (byte, byte, byte) {
				var p [3]byte
				p[ch] = byte(2 * y)
				return p[0], p[1], p[2]
			}), 112, 112, 336)
			if err != nil {
				t.Fatal(err)
			}
			if v := d.At(6, 6, 4); math.Abs(float64(v)-0.4) > 1e-6 {
				t.Fatalf("channel %d: bin 4 = %v, want 0.4", ch, v)
			}
		}
	})

	// Red and green gradients of equal length but different direction:
	// dlib's vector code (columns 1..104 of a 112-wide image) takes green,
	// its scalar code (columns 105..110) takes red. Only the last output
	// column gathers votes from the scalar columns.
	t.Run("channel ties follow dlib's two code paths", func(t *testing.T) {
		d, err := Extract(fill(112, 112, func(x, y int) (byte, byte, byte) { return 0, byte(2 * y), byte(2 * x) }), 112, 112, 336)
		if err != nil {
			t.Fatal(err)
		}
		for r := 0; r < 12; r++ {
			for c := 0; c < 12; c++ {
				horizontal, vertical := d.At(r, c, 0), d.At(r, c, 4)
				if vertical <= 0 {
					t.Fatalf("cell %d,%d: vertical bin = %v, want > 0 (green wins ties)", r, c, vertical)
				}
				if c < 11 && horizontal != 0 {
					t.Fatalf("cell %d,%d: horizontal bin = %v, want 0 (vector path)", r, c, horizontal)
				}
				if c == 11 && horizontal <= 0 {
					t.Fatalf("cell %d,%d: horizontal bin = %v, want > 0 (scalar path keeps red)", r, c, horizontal)
				}
			}
		}
	})

	t.Run("stride padding is ignored", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		w, h := 112, 112
		packed := make([]byte, 3*w*h)
		for i := range packed {
			packed[i] = byte(rng.IntN(256))
		}
		stride := 3*w + 13
		padded := make([]byte, stride*h)
		for y := 0; y < h; y++ {
			copy(padded[y*stride:], packed[3*w*y:3*w*(y+1)])
			for x := 3 * w; x < stride; x++ {
				padded[y*stride+x] = 0xAB
			}
		}
		a, err := Extract(packed, w, h, 3*w)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Extract(padded, w, h, stride)
		if err != nil {
			t.Fatal(err)
		}
		for i := range a.Data {
			if a.Data[i] != b.Data[i] {
				t.Fatalf("value %d: %v packed, %v padded", i, a.Data[i], b.Data[i])
			}
		}
	})
}

// TestSnapOrientation checks the 18 signed bins on gradients pointing
// straight at each direction and their opposites.
func TestSnapOrientation(t *testing.T) {
	for o := 0; o < 18; o++ {
		angle := float64(o) * math.Pi / 9
		gx := float32(math.Round(200 * math.Cos(angle)))
		gy := float32(math.Round(200 * math.Sin(angle)))
		if got := snapOrientation(gx, gy); int(got) != o {
			t.Errorf("gradient (%v,%v) at %d°: bin %d, want %d", gx, gy, o*20, got, o)
		}
	}
	if got := snapOrientation(0, 0); got != 0 {
		t.Errorf("zero gradient: bin %d, want 0", got)
	}
}

func BenchmarkExtract(b *testing.B) {
	path := sharedtest.Reference(b, v01+"/aligned/frame_det_00_000001.png")
	pix, w, h := loadBGR(b, path)
	var e Extractor
	out := make([]float32, 4464)
	if _, err := e.Extract(out, pix, w, h, 3*w); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Extract(out, pix, w, h, 3*w); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExtractNoise measures the worst case: every pixel has a
// gradient (the masked aligned faces are about a third black).
func BenchmarkExtractNoise(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	pix := make([]byte, 3*112*112)
	for i := range pix {
		pix[i] = byte(rng.IntN(256))
	}
	var e Extractor
	out := make([]float32, 4464)
	if _, err := e.Extract(out, pix, 112, 112, 336); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Extract(out, pix, 112, 112, 336); err != nil {
			b.Fatal(err)
		}
	}
}
