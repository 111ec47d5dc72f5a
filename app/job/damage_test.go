package job

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"facemirror/app/helper"
	"facemirror/internal/sharedtest"
	"facemirror/pipeline/video"
)

// damagedCopies writes two damaged copies of v02 into dir: one with 100 KB
// overwritten in its middle (FFmpeg decodes 436 of its 472 frames) and one
// cut off at 60 % of its bytes (288 frames decode).
func damagedCopies(t *testing.T, dir string) (middle, cut string) {
	t.Helper()
	data, err := os.ReadFile(sharedtest.Media(t, processVideos[1]))
	if err != nil {
		t.Fatal(err)
	}
	b := slices.Clone(data)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := len(b) / 2; i < len(b)/2+100_000; i++ {
		b[i] = byte(rng.Uint32())
	}
	middle, cut = filepath.Join(dir, "v02_middle_overwritten.mp4"), filepath.Join(dir, "v02_cut_off.mp4")
	if err := os.WriteFile(middle, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cut, data[:len(data)*6/10], 0o644); err != nil {
		t.Fatal(err)
	}
	return middle, cut
}

// A damaged or cut-off video is analysed wherever FFmpeg decodes it: the
// CSV has a row for every frame that decodes, with its own frame number and
// timestamp, the rows before the damage are OpenFace's own for the intact
// file (but for the AUs, which OpenFace normalises over the whole video),
// and the report, its warnings, the manifest and the exit status say which
// frames are missing and where. Split over helpers, with a gap across the
// cut between two chunks, the same rows come.
func TestDamagedInputs(t *testing.T) {
	useRealHelpers(t)
	middle, cut := damagedCopies(t, t.TempDir())
	ref := readCells(t, sharedtest.Reference(t, "v02_emotions_sad_to_laughing_640x360_pexels/v02_emotions_sad_to_laughing_640x360_pexels.csv"))
	header := ref[0]

	want := map[string][]helper.Gap{
		middle: {{From: 227, To: 228}, {From: 229, To: 263}, {From: 264, To: 265}},
		cut:    {{From: 288, To: 472, Tail: true}},
	}
	wantWarning := map[string]string{
		middle: "the file is damaged: 36 frames could not be decoded and were left out (frame 228 at 9.47-9.51 s, frames 230-263 at 9.55-10.97 s, frame 265 at 11.01-11.05 s); every other frame was analysed",
		cut:    "the file is cut off: frames 289-472 (12.01-19.68 s) that its container lists are missing",
	}
	for _, split := range []bool{false, true} {
		t.Run("split="+strconv.FormatBool(split), func(t *testing.T) {
			dir := t.TempDir()
			run := runMode(t, dir, Options{Workers: testWorkers, Split: split}, middle, cut)
			if got := run.report.ExitStatus(); got != ExitDamaged {
				t.Errorf("exit status %d, want %d (ExitDamaged)", got, ExitDamaged)
			}
			for _, f := range run.report.Files {
				if f.Err != nil {
					t.Fatalf("%s: %v", f.File, f.Err)
				}
				if !f.Damaged() {
					t.Errorf("%s: not reported as damaged", f.File)
				}
				var gaps []helper.Gap
				for _, g := range f.Gaps {
					gaps = append(gaps, helper.Gap{From: g.From, To: g.To, Tail: g.Tail})
				}
				if !slices.Equal(gaps, want[f.File]) {
					t.Errorf("%s: gaps %+v, want %+v", f.File, f.Gaps, want[f.File])
				}
				if !slices.Contains(f.Warnings, wantWarning[f.File]) {
					t.Errorf("%s: warnings %q, want %q", f.File, f.Warnings, wantWarning[f.File])
				}

				lost := map[int]bool{}
				for _, g := range want[f.File] {
					for i := g.From; i < g.To; i++ {
						lost[i+1] = true
					}
				}
				rows := readCells(t, CSVPath(f.File, dir))
				if !slices.Equal(rows[0], header) {
					t.Fatalf("%s: header differs from OpenFace's", f.File)
				}
				next := 1
				for _, row := range rows[1:] {
					n, err := strconv.Atoi(row[0])
					if err != nil {
						t.Fatal(err)
					}
					for ; next < n; next++ {
						if !lost[next] {
							t.Fatalf("%s: no row for frame %d, which decodes", f.File, next)
						}
					}
					if lost[n] {
						t.Fatalf("%s: a row for frame %d, which is lost", f.File, n)
					}
					next = n + 1
					r := ref[n]
					for c, name := range header {
						if strings.HasPrefix(name, "AU") || (n >= 228 && name != "timestamp") {
							continue
						}
						if row[c] != r[c] {
							t.Fatalf("%s frame %d: %s = %s, OpenFace has %s for the intact file", f.File, n, name, row[c], r[c])
						}
					}
				}
				if next-1 != 472 && f.File == middle || next-1 != 288 && f.File == cut {
					t.Errorf("%s: the last row is frame %d", f.File, next-1)
				}

				var m Manifest
				if err := json.Unmarshal(readFile(t, newOutputs(f.File, dir, ModeAUs, "").manifest), &m); err != nil {
					t.Fatal(err)
				}
				if len(m.Video.Lost) != len(want[f.File]) || m.Video.Lost[0].First != want[f.File][0].From+1 {
					t.Errorf("%s: the manifest lists lost frames %+v", f.File, m.Video.Lost)
				}
			}
		})
	}
}

