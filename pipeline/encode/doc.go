// Package encode writes the frames FaceMirror produces (8-bit BGR, 3 bytes
// per pixel, rows of 3*Width bytes) to a video file by driving an ffmpeg
// child process over its stdin (Debian 12's ffmpeg 5.1). Two kinds of file
// are made: H264 (.mp4) for people to watch in any player, and FFV1 (.mkv),
// lossless, for the program to analyse again with the same result as the
// frames it held in memory.
//
// Usage:
//
//	w, err := encode.Create(ctx, "clip_left_mirrored"+encode.H264.Ext(), encode.Options{
//		Codec: encode.H264, Width: info.Width, Height: info.Height,
//		Rate: info.FPS, AudioFrom: source,
//	})
//	if err != nil { ... }
//	defer w.Abort() // a no-op once Commit has succeeded
//	for ... { if err := w.Write(pix, frame.Time); err != nil { ... } }
//	return w.Commit()
//
// # Getting frames and their times into ffmpeg
//
// Raw video over a pipe carries no timestamps, so the frames travel as a
// minimal live Matroska stream written here (mkvstream.go): an EBML header,
// a Segment of unknown size, one uncompressed track (V_UNCOMPRESSED, with
// the FourCC "BGR" 24 for FFV1, which FFmpeg reads as bgr24, and "I420" for
// H.264, which it reads as yuv420p, both without conversion) and one
// Cluster per frame holding a single SimpleBlock with the frame's time.
// Matroska was chosen over NUT, the other format FFmpeg reads raw video
// from a pipe with timestamps, because it needs no checksums, no
// syncpoints and no variable-length tables; one Cluster per frame keeps
// every time absolute, so no gap between frames can overflow the Block's
// 16-bit relative time. The stream's clock is one microsecond: finer than
// every output clock, so its single rounding never moves a frame to
// another output tick. Each frame costs about 25 header bytes. FFV1 frames
// go to the pipe straight from the caller's slice (odd sizes aside);
// H.264 frames are converted to I420 first (see Pixel formats). Prepare
// and WriteFrame split Write in two, so that a caller queueing frames for
// an encoder queues them converted: half the bytes, and no copy of the
// BGR frame.
//
// One path serves both modes. With a constant rate, frame i is sent at
// exactly i*Den/Num seconds and ffmpeg gets -r Num/Den, which makes its
// encoder clock exactly 1/Rate; its rounding to that clock undoes the
// microsecond rounding, so frame i is tick i. With VariableRate the times
// given to Write (relative to the first one) are sent and the encoder's
// clock is the container's finest: 1/90000 s in .mp4 (the MPEG clock, 11
// µs, set as the track timescale with -video_track_timescale) and 1 ms in
// .mkv (ffmpeg 5.1's Matroska muxer always counts milliseconds). In both
// modes -fps_mode passthrough keeps every frame with its own time, never
// dropping or duplicating one, and -r still sets the nominal rate.
//
// # Exact frame rate and timestamps when read back
//
// pipeline/video reports FFmpeg's average frame rate (avg_frame_rate) and
// per-frame times; measured through it (TestConstantRate,
// TestVariableRate, TestMatroskaRates):
//
//   - .mp4: ffmpeg's MP4 timescale for a constant rate is the rate's
//     numerator times a power of two (30000 for 30000/1001, 15360 for 30/1),
//     every sample lasts exactly Den ticks, and the demuxer derives the
//     average rate from those tables: every rate comes back exactly
//     (30000/1001, 24000/1001, 25/1, 30/1, 60000/1001, also 519168/19667),
//     and every frame time within microseconds. Variable-rate times come
//     back to 1/90000 s (tested with b09's and e02's own times too); the
//     average rate is then the file's true average, in which the last
//     frame counts as lasting 1/Rate, so it is close to Rate but not equal
//     (b09: 9450000/450643 for 21/1).
//   - .mkv: Matroska counts milliseconds, so frame times come back within
//     0.5 ms (33, 67, 100 ms at 29.97). The average rate comes from the
//     track's DefaultDuration (one frame in nanoseconds, which ffmpeg
//     writes from -r): FFmpeg's demuxer turns it into the nearest fraction
//     whose numerator and denominator are at most 30000. Measured: every
//     integer rate from 1 to 240, 30000/1001, 24000/1001, 15000/1001,
//     12000/1001, 2997/100 and 18000/601 come back exactly; a rate whose
//     reduced numerator exceeds 30000 cannot: 60000/1001 comes back as
//     19001/317 (59.940063 instead of 59.940060), 48000/1001 as 7001/146,
//     and an average like 519168/19667 (a variable-rate phone video) as
//     25474/965. Leaving DefaultDuration out (ffmpeg omits it only when
//     told a rate of 1000/1 or more) makes FFmpeg guess the rate from the
//     first frames instead: 60000/1001 came back right for 64x48 frames
//     but as 1000/1 for 1080p FFV1, so that is no way out.
//     For these rates the timestamps stay right; only Info.FPS differs, in
//     the eighth significant digit. With VariableRate the average rate is
//     the same DefaultDuration's, so it is Rate within the same limits
//     (b09's 21/1 comes back as 21/1, e02's 519168/19667 as 25474/965).
//
// # Pixel formats
//
// FFV1 stores bgr0: the BGR bytes plus a padding byte, so conversion from
// bgr24 and back is a reordering that loses nothing. (FFV1 has no 8-bit
// planar RGB encoder in ffmpeg 5.1: asking for gbrp also gives bgr0.) The
// tests read every frame back through pipeline/video (OpenCV's conversion
// to BGR) and compare bytes: equal, odd and one-pixel sizes included.
// Frames of at least 320x240 pixels (by area) are coded as FFV1 level 3
// with 12 slices, which lets ffmpeg encode on both cores (1080p: 15
// frames/s with one slice, 23 with 12, for 1.4 % more bytes); smaller
// frames use level 1, because level 3 with several slices fails or,
// worse, decodes wrongly on tiny frames (measured: 4x4 with 12 slices, 2x2
// with 4). Every frame is a keyframe (-g 1): 0.4 % more bytes, and damage
// to one frame cannot spread to the next.
//
// H.264 is yuv420p, the format every player decodes. The frames are
// converted from BGR here, by OpenCV (BGR2YUV_I420: the BT.601 matrix in
// limited range, the one OpenCV, and so pipeline/video, applies when
// decoding), and the stream is tagged smpte170m so players apply it too.
// OpenCV converts a 1080p frame in 0.5 ms; ffmpeg's scale filter took 8.5
// ms (with accurate rounding, without which it shifted blue by 1.8 levels
// on a test gradient), and fed three encoders that was a sixth of the
// mirror pass. Read back through pipeline/video, a smooth test picture
// differs from the frame written by 1.3-1.5 levels on average (worst frame
// per test; it was 1.4-1.9 through ffmpeg's filter), most of it OpenCV's
// own fast conversion back to BGR.
//
// # H.264 speed: the preset
//
// libx264 presets measured on the 2-core development machine, encoding 200
// frames of d04 (1920x1080, real footage) from yuv420p at CRF 18, alone:
//
//	preset              CPU per frame   peak memory   bytes (200 frames)   profile
//	ultrafast, 1 thread      10 ms          95 MB        12.2 MB           Constrained Baseline
//	ultrafast                12 ms         119 MB        12.2 MB           Constrained Baseline
//	superfast, 1 thread      25 ms         170 MB         7.5 MB           High
//	superfast                20 ms         243 MB         7.5 MB           High
//	veryfast                 31 ms         292 MB         3.8 MB           High
//
// ultrafast with one thread is used. FaceMirror writes three videos per
// source (left, right, debug) beside the face tracking on two cores, so the
// encoders' CPU time is what the user waits for: in mode mirror on d04 (one
// 1080p video, 472 frames) superfast made the whole run 44.9 s and peak
// memory 1,009 MB, ultrafast 31.9 s and 668 MB. The price is size: about
// 1.6 times superfast's bytes at the same CRF (ultrafast drops CABAC,
// B-frames and the deblocking filter's search), 12 Mbit/s for 1080p at 24
// frames/s. One thread per encoder: three encoders already keep both cores
// busy, and each x264 thread costs CPU to coordinate and memory for its
// frames. CRF 18 is the usual "visually lossless" setting: the videos are
// watched by clinicians looking for small asymmetries. The preset is one
// constant (x264Preset).
//
// # Odd sizes
//
// yuv420p needs an even width and height, and H.264 can only crop its
// 4:2:0 pictures by whole chroma samples (h264_metadata refuses
// crop_right=1: "must be a multiple of 2"; libx264 refuses odd sizes), so
// an odd width or height cannot be stored exactly: the frame is padded to
// even by repeating its last column and row (no artificial edge for the
// encoder), and the .mp4 is one pixel wider and/or taller than the frames
// written; players show that extra line, pipeline/video reads it.
// FFV1 stores odd sizes exactly.
//
// # Audio
//
// With Options.AudioFrom, ffprobe (the one beside ffmpeg) is asked once,
// before ffmpeg starts, which audio streams the source has; each is mapped
// into the output, so the output has audio exactly when the source has.
// Deciding up front keeps it to one ffmpeg run instead of retrying a whole
// encode after the muxer refused a codec. .mkv copies every codec. .mp4
// copies AAC and MP3, which QuickTime, Windows and the browsers all play
// from MP4, and converts anything else (MPEG-1 Layer II, PCM, FLAC, Opus,
// AC-3, ...) to AAC: ffmpeg's MP4 muxer accepts several of those, but a
// video a player shows in silence is worse than a re-encoded sound track.
//
// The frames start at the source's first video frame, while ffmpeg lines
// up each input by its earliest packet; when the source's audio starts
// before its video, the audio is shifted (-itsoffset) by the difference, so
// sound stays in sync (MP4 then trims the early audio with an edit list).
// Audio that starts later (e02: 2.43 s) keeps its delay. Only the audio
// streams are mapped and -map_metadata -1 drops the source's metadata, so a
// phone video's rotation (a display matrix on its video stream) never
// reaches the output, whose frames are already upright.
//
// # Atomic files, failures and processes
//
// ffmpeg writes a temporary file in the destination folder named
// ".<name>.tmp-<random><ext>" (hidden, same file system, so the final
// rename is atomic; the muxer is named with -f regardless of the name).
// Commit closes ffmpeg's input, waits for it, and renames the file onto
// the destination only if ffmpeg exited with status 0, replacing any
// older file there only then. Cancelling the context kills ffmpeg and
// removes the temporary file without any further call; so do Abort, any
// Write error and ffmpeg dying on its own, and every later call returns
// the same error. ffmpeg runs with -loglevel error, so the end of what it
// prints is the reason it failed; a goroutine collects it while frames are
// written (a full stderr pipe would otherwise stall ffmpeg and then the
// Writer), and errors quote it: "encode left.mp4: ffmpeg exited with
// status 1 while writing frame 8: av_interleaved_write_frame(): No space
// left on device". A Write into a pipe ffmpeg has closed reports that, not
// "broken pipe". Abort kills ffmpeg, so it also ends a Write blocked on a
// full pipe, and returns only after ffmpeg has been reaped.
//
// Memory: an ffmpeg writing 1080p needs about 95 MB for H.264 (of which
// some 40 MB are shared libraries) and 390 MB for FFV1 (its coder's state,
// the same with one slice or 12); the Writer itself holds one prepared
// frame for H.264 (3 MB at 1080p).
package encode
