package encode

import "strconv"

// Encoder settings. See the package documentation for the measurements
// behind them.
const (
	// x264Preset is the preset that keeps three 1080p encoders near 30
	// frames/s in total while the face analysis takes its share of the 2
	// cores (veryfast, whose files are half the size, fell to 25). See
	// the package documentation for the table.
	x264Preset = "ultrafast"
	// x264CRF 18 is the usual "visually lossless" setting: the mirrored
	// videos are watched by clinicians looking for small asymmetries.
	x264CRF = "18"

	// ffv1Slices splits each large frame into 12 independently coded
	// slices so that ffmpeg encodes them on both cores: 23 frames/s at 1080p instead of 15 with one slice, for
	// 1.4 % more bytes.
	ffv1Slices = "12"
	// ffv1SliceMinPixels is the frame size from which slices are used.
	// FFV1 level 3 fails to open or, worse, decodes wrongly for tiny frames
	// with several slices (measured: 4x4 with 12 slices, 2x2 with 4); level
	// 1 (one slice) was exact at every size tried, 1x1 included, and below
	// this size speed does not matter.
	ffv1SliceMinPixels = 320 * 240

	// vfrTimescale is the clock of a variable-rate MP4 (ticks per second):
	// the MPEG clock, 11 µs per tick, far finer than the 1 ms promised.
	vfrTimescale = 90000
	// mkvTimescale is Matroska's clock as ffmpeg 5.1 writes it: 1 ms,
	// not configurable.
	mkvTimescale = 1000
)

// ffmpegArgs returns the whole ffmpeg command line after the program name.
// The video arrives on stdin as the Matroska stream of mkvstream.go, whose
// header carries the frame size; out is the temporary file.
func ffmpegArgs(opts Options, audio audioPlan, out string) []string {
	rate := strconv.FormatInt(opts.Rate.Num, 10) + "/" + strconv.FormatInt(opts.Rate.Den, 10)
	a := []string{
		"-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
		// Up to 2 frames waiting in ffmpeg's input queue instead of its
		// default 8 (used when there is an audio input too): 20 MB less
		// per 1080p encoder, measured without loss of speed.
		"-thread_queue_size", "2",
		"-f", "matroska", "-i", "pipe:0",
	}
	a = append(a, audio.inputArgs()...)
	a = append(a, "-map", "0:v:0")
	a = append(a, audio.outputArgs()...)
	a = append(a,
		"-map_metadata", "-1", "-map_chapters", "-1",
		// -r sets the encoder's clock to exactly 1/Rate and the stream's
		// nominal rate (MP4 timescale, Matroska DefaultDuration);
		// passthrough keeps every frame with its own time, never
		// dropping or duplicating one.
		"-r", rate, "-fps_mode", "passthrough",
	)
	if opts.VariableRate {
		// The frames' own times must survive, so the encoder's clock is
		// the container's finest rather than 1/Rate.
		tb := vfrTimescale
		if opts.Codec == FFV1 {
			tb = mkvTimescale
		}
		a = append(a, "-enc_time_base", "1/"+strconv.Itoa(tb))
		if opts.Codec == H264 {
			a = append(a, "-video_track_timescale", strconv.Itoa(tb))
		}
	}
	switch opts.Codec {
	case H264:
		a = append(a,
			// The frames arrive as I420 already (toI420); the tags make
			// players use the BT.601 matrix they were converted with.
			"-c:v", "libx264", "-preset", x264Preset, "-crf", x264CRF,
			// One thread: FaceMirror runs three encoders beside the
			// face analysis, so cores are never idle for lack of
			// encoder threads, and each x264 thread costs CPU to
			// coordinate and memory for its frames.
			"-threads", "1",
			"-pix_fmt", "yuv420p",
			"-colorspace", "smpte170m", "-color_primaries", "bt709",
			"-color_trc", "bt709", "-color_range", "tv",
			"-movflags", "+faststart",
		)
	case FFV1:
		a = append(a, "-c:v", "ffv1", "-pix_fmt", "bgr0", "-g", "1")
		if opts.Width*opts.Height >= ffv1SliceMinPixels {
			a = append(a, "-level", "3", "-slices", ffv1Slices)
		} else {
			a = append(a, "-level", "1")
		}
	}
	// bitexact: no random Matroska segment UID and no version strings, so
	// the same frames give the same bytes on every run.
	a = append(a, "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact")
	return append(a, "-f", opts.Codec.muxer(), "-y", out)
}
