package encode

import (
	"context"
	"math"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"facemirror/internal/sharedtest"
	"facemirror/pipeline/video"
)

// TestAudio copies (or, for .mp4, converts) the audio of real sources: the
// output has audio exactly when the source has, in a codec its container
// plays, starting where it started relative to the first video frame, and
// never carries the source's rotation.
func TestAudio(t *testing.T) {
	type want struct {
		codec string  // audio codec in the output, "" for no audio
		start float64 // audio start_time in the output, seconds
	}
	cases := []struct {
		src     string
		mp4     want
		mkv     want
		rotated bool
	}{
		{src: "videos/v01_talking_frontal_glasses_480x360.mp4", mp4: want{"aac", 0}, mkv: want{"aac", 0}},
		{src: "edge/e01_neutral_to_smile_2.4s_mp3audio_640x360.mp4", mp4: want{"mp3", 0}, mkv: want{"mp3", 0}},
		// Audio is stream 0 and starts 2.43 s after the first frame.
		{src: "edge/e02_face_then_noface_hevc_vfr_audiofirst_960x540.mov", mp4: want{"aac", 2.430}, mkv: want{"aac", 2.430}},
		// MPEG-PS with MPEG-1 Layer II audio, which MP4 players do not
		// play: converted to AAC for .mp4, copied into .mkv.
		{src: "videos/v10_grid_talking_frontal_mpeg1_360x288.mpg", mp4: want{"aac", 0}, mkv: want{"mp2", 0}},
		// A phone video stored sideways with a display matrix, no audio.
		{src: "derived/d01_portrait_rot90_meta_h264_stored1280x720.mp4", rotated: true},
		{src: "bad/b09_vfr_real_face_30_10_15_30fps.mp4"},
	}
	for _, c := range cases {
		src := sharedtest.Media(t, c.src)
		for _, codec := range codecs {
			w := c.mp4
			if codec == FFV1 {
				w = c.mkv
			}
			t.Run(filepath.Base(c.src)+"/"+string(codec), func(t *testing.T) {
				t.Parallel()
				checkAudio(t, src, codec, w.codec, w.start)
			})
		}
	}
}

// checkAudio writes 10 frames with the audio of src and checks the result
// with ffprobe and pipeline/video.
func checkAudio(t *testing.T, src string, codec Codec, wantCodec string, wantStart float64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "a"+codec.Ext())
	opts := Options{Codec: codec, Width: 64, Height: 48, Rate: video.Rational{Num: 30, Den: 1}, AudioFrom: src}
	writeVideo(t, path, opts, cfrTimes(10, opts.Rate), sharpFrame)
	streams := ffprobeStreams(t, path)
	audio := streamsOfType(streams, "audio")
	switch {
	case wantCodec == "" && len(audio) > 0:
		t.Errorf("output has %d audio streams, the source none", len(audio))
	case wantCodec != "" && len(audio) != 1:
		t.Errorf("output has %d audio streams, want 1", len(audio))
	case wantCodec != "":
		if audio[0].CodecName != wantCodec {
			t.Errorf("audio codec %s, want %s", audio[0].CodecName, wantCodec)
		}
		start, _ := strconv.ParseFloat(audio[0].StartTime, 64)
		vstart := 0.0
		if v := streamsOfType(streams, "video"); len(v) == 1 {
			vstart, _ = strconv.ParseFloat(v[0].StartTime, 64)
		}
		// AAC encoding adds its priming delay (1024 samples, 23 ms),
		// which the container's own edit hides from players.
		if d := math.Abs((start - vstart) - wantStart); d > 0.03 {
			t.Errorf("audio starts %.3f s after the video, want %.3f", start-vstart, wantStart)
		}
	}
	for _, s := range streamsOfType(streams, "video") {
		for _, sd := range s.SideDataList {
			t.Errorf("video stream has side data %q (the frames are already upright)", sd.SideDataType)
		}
		if r := s.Tags["rotate"]; r != "" {
			t.Errorf("video stream has rotate tag %s", r)
		}
	}
	info, err := video.ProbeHeader(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Rotation != 0 || info.Width != 64 || info.Height != 48 {
		t.Errorf("read back %dx%d rotated %d, want 64x48 unrotated", info.Width, info.Height, info.Rotation)
	}
}

