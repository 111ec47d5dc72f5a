package video

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"facemirror/internal/sharedtest"
)

// expectation is what Probe must report for one shared media file.
type expectation struct {
	err    error  // sentinel for a bad file; nil for a usable one
	msg    string // exact error text, when pinned
	detail string // substring of the error text, when pinned

	kind          Kind
	frames        int
	width, height int
	storedW       int
	storedH       int
	rotation      int
	fps           string
	codec         string
	source        TimestampSource
	duration      time.Duration
}

// mediaExpectations covers every file of the shared media folders. Frame
// counts of v01, v02, v04, v10, e01, e02, e03 and d04 are those of
// reference/mtcnn/decode_info.csv and media/README.md (also checked against
// the CSV below); the others were measured and pinned. Frame rates are
// FFmpeg's exact average rates (cross-checked with ffprobe's avg_frame_rate
// when pinning). Durations are the container's: v02's edit list ends the
// last frame at 19.685 s (ffprobe's stream duration too), 1.3 ms before its
// sample would.
var mediaExpectations = map[string]expectation{
	"bad/b01_zero_bytes.mp4":                   {err: ErrEmpty, msg: "b01_zero_bytes.mp4: the file is empty (0 bytes)"},
	"bad/b02a_truncated_30pct_moov_at_end.mp4": {err: ErrTruncated, detail: "moov atom not found"},
	"bad/b03_random_bytes_1MiB.mp4":            {err: ErrNotMedia, msg: "b03_random_bytes_1MiB.mp4: not a video or image file"},
	"bad/b04_text_file.mov":                    {err: ErrNotMedia, msg: "b04_text_file.mov: not a video or image file"},
	"bad/b05_audio_only_sine_440hz_5s.mp4":     {err: ErrNoVideoStream, detail: "only a sound track"},
	"bad/b06_valid_no_face_testsrc_640x480_5s.mp4": {kind: Video, frames: 150, width: 640, height: 480,
		fps: "30/1", codec: "avc1", source: SampleTable, duration: 5 * time.Second},
	"bad/b07_tiny_32x32_real_face_3s.mp4": {kind: Video, frames: 90, width: 32, height: 32,
		fps: "30/1", codec: "avc1", source: SampleTable, duration: 3 * time.Second},
	"bad/b08 Gesicht Ünïcødé 顔テスト – café 😀 (1).mp4": {kind: Video, frames: 72, width: 640, height: 360,
		fps: "30/1", codec: "avc1", source: SampleTable, duration: 2400 * time.Millisecond},
	"bad/b09_vfr_real_face_30_10_15_30fps.mp4": {kind: Video, frames: 210, width: 480, height: 360,
		fps: "21/1", codec: "avc1", source: SampleTable, duration: 10 * time.Second},
	"bad/b10_one_frame_real_face_480x360.mp4": {kind: Video, frames: 1, width: 480, height: 360,
		fps: "30/1", codec: "avc1", source: SampleTable, duration: 33333333},
	"bad/b12_truncated_jpeg_skimage_400B.jpg": {err: ErrTruncated, detail: "end-of-image marker"},
	"bad/b13_zero_bytes.jpg":                  {err: ErrEmpty},
	"bad/b14_text_named.png":                  {err: ErrNotMedia, msg: "b14_text_named.png: not a video or image file"},

	"videos/v01_talking_frontal_glasses_480x360.mp4": {kind: Video, frames: 300, width: 480, height: 360,
		fps: "30/1", codec: "avc1", source: SampleTable, duration: 10 * time.Second},
	"videos/v02_emotions_sad_to_laughing_640x360_pexels.mp4": {kind: Video, frames: 472, width: 640, height: 360,
		fps: "24000/1001", codec: "avc1", source: SampleTable, duration: 19685 * time.Millisecond},
	"videos/v04_eyeclosure_cheekpuff_smile_glasses_512x480.mp4": {kind: Video, frames: 587, width: 512, height: 480,
		fps: "30/1", codec: "avc1", source: SampleTable, duration: 19566666667},
	"videos/v10_grid_talking_frontal_mpeg1_360x288.mpg": {kind: Video, frames: 75, width: 360, height: 288,
		fps: "25/1", codec: "mpeg", source: Decoder, duration: 3 * time.Second},

	"edge/e01_neutral_to_smile_2.4s_mp3audio_640x360.mp4": {kind: Video, frames: 72, width: 640, height: 360,
		fps: "30/1", codec: "avc1", source: SampleTable, duration: 2400 * time.Millisecond},
	"edge/e02_face_then_noface_hevc_vfr_audiofirst_960x540.mov": {kind: Video, frames: 169, width: 960, height: 540,
		fps: "519168/19667", codec: "hvc1", source: SampleTable, duration: 6402018229},
	"edge/e03_noface_animation_caminandes_960x540.mp4": {kind: Video, frames: 95, width: 960, height: 540,
		fps: "150528/6359", codec: "avc1", source: SampleTable, duration: 3931315104},

	"derived/d01_portrait_rot90_meta_h264_stored1280x720.mp4": {kind: Video, frames: 352, width: 720, height: 1280,
		storedW: 1280, storedH: 720, rotation: 270, fps: "30/1", codec: "avc1", source: SampleTable, duration: 11733333333},
	"derived/d04_emotions_upscaled_1920x1080_19.7s.mp4": {kind: Video, frames: 472, width: 1920, height: 1080,
		fps: "24000/1001", codec: "avc1", source: SampleTable, duration: 19686333333},

	"images/i01_single_face_smile_572x562.jpg":        {kind: Image, frames: 1, width: 572, height: 562, fps: "0/1", codec: "jpeg"},
	"images/i03_posed_surprise_512x512.jpg":           {kind: Image, frames: 1, width: 512, height: 512, fps: "0/1", codec: "jpeg"},
	"images/i06_astronaut_eileen_collins_512x512.png": {kind: Image, frames: 1, width: 512, height: 512, fps: "0/1", codec: "png"},
}