// The full pipeline goes on past damaged data too: every frame that
// decodes is mirrored, written at its own time and analysed on both
// sides; the lost ones have no picture and no row in any CSV.
func TestDamagedInputFullPipeline(t *testing.T) {
	useRealHelpers(t)
	middle, _ := damagedCopies(t, t.TempDir())
	dir := t.TempDir()
	run := runMode(t, dir, Options{Mode: ModeFull, Workers: testWorkers}, middle)
	f := run.file(t, middle)
	if f.Err != nil {
		t.Fatal(f.Err)
	}
	if !f.Damaged() || run.report.ExitStatus() != ExitDamaged {
		t.Errorf("not reported as damaged: gaps %+v, exit status %d", f.Gaps, run.report.ExitStatus())
	}
	src, err := video.Probe(context.Background(), middle)
	if err != nil {
		t.Fatal(err)
	}
	var decodes []int
	for i := range src.Frames {
		if !slices.ContainsFunc(src.Gaps, func(g video.Gap) bool { return g.From <= i && i < g.To }) {
			decodes = append(decodes, i+1)
		}
	}
	if len(decodes) != 436 {
		t.Fatalf("%d frames of the damaged copy decode, want 436", len(decodes))
	}
	stem := run.stem(middle)
	for _, kind := range []string{"_right_mirrored.mp4", "_left_mirrored.mp4", "_debug.mp4"} {
		info, err := video.Probe(context.Background(), stem+kind)
		if err != nil {
			t.Fatal(err)
		}
		if info.Frames != len(decodes) || len(info.Gaps) != 0 {
			t.Errorf("%s: %d frames, gaps %v; want the %d that decode", kind, info.Frames, info.Gaps, len(decodes))
			continue
		}
		for k, n := range decodes {
			if d := info.Timestamps[k] - src.Timestamps[n-1]; d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("%s: picture %d at %v, its frame %d is at %v in the source", kind, k+1, info.Timestamps[k], n, src.Timestamps[n-1])
				break
			}
		}
	}
	for _, kind := range []string{".csv", "_right_mirrored.csv", "_left_mirrored.csv", "_asymmetry.csv"} {
		rows := readCells(t, stem+kind)[1:]
		var frames []int
		for _, r := range rows {
			n, err := strconv.Atoi(r[0])
			if err != nil {
				t.Fatal(err)
			}
			frames = append(frames, n)
		}
		if !slices.Equal(frames, decodes) {
			t.Errorf("%s: rows for frames %v..., want one for each of the %d that decode", kind, frames[:min(len(frames), 5)], len(decodes))
		}
	}
}