// TestAudioSynthetic covers what the shared videos do not: PCM audio (which
// MP4 players do not take), two audio streams, and a source whose video
// starts after its audio, so ffmpeg's own start (the audio's) is not the
// first frame's.
func TestAudioSynthetic(t *testing.T) {
	dir := t.TempDir()
	make := func(name string, args ...string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		cmd := exec.Command("ffmpeg", append(append([]string{"-v", "error", "-y"}, args...), p)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("making %s: %v: %s", name, err, out)
		}
		return p
	}
	video1s := []string{"-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=1"}
	pcm := make("pcm.mov", append(video1s, "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
		"-c:v", "mpeg4", "-c:a", "pcm_s16le")...)
	two := make("two.mkv", append(video1s, "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
		"-f", "lavfi", "-i", "sine=frequency=880:duration=1",
		"-map", "0", "-map", "1", "-map", "2", "-c:v", "mpeg4", "-c:a:0", "flac", "-c:a:1", "aac")...)
	// The video's first frame is about 0.5 s after the audio's first
	// sample (Matroska keeps the gap; ffmpeg's MP4 muxer would not).
	late := make("late.mkv", append([]string{"-itsoffset", "0.5"}, append(video1s, "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
		"-c:v", "mpeg4", "-c:a", "aac")...)...)

	cases := []struct {
		name   string
		src    string
		codec  Codec
		want   []string
		offset float64
	}{
		{"pcm/mp4", pcm, H264, []string{"aac"}, 0},
		{"pcm/mkv", pcm, FFV1, []string{"pcm_s16le"}, 0},
		{"two/mp4", two, H264, []string{"aac", "aac"}, 0},
		{"two/mkv", two, FFV1, []string{"flac", "aac"}, 0},
		{"late/mp4", late, H264, []string{"aac"}, sourceOffset(t, late)},
		{"late/mkv", late, FFV1, []string{"aac"}, sourceOffset(t, late)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "out"+c.codec.Ext())
			opts := Options{Codec: c.codec, Width: 64, Height: 48, Rate: video.Rational{Num: 25, Den: 1}, AudioFrom: c.src}
			if c.codec == H264 {
				// An explicit ffmpeg path: its ffprobe is found beside it.
				ff, err := exec.LookPath("ffmpeg")
				if err != nil {
					t.Fatal(err)
				}
				opts.FFmpeg = ff
			}
			writeVideo(t, path, opts, cfrTimes(25, opts.Rate), sharpFrame)
			streams := ffprobeStreams(t, path)
			audio := streamsOfType(streams, "audio")
			if len(audio) != len(c.want) {
				t.Fatalf("%d audio streams, want %d", len(audio), len(c.want))
			}
			for i, a := range audio {
				if a.CodecName != c.want[i] {
					t.Errorf("audio stream %d: %s, want %s", i, a.CodecName, c.want[i])
				}
			}
			if c.offset != 0 {
				checkAudioOffset(t, path, c.offset)
			}
		})
	}
}

// checkAudioOffset checks where the audio's first sample lies relative to
// the first video frame (negative: that much audio precedes the video). The
// first packet is read rather than the stream's start_time, because MP4
// trims audio that precedes the video with an edit list: its packets are
// kept, marked as discarded, and start_time says 0.
func checkAudioOffset(t *testing.T, path string, want float64) {
	t.Helper()
	first := func(sel string) float64 {
		out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", sel, "-show_entries", "packet=pts_time",
			"-read_intervals", "%+#1", "-of", "csv=p=0", path).Output()
		if err != nil {
			t.Fatalf("ffprobe %s: %v", path, err)
		}
		// ffprobe appends an empty side-data field to the first packet.
		text, _, _ := strings.Cut(strings.TrimSpace(string(out)), ",")
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			t.Fatalf("ffprobe %s: first %s packet: %q", path, sel, out)
		}
		return v
	}
	streams := ffprobeStreams(t, path)
	vs, _ := strconv.ParseFloat(streamsOfType(streams, "video")[0].StartTime, 64)
	if d := first("a:0") - vs; math.Abs(d-want) > 0.03 {
		t.Errorf("audio starts at %.3f s relative to the video, want %.3f", d, want)
	}
}

// sourceOffset returns when a source's first audio sample plays relative
// to its first video frame, by ffprobe, and checks it is the case tested.
func sourceOffset(t *testing.T, path string) float64 {
	t.Helper()
	streams := ffprobeStreams(t, path)
	vs, _ := strconv.ParseFloat(streamsOfType(streams, "video")[0].StartTime, 64)
	as, _ := strconv.ParseFloat(streamsOfType(streams, "audio")[0].StartTime, 64)
	if as-vs > -0.4 {
		t.Fatalf("%s: audio starts %.3f s after the video, want about -0.5", path, as-vs)
	}
	return as - vs
}
