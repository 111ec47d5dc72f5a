package video

import (
	"context"
	"errors"
	"hash/fnv"
	"io"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"facemirror/internal/sharedtest"
)

func matHash(t *testing.T, m gocv.Mat) uint64 {
	t.Helper()
	b, err := m.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

type frameID struct {
	hash uint64
	time time.Duration
}

// sequentialFrames reads every frame of a file in order.
func sequentialFrames(t *testing.T, path string) []frameID {
	t.Helper()
	r, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var ids []frameID
	for {
		f, err := r.Read()
		if err == io.EOF {
			return ids
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, frameID{matHash(t, f.Mat), f.Time})
		f.Mat.Close()
	}
}

func readID(t *testing.T, r *Reader) frameID {
	t.Helper()
	f, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Mat.Close()
	return frameID{matHash(t, f.Mat), f.Time}
}

// TestSeekIsExact checks that Seek lands on exactly the frame sequential
// reading gives, pixel for pixel and with the same time, forwards and
// backwards, on files where OpenCV's own frame seek goes wrong (e02, v10)
// and a variable-rate file.
func TestSeekIsExact(t *testing.T) {
	for _, rel := range []string{
		"videos/v01_talking_frontal_glasses_480x360.mp4",
		"videos/v10_grid_talking_frontal_mpeg1_360x288.mpg",
		"edge/e02_face_then_noface_hevc_vfr_audiofirst_960x540.mov",
		"bad/b09_vfr_real_face_30_10_15_30fps.mp4",
	} {
		t.Run(rel, func(t *testing.T) {
			path := sharedtest.Media(t, rel)
			want := sequentialFrames(t, path)
			n := len(want)
			r, err := Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			// Forward, backward, to the very end and back to the start,
			// all in one Reader.
			for _, idx := range []int{n / 2, 1, 47, 47, n - 1, 0, n - 2, 2, 90 % n} {
				if err := r.Seek(idx); err != nil {
					t.Fatalf("Seek(%d): %v", idx, err)
				}
				if got := readID(t, r); got != want[idx] {
					t.Errorf("Seek(%d) then Read gave %v, sequential frame is %v", idx, got, want[idx])
				}
			}
			// Seeking to the end is allowed and reads io.EOF; beyond is not.
			if err := r.Seek(n); err != nil {
				t.Errorf("Seek(%d) (the end): %v", n, err)
			} else if _, err := r.Read(); err != io.EOF {
				t.Errorf("Read at the end: %v, want io.EOF", err)
			}
			if err := r.Seek(n + 1); !errors.Is(err, ErrFrameRange) {
				t.Errorf("Seek(%d): %v, want ErrFrameRange", n+1, err)
			}
			if err := r.Seek(-1); !errors.Is(err, ErrFrameRange) {
				t.Errorf("Seek(-1): %v, want ErrFrameRange", err)
			}
			if err := r.Seek(3); err != nil {
				t.Fatalf("Seek(3) after errors: %v", err)
			}
			if got := readID(t, r); got != want[3] {
				t.Errorf("Seek(3) after errors gave another frame")
			}
			// OpenAt is Open plus Seek.
			at, err := OpenAt(context.Background(), path, n-3)
			if err != nil {
				t.Fatal(err)
			}
			defer at.Close()
			if got := readID(t, at); got != want[n-3] {
				t.Errorf("OpenAt(%d) gave another frame", n-3)
			}
			if _, err := OpenAt(context.Background(), path, n+5); !errors.Is(err, ErrFrameRange) {
				t.Errorf("OpenAt(%d): %v, want ErrFrameRange", n+5, err)
			}
		})
	}
}

// TestOpenCVFrameSeekIsInexact measures the OpenCV behaviour the package
// avoids: setting CAP_PROP_POS_FRAMES and reading lands on another frame for
// some indices of e02 (HEVC, variable rate) and v10 (MPEG-1).
func TestOpenCVFrameSeekIsInexact(t *testing.T) {
	for _, rel := range []string{
		"edge/e02_face_then_noface_hevc_vfr_audiofirst_960x540.mov",
		"videos/v10_grid_talking_frontal_mpeg1_360x288.mpg",
	} {
		path := sharedtest.Media(t, rel)
		want := sequentialFrames(t, path)
		wrong := 0
		var indices []int
		for _, idx := range []int{1, 2, 5, 17, 31, 47, 60, 61, 74, 84, 90, 100, 149, 150, 166} {
			if idx >= len(want) {
				continue
			}
			indices = append(indices, idx)
			c, err := gocv.VideoCaptureFileWithAPI(path, gocv.VideoCaptureFFmpeg)
			if err != nil {
				t.Fatal(err)
			}
			c.Set(gocv.VideoCapturePosFrames, float64(idx))
			m := gocv.NewMat()
			if !c.Read(&m) || matHash(t, m) != want[idx].hash {
				wrong++
			}
			m.Close()
			c.Close()
		}
		t.Logf("%s: OpenCV's frame seek landed wrong for %d of %d indices %v", rel, wrong, len(indices), indices)
		if wrong == 0 {
			t.Errorf("%s: OpenCV's frame seek was exact; the package comment's measurement is stale", rel)
		}
	}
}

// TestSeekImage treats a still image as a one-frame video.
func TestSeekImage(t *testing.T) {
	path := sharedtest.Media(t, "images/i03_posed_surprise_512x512.jpg")
	r, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	first := readID(t, r)
	if _, err := r.Read(); err != io.EOF {
		t.Fatalf("second Read of an image: %v, want io.EOF", err)
	}
	if err := r.Seek(0); err != nil {
		t.Fatal(err)
	}
	if again := readID(t, r); again != first {
		t.Errorf("image after Seek(0) differs: %v vs %v", again, first)
	}
	if err := r.Seek(1); !errors.Is(err, ErrFrameRange) {
		t.Errorf("Seek(1) on an image: %v, want ErrFrameRange", err)
	}
}

// TestReadIntoMatchesRead checks that reusing one Mat gives the same frames
// as Read, on the rotated phone video and on an image.
func TestReadIntoMatchesRead(t *testing.T) {
	for _, rel := range []string{
		"derived/d01_portrait_rot90_meta_h264_stored1280x720.mp4",
		"images/i01_single_face_smile_572x562.jpg",
	} {
		path := sharedtest.Media(t, rel)
		a, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		m := gocv.NewMat()
		for i := 0; i < 30; i++ {
			fa, errA := a.Read()
			fb, errB := b.ReadInto(&m)
			if errA == io.EOF && errB == io.EOF {
				break
			}
			if errA != nil || errB != nil {
				t.Fatalf("%s frame %d: %v / %v", rel, i, errA, errB)
			}
			if fa.Index != fb.Index || fa.Time != fb.Time || matHash(t, fa.Mat) != matHash(t, m) {
				t.Errorf("%s frame %d: ReadInto differs from Read", rel, i)
			}
			fa.Mat.Close()
		}
		m.Close()
		a.Close()
		b.Close()
	}
}

// End tells the exact frame count once reading or seeking has met the end
// of the video, and nothing before; e03's container claims 98 frames of
// which 95 decode.
func TestReaderEnd(t *testing.T) {
	cases := []struct {
		file   string
		frames int
	}{
		{"videos/v10_grid_talking_frontal_mpeg1_360x288.mpg", 75},
		{"edge/e03_noface_animation_caminandes_960x540.mp4", 95},
		{"images/i01_single_face_smile_572x562.jpg", 1},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			r, err := Open(context.Background(), sharedtest.Media(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if n, ok := r.End(); ok {
				t.Fatalf("End before reading: %d frames", n)
			}
			m := gocv.NewMat()
			defer m.Close()
			read := 0
			for {
				_, err := r.ReadInto(&m)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				read++
				if _, ok := r.End(); ok && read < tc.frames {
					t.Fatalf("End after %d frames", read)
				}
			}
			if n, ok := r.End(); !ok || n != tc.frames || read != tc.frames {
				t.Errorf("read %d frames, End = %d, %v; want %d", read, n, ok, tc.frames)
			}
			if r.Info().Kind == Image {
				return
			}
			// A Seek past the end reports the same count.
			if err := r.Seek(0); err != nil {
				t.Fatal(err)
			}
			if err := r.Seek(tc.frames + 5); !errors.Is(err, ErrFrameRange) {
				t.Fatalf("Seek past the end: %v", err)
			}
			if n, ok := r.End(); !ok || n != tc.frames {
				t.Errorf("after Seek past the end: End = %d, %v; want %d", n, ok, tc.frames)
			}
		})
	}
}
