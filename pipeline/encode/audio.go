package encode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// audioStream is one audio stream of the source and what becomes of it.
type audioStream struct {
	index int    // stream index in the source file (ffmpeg's -map 1:<index>)
	codec string // ffprobe's codec_name, e.g. "aac", "mp3", "mp2"
	// encoder is "copy" or the encoder that converts it for the output
	// container.
	encoder string
}

// audioPlan is what Create learned about Options.AudioFrom before starting
// ffmpeg.
type audioPlan struct {
	input   string // ffmpeg's name for the source, "file:<absolute path>"
	streams []audioStream
	// offset goes to -itsoffset: it moves the audio so that the source's
	// first video frame, not the source's earliest packet, lands at time 0
	// of the output, as the written frames do.
	offset time.Duration
}

// Audio is what a source's audio streams become in videos of one codec,
// learned from ffprobe by PlanAudio. Given as Options.Audio it serves
// every Writer of that source and codec, which then run no ffprobe of
// their own: the mirrored and debug videos of one source share one.
type Audio struct {
	source string
	codec  Codec
	plan   audioPlan
}

// PlanAudio asks ffprobe (the one beside ffmpeg, or on PATH when ffmpeg is
// empty) about source's audio for videos of codec; see Options.Audio.
func PlanAudio(ctx context.Context, ffmpeg, source string, codec Codec) (*Audio, error) {
	if !codec.valid() {
		_, err := ParseCodec(string(codec))
		return nil, err
	}
	prog := ffmpeg
	if prog == "" {
		prog = "ffmpeg"
	}
	resolved, err := exec.LookPath(prog)
	if err != nil {
		return nil, notFound(ffmpeg, err)
	}
	plan, err := planAudio(ctx, ffprobeFor(resolved), source, codec)
	if err != nil {
		return nil, err
	}
	return &Audio{source: source, codec: codec, plan: plan}, nil
}

// mp4Audio lists the codecs copied into .mp4 unchanged: the ones QuickTime,
// Windows and the browsers all play from MP4. ffmpeg 5.1's mp4 muxer would
// take more (MP2, AC-3, Opus, FLAC, ALAC), but a file one of those players
// plays silently is worse than a re-encoded track, so everything else is
// transcoded to AAC. Matroska takes every codec, so .mkv always copies.
var mp4Audio = map[string]bool{"aac": true, "mp3": true}

// ffprobeFor returns the ffprobe that ships beside ffmpeg: the same folder
// and the same spelling ("ffmpeg.exe" gives "ffprobe.exe").
func ffprobeFor(ffmpeg string) string {
	dir, base := filepath.Split(ffmpeg)
	probe := "ffprobe"
	if strings.Contains(base, "ffmpeg") {
		probe = strings.Replace(base, "ffmpeg", "ffprobe", 1)
	}
	if dir == "" {
		return probe
	}
	return filepath.Join(dir, probe)
}

// probeOutput is the part of ffprobe's JSON that planAudio reads.
type probeOutput struct {
	Streams []struct {
		Index       int    `json:"index"`
		CodecType   string `json:"codec_type"`
		CodecName   string `json:"codec_name"`
		StartTime   string `json:"start_time"`
		Disposition struct {
			AttachedPic int `json:"attached_pic"`
		} `json:"disposition"`
	} `json:"streams"`
	Format struct {
		StartTime string `json:"start_time"`
	} `json:"format"`
}

// planAudio asks ffprobe about the source's streams once, up front, so
// that the one ffmpeg run already knows which audio streams to copy and
// which to transcode: retrying a whole encode after the muxer refused a
// codec would cost the whole encode again.
func planAudio(ctx context.Context, ffprobe, source string, codec Codec) (audioPlan, error) {
	abs, err := filepath.Abs(source)
	if err != nil {
		return audioPlan{}, err
	}
	input := "file:" + abs
	cmd := exec.CommandContext(ctx, ffprobe, "-v", "error", "-hide_banner",
		"-show_entries", "stream=index,codec_type,codec_name,start_time:stream_disposition=attached_pic:format=start_time",
		"-of", "json", "-i", input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return audioPlan{}, fmt.Errorf("ffprobe not found (%s), needed to read the audio of %s: install ffmpeg (apt-get install ffmpeg): %w", ffprobe, filepath.Base(source), err)
		}
		if ctx.Err() != nil {
			return audioPlan{}, ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		// ffprobe's message starts with the path it was given; the
		// caller's error already names the file.
		msg = strings.TrimPrefix(msg, input+": ")
		return audioPlan{}, fmt.Errorf("reading the audio of %s: ffprobe: %s: %w", filepath.Base(source), msg, err)
	}
	var out probeOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return audioPlan{}, fmt.Errorf("reading the audio of %s: unexpected ffprobe output: %w", filepath.Base(source), err)
	}
	plan := audioPlan{input: input}
	videoStart, haveVideo := 0.0, false
	for _, s := range out.Streams {
		switch s.CodecType {
		case "audio":
			// A stream ffprobe cannot name can be neither copied nor
			// decoded; it is left out rather than failing the video.
			if s.CodecName == "" || s.CodecName == "unknown" {
				continue
			}
			enc := "copy"
			if codec == H264 && !mp4Audio[s.CodecName] {
				enc = "aac"
			}
			plan.streams = append(plan.streams, audioStream{index: s.Index, codec: s.CodecName, encoder: enc})
		case "video":
			// The decoder behind pipeline/video takes the first video
			// stream; cover art is not a video.
			if !haveVideo && s.Disposition.AttachedPic == 0 {
				if t, ok := parseSeconds(s.StartTime); ok {
					videoStart, haveVideo = t, true
				}
			}
		}
	}
	// ffmpeg shifts every input so that its earliest start (the format's
	// start_time) becomes 0. The frames written here start at the source's
	// first video frame, so the audio must move by the difference.
	if fileStart, ok := parseSeconds(out.Format.StartTime); ok && haveVideo {
		plan.offset = time.Duration(math.Round((fileStart - videoStart) * float64(time.Second)))
	}
	return plan, nil
}

func parseSeconds(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// args returns the input options and mappings for the audio: the input
// (with its offset) and, after the video's, the -map and -c:a options.
func (p audioPlan) inputArgs() []string {
	if len(p.streams) == 0 {
		return nil
	}
	var a []string
	if p.offset != 0 {
		a = append(a, "-itsoffset", seconds(p.offset))
	}
	// Only the audio streams are mapped and no metadata is copied
	// (-map_metadata -1 in the output options), so a phone video's
	// rotation (a display matrix on its video stream) cannot reach the
	// output, whose frames are already upright.
	return append(a, "-i", p.input)
}

func (p audioPlan) outputArgs() []string {
	var a []string
	for i, s := range p.streams {
		a = append(a, "-map", fmt.Sprintf("1:%d", s.index), fmt.Sprintf("-c:a:%d", i), s.encoder)
	}
	return a
}

// seconds formats d for an ffmpeg time option, exactly to the microsecond.
func seconds(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	us := d / time.Microsecond
	return fmt.Sprintf("%s%d.%06d", sign, us/1e6, us%1e6)
}