var mediaFolders = []string{"bad", "videos", "edge", "derived", "images"}

// TestMediaExpectationsCoverEveryFile keeps the table honest: a file added
// to the shared media without an expectation fails here.
func TestMediaExpectationsCoverEveryFile(t *testing.T) {
	root := sharedtest.Path(t, "media")
	seen := map[string]bool{}
	for _, dir := range mediaFolders {
		ents, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			rel := dir + "/" + e.Name()
			seen[rel] = true
			if _, ok := mediaExpectations[rel]; !ok {
				t.Errorf("no expectation for %s", rel)
			}
		}
	}
	for rel := range mediaExpectations {
		if !seen[rel] {
			t.Errorf("expectation for missing file %s", rel)
		}
	}
}

func TestProbeEveryMediaFile(t *testing.T) {
	for rel, want := range mediaExpectations {
		t.Run(rel, func(t *testing.T) {
			path := sharedtest.Media(t, rel)
			var info, header Info
			var err, headerErr error
			withinLimit(t, "Probe "+rel, func(ctx context.Context) {
				info, err = Probe(ctx, path)
				header, headerErr = ProbeHeader(ctx, path)
			})
			if want.err != nil {
				checkBadFile(t, path, want, err)
				if headerErr == nil || headerErr.Error() != err.Error() {
					t.Errorf("ProbeHeader error %v, Probe error %v: they must agree", headerErr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			if headerErr != nil {
				t.Fatalf("ProbeHeader: %v", headerErr)
			}
			checkInfo(t, info, want)
			probed.Store(rel, info)
			if !info.FramesExact {
				t.Errorf("Probe FramesExact = false")
			}
			// The header-level Info must agree on everything it reports.
			if header.Kind != info.Kind || header.Width != info.Width || header.Height != info.Height ||
				header.Rotation != info.Rotation || header.FPS != info.FPS || header.Codec != info.Codec {
				t.Errorf("ProbeHeader %+v disagrees with Probe %+v", header, info)
			}
			// For every file here the container's own count (edit list
			// applied) is already exact, e03 included.
			if header.Frames != info.Frames {
				t.Errorf("ProbeHeader frames %d, Probe %d", header.Frames, info.Frames)
			}
			checkTimestampsShape(t, info)
		})
	}
}

func checkBadFile(t *testing.T, path string, want expectation, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("Probe succeeded, want %v", want.err)
	}
	if !errors.Is(err, want.err) {
		t.Fatalf("Probe error %q does not wrap %q", err, want.err)
	}
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %T is not an *Error", err)
	}
	if !strings.HasPrefix(err.Error(), filepath.Base(path)+": ") {
		t.Errorf("error %q does not start with the file name", err)
	}
	if want.msg != "" && err.Error() != want.msg {
		t.Errorf("error text %q, want %q", err, want.msg)
	}
	if want.detail != "" && !strings.Contains(err.Error(), want.detail) {
		t.Errorf("error text %q lacks %q", err, want.detail)
	}
	// Open must refuse the file in the very same words.
	r, openErr := Open(context.Background(), path)
	if openErr == nil {
		r.Close()
		t.Fatalf("Open succeeded on a bad file")
	}
	if openErr.Error() != err.Error() {
		t.Errorf("Open error %q, Probe error %q", openErr, err)
	}
}

func checkInfo(t *testing.T, info Info, want expectation) {
	t.Helper()
	storedW, storedH := want.storedW, want.storedH
	if storedW == 0 {
		storedW, storedH = want.width, want.height
	}
	got := fmt.Sprintf("kind=%v frames=%d size=%dx%d stored=%dx%d rot=%d fps=%s codec=%q source=%v duration=%v",
		info.Kind, info.Frames, info.Width, info.Height, info.StoredWidth, info.StoredHeight, info.Rotation,
		info.FPS, info.Codec, info.TimestampSource, info.Duration)
	exp := fmt.Sprintf("kind=%v frames=%d size=%dx%d stored=%dx%d rot=%d fps=%s codec=%q source=%v duration=%v",
		want.kind, want.frames, want.width, want.height, storedW, storedH, want.rotation,
		want.fps, want.codec, want.source, want.duration)
	if got != exp {
		t.Errorf("Probe:\n got %s\nwant %s", got, exp)
	}
	if info.Extrapolated != 0 {
		t.Errorf("%d timestamps extrapolated, want 0", info.Extrapolated)
	}
	if info.Truncated {
		t.Errorf("Truncated set on an intact file")
	}
}

// checkTimestampsShape asserts one timestamp per frame, starting at 0 and
// strictly increasing, and within the duration.
func checkTimestampsShape(t *testing.T, info Info) {
	t.Helper()
	if info.Kind == Image {
		if info.Timestamps != nil || info.Duration != 0 || info.FPS != (Rational{0, 1}) {
			t.Errorf("image has timestamps %v, duration %v, fps %v", info.Timestamps, info.Duration, info.FPS)
		}
		return
	}
	ts := info.Timestamps
	if len(ts) != info.Frames {
		t.Fatalf("%d timestamps for %d frames", len(ts), info.Frames)
	}
	if ts[0] != 0 {
		t.Errorf("first timestamp %v, want 0", ts[0])
	}
	for i := 1; i < len(ts); i++ {
		if ts[i] <= ts[i-1] {
			t.Fatalf("timestamp %d (%v) not after %d (%v)", i, ts[i], i-1, ts[i-1])
		}
	}
	if last := ts[len(ts)-1]; last >= info.Duration {
		t.Errorf("last timestamp %v not before the duration %v", last, info.Duration)
	}
}

// TestReadEveryMediaFile decodes every usable file with the Reader and
// checks that it yields exactly the frames and times Probe reported, as
// upright 8-bit BGR Mats of the reported size.
func TestReadEveryMediaFile(t *testing.T) {
	for rel, want := range mediaExpectations {
		if want.err != nil {
			continue
		}
		t.Run(rel, func(t *testing.T) {
			path := sharedtest.Media(t, rel)
			info := probeMedia(t, rel)
			withinLimit(t, "Read "+rel, func(ctx context.Context) {
				r, err := Open(ctx, path)
				if err != nil {
					t.Error(err)
					return
				}
				defer r.Close()
				if ri := r.Info(); ri.Width != info.Width || ri.Height != info.Height || ri.Frames != info.Frames {
					t.Errorf("Reader.Info %dx%d %d frames, Probe %dx%d %d frames", ri.Width, ri.Height, ri.Frames, info.Width, info.Height, info.Frames)
				}
				n := 0
				for {
					f, err := r.Read()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Errorf("frame %d: %v", n, err)
						return
					}
					if f.Index != n {
						t.Errorf("frame %d has index %d", n, f.Index)
					}
					if info.Kind == Video && (n >= len(info.Timestamps) || f.Time != info.Timestamps[n]) {
						t.Errorf("frame %d time %v, Probe says %v", n, f.Time, info.Timestamps[min(n, len(info.Timestamps)-1)])
					}
					if f.Mat.Cols() != info.Width || f.Mat.Rows() != info.Height || f.Mat.Type() != gocv.MatTypeCV8UC3 {
						t.Errorf("frame %d is %dx%d type %v, want %dx%d CV8UC3", n, f.Mat.Cols(), f.Mat.Rows(), f.Mat.Type(), info.Width, info.Height)
					}
					f.Mat.Close()
					n++
				}
				if n != info.Frames {
					t.Errorf("read %d frames, Probe says %d", n, info.Frames)
				}
				if _, err := r.Read(); err != io.EOF {
					t.Errorf("Read after the end: %v, want io.EOF", err)
				}
			})
		})
	}
}

