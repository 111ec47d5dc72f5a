// Package video turns a user's file into upright 8-bit BGR frames with
// exact frame counts and timestamps, and turns every kind of unusable file
// into a specific, readable error. It decodes through gocv v0.31.0 (OpenCV
// 4.6's FFmpeg backend, Debian's FFmpeg 5.1) and OpenCV's image codecs; it
// never runs ffprobe or ffmpeg.
//
// # Entry points
//
// Probe decodes every frame once, without colour conversion, and returns
// the exact Info (frame count, per-frame timestamps, upright size).
// ProbeHeader returns the same Info from the container alone in a few
// milliseconds, with the container's frame count (FramesExact false) and no
// timestamps; it suits a file list. Open returns a Reader whose Read hands
// out frames in order and whose Seek positions it exactly on any frame;
// OpenAt(ctx, path, start) is Open plus Seek, for a helper process that
// handles one chunk of a video. Frame.Mat belongs to the caller.
//
// Measured on the 2-core development machine while other builds ran (so
// with about 25 % noise; see the benchmarks): Probe decodes v01 (480x360,
// 300 frames) in 0.1 s (2,700-3,100 frames/s) and d04 (1920x1080, 472
// frames) in 1.3-2.5 s (190-370 frames/s); Read delivers 1,700-2,500
// frames/s for v01 and 115-240 for d04 (colour conversion included);
// ProbeHeader takes 4 ms for v01 and 13-21 ms for d04.
//
// # Kinds of input
//
// The content decides, not the file name: a known image signature (JPEG,
// PNG, BMP, TIFF, WebP, JPEG 2000, PNM, Sun raster, EXR, Radiance HDR, PFM)
// makes a still image, decoded with imread(IMREAD_COLOR) exactly as
// OpenFace does, which applies the EXIF orientation (JPEG APP1, and a PNG
// eXIf chunk placed before the image data). An image is a one-frame input:
// Kind Image, Frames 1, FPS 0/1, Duration 0, Timestamps nil. Anything else
// goes to FFmpeg as a video.
//
// # Frame rate
//
// FPS is FFmpeg's average frame rate (AVStream.avg_frame_rate), which
// OpenCV returns as the double num/den (CAP_PROP_FPS). The exact fraction
// is recovered from that double: it is the convergent of its continued
// fraction with the smallest denominator whose quotient reproduces the
// double bit for bit (see rationalFromFPS). This is exact for every
// fraction FFmpeg produces with a denominator below about 10^7, so 29.97
// comes back as 30000/1001 and 23.976 as 24000/1001 with no table of
// "common" rates, and Rational.Float returns CAP_PROP_FPS bit-identically,
// which Info.OpenFaceTimestamp relies on. For variable-frame-rate and
// edit-listed files the average is not any frame's rate (e02: 519168/19667,
// e03: 150528/6359 while its frames are 1/24 s apart); use Timestamps.
//
// # Timestamps
//
// Timestamps are presentation times relative to the first frame. OpenCV's
// CAP_PROP_POS_MSEC read after each frame is correct for most frames but,
// measured on all test files, wrong in two places: the frames the decoder
// flushes after the last packet (the last 2 frames of every H.264 and HEVC
// file here) report 0, and a frame whose pts is exactly 0 reports its dts
// instead (e02 frame 0: -16.667 ms). For MP4/MOV files the times therefore
// come from the container's sample tables (stts, ctts, elst; see
// isobmff.go), and every decoder time that can be trusted checks them to
// within a microsecond; the first disagreement switches the rest of the
// file to the decoder's times (TimestampSource). Without a usable table
// (other containers, fragmented MP4, complex edit lists) the decoder's
// times are used with frame 0 clamped to 0 and missing trailing times
// extrapolated from the last interval (Info.Extrapolated counts them).
//
// OpenFace 2.2 does not use container times: it writes frame/fps with
// fps = CAP_PROP_FPS. Info.OpenFaceTimestamp reproduces that column
// exactly (all rows of all reference CSVs); for constant-rate files it
// equals the true time to the printed millisecond, for e02 it drifts from
// the true time by up to 360 ms.
//
// # Rotation
//
// Phone videos are stored sideways with a display matrix. With FFmpeg 5.1,
// OpenCV 4.6's automatic rotation turns them the wrong way (d01 comes out
// 720x1280 but upside down), so it is switched off
// (CAP_PROP_ORIENTATION_AUTO = 0) and the stored frame is rotated here by
// CAP_PROP_ORIENTATION_META degrees counter-clockwise (270 for d01, i.e. 90
// clockwise). The tests prove d01 upright with OpenCV's Haar face detector
// and that OpenCV's own result is exactly ours turned by 180 degrees.
//
// # Seeking
//
// Reader.Seek decodes and discards frames (from the start when seeking
// backwards), which is exact by construction. OpenCV's CAP_PROP_POS_FRAMES
// seek was measured against sequential decoding: it was exact at 20
// indices each of v01, v02, b09 and e03 but landed on wrong frames for 10
// of 15 indices in e02 (HEVC, variable rate) and 3 of 9 in v10 (MPEG-1)
// (TestOpenCVFrameSeekIsInexact), so it is not used. Discarding costs one
// decode per skipped frame without colour conversion, the rate of Probe.
//
// # Bad input
//
// Every unusable file gives an *Error wrapping a sentinel error (or a
// file-system error such as os.ErrNotExist) whose text is the file's name
// and the problem, e.g. "b03_random_bytes_1MiB.mp4: not a video or image
// file". When FFmpeg refuses a file the reason is read from the file
// itself: an MP4/MOV without its moov box is ErrTruncated, one whose tracks
// are all sound is ErrNoVideoStream, other signatures name the container.
// An MP4/MOV that keeps its index but was cut off still opens, decodes up to
// the cut and has Info.Truncated set. JPEG and PNG files are walked to
// their end marker first, because libjpeg fills a cut-off image with grey
// and only warns.
//
// # Damaged files
//
// OpenCV's FFmpeg backend ends a read at the first packet the decoder
// refuses, where FFmpeg itself drops the packet and decodes on. Read,
// Seek and Probe read on after a failed read (see resumeReads) and so
// decode every frame FFmpeg decodes (TestDamagedVideos: the same counts as
// ffprobe -count_frames on copies of v02 overwritten in places or cut
// off). A frame that decodes after lost ones is placed by its own time: on
// the MP4/MOV sample table when there is one (which also catches frames
// the decoder drops without failing a read), else by whole frame intervals
// from the last frame; its Index and Time are then those it has in the
// intact file, so indices jump over the lost frames. Reader.Gaps and
// Info.Gaps list what was lost, including, for an MP4/MOV file cut off,
// the frames its sample table lists after the last that decodes.
//
// Hangs: Probe, Read and Seek check the context between frames; within one
// frame, FFmpeg's own interrupt callback (30 s by default in OpenCV 4.6)
// and OpenCV's limit on packets without a picture bound a stuck decode, and
// a decode that makes no progress ends the stream.
//
// Terminal noise: package initialisation sets OPENCV_FFMPEG_LOGLEVEL=-8
// (AV_LOG_QUIET) and OPENCV_LOG_LEVEL=SILENT unless the user has set them,
// and only the FFmpeg backend is tried, so FFmpeg's "moov atom not found"
// and GStreamer's fallback errors do not reach the user. libjpeg and libpng
// still print their own warnings ("Premature end of JPEG file", "libpng
// warning: iCCP: known incorrect sRGB profile" for i06) straight to
// stderr; silencing them would mean redirecting the whole process's
// stderr, which a library must not do.
package video
