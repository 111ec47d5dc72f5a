package openface

import (
	"context"
	"errors"
	"fmt"

	"facemirror/pipeline/au"
	"facemirror/pipeline/openfacecsv"
	"facemirror/pipeline/video"
)

// ErrFrame reports a FrameResult that does not fit the models (wrong
// lengths, non-finite values): the frame is not recorded.
var ErrFrame = errors.New("openface: invalid frame result")

// Sequence turns the FrameResults of one video, added in frame order,
// into OpenFace's CSV rows: it runs the FaceAnalyser's running medians and
// AU predictions and, at the end, OpenFace's offline post-processing. It is
// not safe for concurrent use.
//
// Besides the AU stage's own memory (up to 3000 successful frames' HOG,
// about 54 MB), it keeps about 2.7 KB of CSV values per frame.
type Sequence struct {
	m      *Models
	info   video.Info
	an     *au.Analyser
	layout openfacecsv.Layout

	// Per frame: success, confidence and the geometric CSV values
	// (gaze, gaze angles, 2D and 3D eye landmarks, pose, 2D landmarks, 3D
	// landmarks, global, local) in one flat slice.
	success []bool
	conf    []float32
	// frame is each row's 0-based frame index, which runs ahead of the
	// row's position once frames were lost (Skip); skipped counts them.
	frame   []int
	skipped int
	// online are the online AU intensities of the frame added last.
	online []float64
	geom   []float32
	stride int
}

// NewSequence starts a video for the models. info gives the timestamps
// (OpenFace's frame/fps, Info.OpenFaceTimestamp); header-level Info from
// video.Open or ProbeHeader is enough.
func NewSequence(m *Models, info video.Info) (*Sequence, error) {
	if m == nil {
		return nil, fmt.Errorf("openface: no models")
	}
	if info.Kind != video.Video && info.Kind != video.Image {
		return nil, fmt.Errorf("openface: video info of %q has no kind (video or image)", info.Path)
	}
	an, err := au.NewAnalyser(m.predictors, m.auPDM)
	if err != nil {
		return nil, err
	}
	n, modes, e := m.lmPDM.NumPoints(), m.lmPDM.NumModes(), m.eyePoints
	s := &Sequence{
		m:      m,
		info:   info,
		an:     an,
		layout: m.Layout(),
		stride: 6 + 2 + 2*e + 3*e + 6 + 2*n + 3*n + 6 + modes,
	}
	// The container's frame count is only an estimate; it sizes the AU
	// stage's arrays, and a video that turns out longer grows them.
	if frames := min(info.Frames, maxReservedFrames); frames > 0 {
		an.Reserve(frames)
	}
	return s, nil
}

// maxReservedFrames bounds what NewSequence reserves from the container's
// frame count, which a damaged or hostile file can make as large as it
// likes: 10 minutes at 60 frames/s (the AU history of 10 MB; the kept
// frames stop at au.MaxRepredicted anyway).
const maxReservedFrames = 36000

// Layout returns the layout of the rows: OpenFace's FeatureExtraction
// columns (Models.Layout).
func (s *Sequence) Layout() openfacecsv.Layout { return s.m.Layout() }

// Frames returns the number of frames added.
func (s *Sequence) Frames() int { return len(s.success) }

// Add appends the next frame's result. A result that does not fit (wrong
// lengths, non-finite values, e.g. from a corrupted transfer) is refused
// with an error wrapping ErrFrame and not recorded, so the caller can
// resend it.
func (s *Sequence) Add(r FrameResult) error {
	if err := s.check(&r); err != nil {
		return fmt.Errorf("%w: frame %d: %v", ErrFrame, len(s.success), err)
	}
	f := au.Frame{Success: r.AUSuccess}
	if r.AUSuccess {
		f.HOG, f.Local = r.HOG, r.AULocal
	}
	aus, err := s.an.Add(f)
	if err != nil {
		// Unreachable after check, which refuses what the Analyser would.
		return fmt.Errorf("openface: frame %d: %w", len(s.success), err)
	}
	s.online = aus.Intensity
	s.frame = append(s.frame, len(s.success)+s.skipped)
	s.success = append(s.success, r.Success)
	s.conf = append(s.conf, r.Confidence)
	s.geom = append(s.geom, r.Gaze[:]...)
	s.geom = append(s.geom, r.GazeAngle[:]...)
	s.geom = append(s.geom, r.EyeLandmarks...)
	s.geom = append(s.geom, r.EyeLandmarks3D...)
	s.geom = append(s.geom, r.Pose[:]...)
	s.geom = append(s.geom, r.Landmarks...)
	s.geom = append(s.geom, r.Landmarks3D...)
	s.geom = append(s.geom, r.Global[:]...)
	s.geom = append(s.geom, r.Local...)
	return nil
}