// TestDecodeInfoReference compares Probe with what the reference OpenFace
// machine recorded for each input (reference/mtcnn/decode_info.csv): the
// decoded frame count, the size and CAP_PROP_FPS.
func TestDecodeInfoReference(t *testing.T) {
	header, rows := readCSV(t, sharedtest.Reference(t, "mtcnn/decode_info.csv"))
	cName, cKind := column(t, header, "video"), column(t, header, "kind")
	cW, cH := column(t, header, "width"), column(t, header, "height")
	cFrames, cFPS := column(t, header, "decoded_frames"), column(t, header, "cap_prop_fps")
	if len(rows) != 10 {
		t.Fatalf("%d rows in decode_info.csv, want 10", len(rows))
	}
	for _, row := range rows {
		rel := findMedia(t, row[cName])
		info := probeMedia(t, rel)
		if info.Kind.String() != row[cKind] || info.Width != atoi(t, row[cW]) || info.Height != atoi(t, row[cH]) ||
			info.Frames != atoi(t, row[cFrames]) {
			t.Errorf("%s: %v %dx%d %d frames, reference %s %sx%s %s frames", rel, info.Kind, info.Width, info.Height,
				info.Frames, row[cKind], row[cW], row[cH], row[cFrames])
		}
		if row[cFPS] != "" && fmt.Sprintf("%.6f", info.FPS.Float()) != row[cFPS] {
			t.Errorf("%s: fps %.6f (%v), reference %s", rel, info.FPS.Float(), info.FPS, row[cFPS])
		}
	}
}

// findMedia returns the media path (relative to shared/media) of the file
// whose name without extension is stem.
func findMedia(t *testing.T, stem string) string {
	t.Helper()
	for rel := range mediaExpectations {
		base := filepath.Base(rel)
		if strings.TrimSuffix(base, filepath.Ext(base)) == stem {
			return rel
		}
	}
	t.Fatalf("no media file named %s.*", stem)
	return ""
}
