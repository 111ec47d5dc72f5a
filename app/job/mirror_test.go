package job

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"facemirror/app/helper"
	"facemirror/app/internal/helpertest"
	"facemirror/internal/sharedtest"
	"facemirror/pipeline/encode"
	"facemirror/pipeline/openfacecsv"
	"facemirror/pipeline/video"
)

// Inputs of the mirroring tests.
const (
	v01 = "videos/v01_talking_frontal_glasses_480x360.mp4"
	v04 = "videos/v04_eyeclosure_cheekpuff_smile_glasses_512x480.mp4"
	e02 = "edge/e02_face_then_noface_hevc_vfr_audiofirst_960x540.mov"
	e03 = "edge/e03_noface_animation_caminandes_960x540.mp4"
)

// mirrorRun is a finished run of a mirroring mode with what it reported.
type mirrorRun struct {
	report Report
	dir    string
	stderr string
	events []Event
	// progress is the last progress report of the run.
	progress Progress
}

// runMode runs mode over shared-media inputs (or absolute paths) into dir.
func runMode(t *testing.T, dir string, opts Options, inputs ...string) mirrorRun {
	t.Helper()
	useRealHelpers(t)
	var paths []string
	for _, in := range inputs {
		if !filepath.IsAbs(in) {
			in = sharedtest.Media(t, in)
		}
		paths = append(paths, in)
	}
	var stderr lockedBuffer
	var mu sync.Mutex
	var events []Event
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	opts.OutDir = dir
	opts.Helpers = helper.Config{EP: "cpu", Stderr: &stderr}
	if opts.Version == "" {
		opts.Version = "test"
	}
	opts.OnEvent = func(e Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	var last Progress
	if opts.Progress == nil {
		opts.Progress = func(p Progress) {
			mu.Lock()
			last = p
			mu.Unlock()
		}
	}
	rep := Run(ctx, paths, opts)
	return mirrorRun{report: rep, dir: dir, stderr: stderr.String(), events: events, progress: last}
}

// file returns the report of an input.
func (r mirrorRun) file(t *testing.T, input string) FileReport {
	t.Helper()
	for _, f := range r.report.Files {
		if filepath.Base(f.File) == filepath.Base(input) {
			return f
		}
	}
	t.Fatalf("%s was not processed", input)
	return FileReport{}
}

// stem is where an input's outputs are named from.
func (r mirrorRun) stem(input string) string {
	base := filepath.Base(input)
	return filepath.Join(r.dir, strings.TrimSuffix(base, filepath.Ext(base)))
}

// full is the full pipeline (H.264, two helpers) on v01, e02 (variable
// frame rate, audio first), d01 (a phone video), i01 (a still image) and
// e03 (no face), made once for several tests.
var full struct {
	once sync.Once
	run  mirrorRun
}

func fullRun(t *testing.T) mirrorRun {
	t.Helper()
	full.once.Do(func() {
		dir, err := os.MkdirTemp("", "facemirror-full-")
		if err != nil {
			t.Fatal(err)
		}
		helpertest.RemoveAtExit(dir)
		start := time.Now()
		full.run = runMode(t, dir, Options{Mode: ModeFull, Workers: 2}, v01, e02, d01Video, i01Image, e03)
		t.Logf("full pipeline on 5 inputs: %v", time.Since(start).Round(time.Millisecond))
	})
	if full.run.dir == "" {
		t.Fatal("the full run failed")
	}
	return full.run
}

// probeOut decodes a written video completely.
func probeOut(t *testing.T, path string) video.Info {
	t.Helper()
	info, err := video.Probe(context.Background(), path)
	if err != nil {
		t.Fatalf("read back %s: %v", filepath.Base(path), err)
	}
	return info
}

// streams lists a file's stream types and codecs with ffprobe, e.g.
// "video:h264,audio:aac".
func streams(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name,pix_fmt",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	return strings.TrimSpace(string(out))
}

// Every output of the full pipeline, with the names Face Mirror's users
// rely on, the source's size, frame count and exact frame rate, H.264
// yuv420p with the source's audio, and the manifest last.
func TestFullPipelineOutputs(t *testing.T) {
	run := fullRun(t)
	if code := run.report.ExitStatus(); code != ExitNoFace {
		t.Errorf("exit status %d, want %d (e03 has no face)", code, ExitNoFace)
	}
	for _, in := range []string{v01, e02, d01Video} {
		t.Run(filepath.Base(in)[:3], func(t *testing.T) {
			rep := run.file(t, in)
			if rep.Err != nil {
				t.Fatal(rep.Err)
			}
			stem := run.stem(in)
			want := []string{stem + ".csv", stem + "_right_mirrored.mp4", stem + "_left_mirrored.mp4", stem + "_debug.mp4",
				stem + "_right_mirrored.csv", stem + "_left_mirrored.csv", stem + "_asymmetry.csv", stem + "_summary.csv", stem + "_facemirror.json"}
			if strings.Join(rep.Outputs, "\n") != strings.Join(want, "\n") {
				t.Errorf("outputs\n%s\nwant\n%s", strings.Join(rep.Outputs, "\n"), strings.Join(want, "\n"))
			}
			src, err := video.Probe(context.Background(), sharedtest.Media(t, in))
			if err != nil {
				t.Fatal(err)
			}
			srcStreams := streams(t, sharedtest.Media(t, in))
			for _, kind := range []string{"right_mirrored", "left_mirrored", "debug"} {
				path := stem + "_" + kind + ".mp4"
				got := probeOut(t, path)
				if got.Frames != src.Frames || got.Width != src.Width || got.Height != src.Height || got.Rotation != 0 {
					t.Errorf("%s: %d frames %dx%d rotated %d, the source %d frames %dx%d upright",
						kind, got.Frames, got.Width, got.Height, got.Rotation, src.Frames, src.Width, src.Height)
				}
				worst := time.Duration(0)
				for i := range min(len(got.Timestamps), len(src.Timestamps)) {
					worst = max(worst, (got.Timestamps[i] - src.Timestamps[i]).Abs())
				}
				if worst > time.Millisecond {
					t.Errorf("%s: frame times differ from the source's by up to %v", kind, worst)
				}
				s := streams(t, path)
				if !strings.Contains(s, "h264,video,yuv420p") && !strings.Contains(s, "h264,video") {
					t.Errorf("%s: streams %q, want H.264", kind, s)
				}
				if !strings.Contains(s, "yuv420p") {
					t.Errorf("%s: streams %q, want yuv420p", kind, s)
				}
				if strings.Contains(srcStreams, "audio") != strings.Contains(s, "audio") {
					t.Errorf("%s: streams %q, the source's %q: audio must be copied exactly when there is some", kind, s, srcStreams)
				}
			}
			if in == v01 {
				// A constant rate stays exactly the source's.
				for _, kind := range []string{"right_mirrored", "left_mirrored", "debug"} {
					if got := probeOut(t, stem+"_"+kind+".mp4"); got.FPS != src.FPS {
						t.Errorf("%s: frame rate %v, the source's %v", kind, got.FPS, src.FPS)
					}
				}
			}
			for _, side := range []string{"right", "left"} {
				f, err := openfacecsv.ReadFile(stem + "_" + side + "_mirrored.csv")
				if err != nil {
					t.Fatal(err)
				}
				if len(f.Rows) != src.Frames {
					t.Errorf("%s CSV: %d rows for %d frames", side, len(f.Rows), src.Frames)
				}
			}
			var m Manifest
			b, err := os.ReadFile(stem + "_facemirror.json")
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if m.Mode != ModeFull || m.Outcome != outcomeComplete || m.Video.Frames != src.Frames || len(m.Outputs) != 8 ||
				m.Input.SHA256 == "" || len(m.Models) == 0 || m.Settings.VideoCodec != "h264" || len(m.Stages) != 2 {
				t.Errorf("manifest %+v", m)
			}
			if in == e02 && !m.Video.VariableRate {
				t.Error("e02's manifest does not say it has a variable frame rate")
			}
		})
	}
	// Nothing staged is left anywhere.
	entries, _ := os.ReadDir(run.dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// The source's CSV of the full pipeline is OpenFace's: the same as mode
// aus with whole videos, which TestProcessEqualsOpenFace holds to
// OpenFace's own CSV cell for cell.
func TestFullPipelineSourceCSVIsOpenFaces(t *testing.T) {
	run := fullRun(t)
	name := strings.TrimSuffix(filepath.Base(v01), filepath.Ext(v01))
	ref := readCells(t, sharedtest.Reference(t, name+"/"+name+".csv"))
	got := readCells(t, run.stem(v01)+".csv")
	refCol := map[string]int{}
	for i, h := range ref[0] {
		refCol[h] = i
	}
	differ := 0
	for j, h := range got[0] {
		for r := 1; r < len(got); r++ {
			if got[r][j] != ref[r][refCol[h]] {
				differ++
			}
		}
	}
	if len(got) != len(ref) || differ > 0 {
		t.Errorf("%d rows (reference %d), %d cells differ from OpenFace's", len(got), len(ref), differ)
	}
}

// A still image gets mirrored PNGs; a video without a face gets its CSV,
// a specific message and no mirrored videos.
func TestFullPipelineImageAndNoFace(t *testing.T) {
	run := fullRun(t)
	img := run.file(t, i01Image)
	if img.Err != nil {
		t.Fatal(img.Err)
	}
	stem := run.stem(i01Image)
	for _, kind := range []string{"right_mirrored", "left_mirrored", "debug"} {
		info, err := video.Probe(context.Background(), stem+"_"+kind+".png")
		if err != nil || info.Kind != video.Image || info.Width != 572 || info.Height != 562 {
			t.Errorf("%s.png: %+v, %v", kind, info, err)
		}
	}
	none := run.file(t, e03)
	if none.Err != nil || !none.NoFace() {
		t.Fatalf("e03: %+v", none)
	}
	stem = run.stem(e03)
	if len(none.Outputs) != 2 || none.Outputs[0] != stem+".csv" {
		t.Errorf("e03 outputs %v, want its CSV and manifest only", none.Outputs)
	}
	if len(none.Warnings) == 0 || !strings.Contains(none.Warnings[0], "no mirrored videos") {
		t.Errorf("e03 warnings %q", none.Warnings)
	}
	if _, err := os.Stat(stem + "_left_mirrored.mp4"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("e03 has a mirrored video: %v", err)
	}
}

// The progress counts every frame pass of mode full: the source's
// analysis and each mirrored face's, so that it ends at its total. A
// video without a face needs only the source's pass; its others leave the
// total.
func TestFullPipelineProgress(t *testing.T) {
	run := fullRun(t)
	want := 0
	for _, f := range run.report.Files {
		if f.NoFace() {
			want += f.Frames
		} else {
			want += 3 * f.Frames
		}
	}
	if p := run.progress; p.FramesDone != want || p.Frames != want || p.FilesDone != p.Files {
		t.Errorf("last progress %d of %d frame passes, %d of %d files; want %d of %d and every file", p.FramesDone, p.Frames, p.FilesDone, p.Files, want, want)
	}
}

// The window's events: each stage in order, previews at most five a
// second per input with all three pictures, and each frame's AUs of the
// source and both sides.
func TestFullPipelineEvents(t *testing.T) {
	run := fullRun(t)
	stages := map[int][]Stage{}
	aus := map[string]int{}
	previews := 0
	for _, e := range run.events {
		switch e.Kind {
		case EventStage:
			stages[e.File] = append(stages[e.File], e.Stage)
		case EventAUs:
			if e.File == 0 {
				aus[e.AUs.Side]++
				if len(e.AUs.Names) != 17 || len(e.AUs.Intensity) != 17 {
					t.Fatalf("AU event with %d names and %d values", len(e.AUs.Names), len(e.AUs.Intensity))
				}
			}
		case EventPreview:
			if e.File == 0 {
				previews++
				p := e.Preview
				if p.Source == nil || (p.Right == nil && p.Left == nil) || p.Source.Bounds().Dx() != helper.PreviewWidth {
					t.Errorf("preview of frame %d: %+v", p.Frame, p)
				}
			}
		}
	}
	want := []Stage{StageMirrorAnalysing, StageWriting}
	if fmt.Sprint(stages[0]) != fmt.Sprint(want) {
		t.Errorf("v01 stages %v, want %v", stages[0], want)
	}
	for _, side := range []string{SideSource, SideRight, SideLeft} {
		if aus[side] != 300 {
			t.Errorf("%d AU events of %s, want 300", aus[side], side)
		}
	}
	if previews == 0 {
		t.Error("no previews")
	}
}

// The analysis of each mirrored face is of the mirrored pixels before any
// lossy encoding: mode aus on the lossless (FFV1) mirrored video gives the
// full pipeline's CSV of that side byte for byte. The CSVs do not depend
// on the codec or the number of helpers, and neither do the videos: mode
// mirror on two helpers writes the same FFV1 bytes as mode full on one.
func TestMirroredAnalysisIsOfTheWrittenPixels(t *testing.T) {
	losslessDir := t.TempDir()
	lossless := runMode(t, losslessDir, Options{Mode: ModeFull, Codec: encode.FFV1, Workers: 1}, v01)
	if err := lossless.report.Files[0].Err; err != nil {
		t.Fatal(err)
	}
	stem := lossless.stem(v01)
	h264 := fullRun(t)
	for _, side := range []string{"right", "left"} {
		mkv := stem + "_" + side + "_mirrored.mkv"
		again := runMode(t, t.TempDir(), Options{Mode: ModeAUs, Workers: 1}, mkv)
		if err := again.report.Files[0].Err; err != nil {
			t.Fatal(err)
		}
		a := readFile(t, stem+"_"+side+"_mirrored.csv")
		b := readFile(t, again.report.Files[0].CSV)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: mode aus on the lossless mirrored video differs from the full pipeline's CSV", side)
		}
		if c := readFile(t, h264.stem(v01)+"_"+side+"_mirrored.csv"); !bytes.Equal(a, c) {
			t.Errorf("%s: the CSVs of the FFV1 run on one helper and the H.264 run on two differ", side)
		}
	}
	mirrored := runMode(t, t.TempDir(), Options{Mode: ModeMirror, Codec: encode.FFV1, Workers: 2}, v01)
	rep := mirrored.report.Files[0]
	if rep.Err != nil {
		t.Fatal(rep.Err)
	}
	if len(rep.Outputs) != 4 || rep.CSV != "" {
		t.Errorf("mode mirror wrote %v (CSV %q), want three videos and the manifest", rep.Outputs, rep.CSV)
	}
	// Mode mirror's progress: each frame tracked, then mirrored.
	if p := mirrored.progress; p.FramesDone != 2*300 || p.Frames != 2*300 {
		t.Errorf("mode mirror's last progress %d of %d frame passes, want 600 of 600", p.FramesDone, p.Frames)
	}
	for _, kind := range []string{"right_mirrored", "left_mirrored", "debug"} {
		if !bytes.Equal(readFile(t, stem+"_"+kind+".mkv"), readFile(t, mirrored.stem(v01)+"_"+kind+".mkv")) {
			t.Errorf("%s: mode mirror on two helpers and mode full on one wrote different bytes", kind)
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// --skip-existing skips an input whose manifest records a complete run
// and processes it again once the input changed.
func TestSkipExisting(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in", "clip.mp4")
	if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, readFile(t, sharedtest.Media(t, "videos/v10_grid_talking_frontal_mpeg1_360x288.mpg")), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	first := runMode(t, out, Options{Mode: ModeMirror, Workers: 2, SkipExisting: true}, src)
	if f := first.report.Files[0]; f.Err != nil || f.Skipped {
		t.Fatalf("first run: %+v", f)
	}
	// What the window asks before it starts: the same answer.
	if got := Completed([]string{src}, Options{Mode: ModeMirror, OutDir: out, Version: "test"}); !slices.Equal(got, []bool{true}) {
		t.Errorf("Completed after a mirror run, mode mirror: %v", got)
	}
	if got := Completed([]string{src, src + ".missing"}, Options{Mode: ModeAUs, OutDir: out, Version: "test"}); !slices.Equal(got, []bool{false, false}) {
		t.Errorf("Completed after a mirror run, mode aus: %v", got)
	}
	second := runMode(t, out, Options{Mode: ModeMirror, Workers: 2, SkipExisting: true}, src)
	if f := second.report.Files[0]; !f.Skipped || len(f.Outputs) != 4 || second.report.ExitStatus() != 0 {
		t.Errorf("second run: %+v", f)
	}
	other := runMode(t, out, Options{Mode: ModeAUs, Workers: 2, SkipExisting: true}, src)
	if f := other.report.Files[0]; f.Skipped {
		t.Error("a run of another mode was skipped")
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(src, later, later); err != nil {
		t.Fatal(err)
	}
	third := runMode(t, out, Options{Mode: ModeAUs, Workers: 2, SkipExisting: true}, src)
	if f := third.report.Files[0]; f.Skipped {
		t.Error("a changed input was skipped")
	}
	// A run that did not write the HOG file does not stand for one that
	// asks for it; once written, it does.
	hog := runMode(t, out, Options{Mode: ModeAUs, Workers: 2, SkipExisting: true, HOG: true}, src)
	if f := hog.report.Files[0]; f.Skipped || !slices.Contains(f.Outputs, filepath.Join(out, "clip.hog")) {
		t.Errorf("run asking for the HOG file: %+v", f)
	}
	again := runMode(t, out, Options{Mode: ModeAUs, Workers: 2, SkipExisting: true, HOG: true}, src)
	if f := again.report.Files[0]; !f.Skipped {
		t.Errorf("the run with its HOG file written was not skipped: %+v", f)
	}
}

// Cancelling during the mirror pass leaves no output and nothing staged.
func TestMirrorInterrupted(t *testing.T) {
	useRealHelpers(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(testContext(t, 5*time.Minute))
	defer cancel()
	var once sync.Once
	var mu sync.Mutex
	var last Progress
	rep := Run(ctx, []string{sharedtest.Media(t, v01)}, Options{
		Mode: ModeFull, OutDir: dir, Workers: 2, Helpers: helper.Config{EP: "cpu"}, Version: "test",
		OnEvent: func(e Event) {
			if e.Kind == EventAUs && e.AUs.Side != SideSource && e.AUs.Frame >= 20 {
				once.Do(cancel)
			}
		},
		Progress: func(p Progress) {
			mu.Lock()
			last = p
			mu.Unlock()
		},
	})
	if err := rep.Files[0].Err; !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	// The progress shows how far the run got, not a total shrunk to it.
	if last.Frames != 3*300 || last.FramesDone >= last.Frames {
		t.Errorf("last progress %d of %d frame passes, want part of %d", last.FramesDone, last.Frames, 3*300)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the output folder holds %v after an interrupted run", names)
	}
}

// A source that turns out variable-rate only after mirroring has begun:
// the helper writes its videos again with each frame's own time. v01's
// frames, re-timed: even until frame lateJitterFrom, then every odd frame
// 12 ms late (more than a quarter of a frame interval, so irregular, while
// the average rate stays 30/1).
func TestLateVariableRate(t *testing.T) {
	const lateJitterFrom = 150
	dir := t.TempDir()
	src := filepath.Join(dir, "late_vfr.mp4")
	times := writeRetimed(t, sharedtest.Media(t, v01), src, func(i int) time.Duration {
		d := time.Duration(i) * time.Second / 30
		if i >= lateJitterFrom && i%2 == 1 {
			d += 12 * time.Millisecond
		}
		return d
	})
	info, err := video.Probe(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	// The premise: the first irregular frame comes long after the
	// mirroring has begun (about 20 frames after the tracking).
	first := -1
	for i, ts := range info.Timestamps {
		if math.Abs(ts.Seconds()-float64(i)/info.FPS.Float()) > 0.25/info.FPS.Float() {
			first = i
			break
		}
	}
	if first < 100 {
		t.Fatalf("the re-timed video's first irregular frame is %d (rate %v), want one after frame 100", first, info.FPS)
	}

	run := runMode(t, filepath.Join(dir, "out"), Options{Mode: ModeMirror, Workers: 1}, src)
	rep := run.file(t, src)
	if rep.Err != nil {
		t.Fatal(rep.Err)
	}
	stem := run.stem(src)
	for _, kind := range []string{"right_mirrored", "left_mirrored", "debug"} {
		got := probeOut(t, stem+"_"+kind+".mp4")
		if len(got.Timestamps) != len(times) {
			t.Fatalf("%s: %d frames, want %d", kind, len(got.Timestamps), len(times))
		}
		for i, ts := range got.Timestamps {
			if (ts - times[i]).Abs() > time.Millisecond {
				t.Errorf("%s: frame %d at %v, the source's at %v", kind, i, ts, times[i])
				break
			}
		}
	}
	var m Manifest
	if err := json.Unmarshal(readFile(t, stem+"_facemirror.json"), &m); err != nil {
		t.Fatal(err)
	}
	if !m.Video.VariableRate {
		t.Error("the manifest does not say the video has a variable frame rate")
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "out")); len(entries) != 4 {
		t.Errorf("%d files in the output folder, want the 3 videos and the manifest", len(entries))
	}
}

// writeRetimed writes src's frames to dst (H.264, variable rate) at the
// times at(i) and returns those times.
func writeRetimed(t *testing.T, src, dst string, at func(i int) time.Duration) []time.Duration {
	t.Helper()
	ctx := testContext(t, 2*time.Minute)
	r, err := video.Open(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	info := r.Info()
	out, err := encode.Create(ctx, dst, encode.Options{Codec: encode.H264, Width: info.Width, Height: info.Height, Rate: info.FPS, VariableRate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Abort()
	var times []time.Duration
	for {
		f, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pix := f.Mat.ToBytes()
		f.Mat.Close()
		times = append(times, at(f.Index))
		if err := out.Write(pix, times[f.Index]); err != nil {
			t.Fatal(err)
		}
	}
	if err := out.Commit(); err != nil {
		t.Fatal(err)
	}
	return times
}