func (s *Sequence) check(r *FrameResult) error {
	n, modes, e := s.m.lmPDM.NumPoints(), s.m.lmPDM.NumModes(), s.m.eyePoints
	for _, c := range []struct {
		name string
		v    []float32
		want int
	}{
		{"landmarks", r.Landmarks, 2 * n},
		{"3D landmarks", r.Landmarks3D, 3 * n},
		{"local parameters", r.Local, modes},
		{"eye landmarks", r.EyeLandmarks, 2 * e},
		{"3D eye landmarks", r.EyeLandmarks3D, 3 * e},
	} {
		if len(c.v) != c.want {
			return fmt.Errorf("%d %s, want %d", len(c.v), c.name, c.want)
		}
		if !finite32(c.v) {
			return fmt.Errorf("non-finite %s", c.name)
		}
	}
	if !finite32(r.Pose[:]) || !finite32(r.Global[:]) || !finite32([]float32{r.Confidence}) ||
		!finite32(r.Gaze[:]) || !finite32(r.GazeAngle[:]) {
		return fmt.Errorf("non-finite pose, parameters, confidence or gaze")
	}
	if !r.AUSuccess {
		return nil
	}
	if len(r.HOG) != au.HOGLen || len(r.AULocal) != s.m.auPDM.NumModes() {
		return fmt.Errorf("AU features of %d HOG values and %d local parameters, want %d and %d",
			len(r.HOG), len(r.AULocal), au.HOGLen, s.m.auPDM.NumModes())
	}
	if !finite32(r.HOG) || !finite32(r.AULocal) {
		return fmt.Errorf("non-finite AU features")
	}
	return nil
}

// Online returns the AU intensities OpenFace's FaceAnalyser predicts for
// the frame added last, before the offline post-processing that the CSV
// gets (the values a live plot can show while a video is analysed),
// clipped to the CSV's range 0-5; zero on a failed frame. The slice is the
// caller's.
func (s *Sequence) Online() []float64 {
	out := make([]float64, len(s.online))
	for i, v := range s.online {
		out[i] = min(5, max(0, v))
	}
	return out
}

// Skip records that the next n frames of the video are lost (they could
// not be decoded): they get no row, and the frames after them keep their
// own frame numbers and timestamps. The AU post-processing sees only the
// frames added.
func (s *Sequence) Skip(n int) { s.skipped += max(n, 0) }

// Rows post-processes the AUs of all frames added so far and hands fn
// the CSV rows in frame order. The Row and its slices are reused between
// calls: fn must copy what it keeps. Rows can be called again, also after
// more frames were added.
func (s *Sequence) Rows(ctx context.Context, fn func(openfacecsv.Row) error) error {
	if len(s.success) == 0 {
		return fmt.Errorf("openface: no frames")
	}
	off, err := s.an.Postprocess(ctx)
	if err != nil {
		return fmt.Errorf("openface: AU post-processing: %w", err)
	}
	row := openfacecsv.NewRow(s.layout)
	for i := range s.success {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		row.Frame = s.frame[i] + 1
		row.Timestamp = s.info.OpenFaceTimestamp(s.frame[i])
		row.Confidence = float64(s.conf[i])
		row.Success = s.success[i]
		g := s.geom[i*s.stride : (i+1)*s.stride]
		g = widen(row.GazeDirection0[:], g)
		g = widen(row.GazeDirection1[:], g)
		g = widen(row.GazeAngle[:], g)
		g = widen(row.EyeLandmarks2D, g)
		g = widen(row.EyeLandmarks3D, g)
		g = widen(row.Pose[:], g)
		g = widen(row.Landmarks2D, g)
		g = widen(row.Landmarks3D, g)
		g = widen(row.Global[:], g)
		widen(row.Local, g)
		copy(row.Intensity, off.Intensity[i])
		copy(row.Occurrence, off.Occurrence[i])
		if err := fn(row); err != nil {
			return err
		}
	}
	return nil
}

// widen fills dst from the front of src and returns the rest of src.
func widen(dst []float64, src []float32) []float32 {
	for i := range dst {
		dst[i] = float64(src[i])
	}
	return src[len(dst):]
}

// Finish post-processes the AUs and returns every frame's CSV row.
func (s *Sequence) Finish(ctx context.Context) ([]openfacecsv.Row, error) {
	rows := make([]openfacecsv.Row, 0, len(s.success))
	err := s.Rows(ctx, func(r openfacecsv.Row) error {
		rows = append(rows, cloneRow(r))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// WriteCSV post-processes the AUs and writes the CSV to path atomically:
// the file appears complete or not at all.
func (s *Sequence) WriteCSV(ctx context.Context, path string) error {
	w, err := openfacecsv.Create(path, s.layout)
	if err != nil {
		return err
	}
	defer w.Abort()
	if err := s.Rows(ctx, w.Write); err != nil {
		return err
	}
	return w.Commit()
}

func cloneRow(r openfacecsv.Row) openfacecsv.Row {
	c := r
	c.EyeLandmarks2D = append([]float64(nil), r.EyeLandmarks2D...)
	c.EyeLandmarks3D = append([]float64(nil), r.EyeLandmarks3D...)
	c.Landmarks2D = append([]float64(nil), r.Landmarks2D...)
	c.Landmarks3D = append([]float64(nil), r.Landmarks3D...)
	c.Local = append([]float64(nil), r.Local...)
	c.Intensity = append([]float64(nil), r.Intensity...)
	c.Occurrence = append([]float64(nil), r.Occurrence...)
	return c
}
