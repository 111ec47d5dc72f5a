package encode

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"facemirror/pipeline/video"
)

// sharpFrame is a deterministic test picture with sharp edges and
// gradients: blue rises to the right, green downwards, red is a
// checkerboard of 8-pixel squares that moves 2 pixels per frame, and the
// first pixel's red holds the frame index, so a lossless round trip also
// proves the frame order.
func sharpFrame(w, h, i int) []byte {
	pix := make([]byte, w*h*3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := (y*w + x) * 3
			pix[o] = byte(x * 255 / max(w-1, 1))
			pix[o+1] = byte(y * 255 / max(h-1, 1))
			if ((x+2*i)/8+y/8)%2 == 0 {
				pix[o+2] = 230
			} else {
				pix[o+2] = 20
			}
		}
	}
	pix[2] = byte(i)
	return pix
}

// smoothFrame is a picture lossy coding keeps well: gentle gradients in
// mid-range values that drift from frame to frame.
func smoothFrame(w, h, i int) []byte {
	pix := make([]byte, w*h*3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := (y*w + x) * 3
			fx, fy := float64(x)/float64(max(w-1, 1)), float64(y)/float64(max(h-1, 1))
			pix[o] = byte(60 + 120*fx + float64(i))
			pix[o+1] = byte(70 + 100*fy)
			pix[o+2] = byte(90 + 50*fx + 50*fy)
		}
	}
	return pix
}

// cfrTimes returns the exact times of n frames at rate r.
func cfrTimes(n int, r video.Rational) []time.Duration {
	ts := make([]time.Duration, n)
	for i := range ts {
		ts[i] = time.Duration(math.Round(float64(i) * float64(time.Second) * float64(r.Den) / float64(r.Num)))
	}
	return ts
}

// writeVideo writes frames made by gen at the given times and commits.
func writeVideo(t testing.TB, path string, opts Options, times []time.Duration, gen func(w, h, i int) []byte) {
	t.Helper()
	w, err := Create(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, ts := range times {
		if err := w.Write(gen(opts.Width, opts.Height, i), ts); err != nil {
			w.Abort()
			t.Fatal(err)
		}
	}
	if got := w.Frames(); got != len(times) {
		t.Errorf("Frames() = %d, want %d", got, len(times))
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

// readFrames decodes the whole file with pipeline/video.
func readFrames(t testing.TB, path string) (frames [][]byte, w, h int) {
	t.Helper()
	r, err := video.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for {
		f, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		w, h = f.Mat.Cols(), f.Mat.Rows()
		frames = append(frames, f.Mat.ToBytes())
		f.Mat.Close()
	}
	return frames, w, h
}

// meanAbsDiff compares the w x h picture a with the top-left w x h part
// of b, which is bw pixels wide.
func meanAbsDiff(a []byte, w, h int, b []byte, bw int) float64 {
	var sum int
	for y := 0; y < h; y++ {
		for x := 0; x < 3*w; x++ {
			d := int(a[y*3*w+x]) - int(b[y*3*bw+x])
			if d < 0 {
				d = -d
			}
			sum += d
		}
	}
	return float64(sum) / float64(3*w*h)
}

// probedStream is what the tests check with ffprobe, which reads the
// container independently of pipeline/video.
type probedStream struct {
	Index        int    `json:"index"`
	CodecType    string `json:"codec_type"`
	CodecName    string `json:"codec_name"`
	Profile      string `json:"profile"`
	PixFmt       string `json:"pix_fmt"`
	ColorSpace   string `json:"color_space"`
	ColorRange   string `json:"color_range"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	AvgFrameRate string `json:"avg_frame_rate"`
	StartTime    string `json:"start_time"`
	SideDataList []struct {
		SideDataType string `json:"side_data_type"`
	} `json:"side_data_list"`
	Tags map[string]string `json:"tags"`
}

func ffprobeStreams(t testing.TB, path string) []probedStream {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_streams", "-of", "json", path).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("ffprobe %s: %v: %s", path, err, ee.Stderr)
		}
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var v struct {
		Streams []probedStream `json:"streams"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v.Streams
}

func streamsOfType(ss []probedStream, typ string) []probedStream {
	var out []probedStream
	for _, s := range ss {
		if s.CodecType == typ {
			out = append(out, s)
		}
	}
	return out
}

// dirEntries lists a folder's names, to prove no temporary file is left.
func dirEntries(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// waitFor polls cond for up to 10 s: ctx cancellation is handled in the
// background, so its effects appear shortly after cancel returns.
func waitFor(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// processGone reports whether pid has been reaped: a zombie (exited but
// not waited for) still has its /proc entry.
func processGone(pid int) bool {
	_, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid)))
	return errors.Is(err, os.ErrNotExist)
}
