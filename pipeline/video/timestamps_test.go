package video

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"facemirror/internal/sharedtest"
)

// intervalsMs returns the frame intervals rounded to 0.1 ms.
func intervalsMs(ts []time.Duration) []float64 {
	out := make([]float64, 0, len(ts))
	for i := 1; i < len(ts); i++ {
		out = append(out, math.Round(float64(ts[i]-ts[i-1])/1e5)/10)
	}
	return out
}

// distinctCounts maps each distinct value to how often it occurs.
func distinctCounts(v []float64) map[float64]int {
	m := map[float64]int{}
	for _, x := range v {
		m[x]++
	}
	return m
}

// probed caches Probe results of shared media across tests: decoding every
// file once per test would double the suite's run time.
var probed sync.Map // media path relative to shared/media -> Info

// probeMedia returns Probe's Info for a usable shared media file.
func probeMedia(t *testing.T, rel string) Info {
	t.Helper()
	if info, ok := probed.Load(rel); ok {
		return info.(Info)
	}
	info, err := Probe(context.Background(), sharedtest.Media(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	probed.Store(rel, info)
	return info
}

// TestVariableFrameRateTimestamps checks that the two variable-rate files
// keep their real timing: e02 changes from 30 to 24 fps after 2.4 s (two
// odd frames at the splice), b09 runs at 30, 10, 15 and 30 fps.
func TestVariableFrameRateTimestamps(t *testing.T) {
	e02 := probeMedia(t, "edge/e02_face_then_noface_hevc_vfr_audiofirst_960x540.mov")
	got := distinctCounts(intervalsMs(e02.Timestamps))
	want := map[float64]int{33.3: 72, 30.0: 1, 13.7: 1, 41.7: 94}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("e02 intervals (ms: count) %v, want %v", got, want)
	}
	if e02.Timestamps[72] != 2400*time.Millisecond {
		t.Errorf("e02 frame 72 at %v, want 2.4s (72 frames at 30 fps)", e02.Timestamps[72])
	}

	b09 := probeMedia(t, "bad/b09_vfr_real_face_30_10_15_30fps.mp4")
	got = distinctCounts(intervalsMs(b09.Timestamps))
	// 10 s in four parts; the counts are what the file holds.
	var keys []float64
	for k := range got {
		keys = append(keys, k)
	}
	sort.Float64s(keys)
	if fmt.Sprint(keys) != "[33.3 66.7 100]" {
		t.Errorf("b09 intervals %v, want 33.3, 66.7 and 100 ms (30, 15, 10 fps)", got)
	}
	// Nominal 21 fps would put the last frame at 209/21 s = 9.952 s.
	if last := b09.Timestamps[len(b09.Timestamps)-1]; last != 9966666667 {
		t.Errorf("b09 last frame at %v, want 9.966666667s", last)
	}
	// Order of the rate changes: 30 fps first, then 10, 15, 30.
	var order []float64
	for _, iv := range intervalsMs(b09.Timestamps) {
		if len(order) == 0 || order[len(order)-1] != iv {
			order = append(order, iv)
		}
	}
	if fmt.Sprint(order) != "[33.3 100 66.7 33.3]" {
		t.Errorf("b09 rate segments %v, want [33.3 100 66.7 33.3] ms", order)
	}
}

// TestSampleTableMatchesDecoder compares the sample-table timestamps with
// OpenCV's CAP_PROP_POS_MSEC on every MP4/MOV file. They must agree to a
// microsecond wherever the decoder reports a time; the frames where it
// does not are exactly the known OpenCV 4.6 defects documented in the
// package comment.
func TestSampleTableMatchesDecoder(t *testing.T) {
	for rel, want := range mediaExpectations {
		if want.err != nil || want.source != SampleTable {
			continue
		}
		t.Run(rel, func(t *testing.T) {
			path := sharedtest.Media(t, rel)
			info := probeMedia(t, rel)
			c, err := gocv.VideoCaptureFileWithAPI(path, gocv.VideoCaptureFFmpeg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var bad []string
			i := 0
			for ; grab(c); i++ {
				ms := c.Get(gocv.VideoCapturePosMsec)
				dec := time.Duration(math.Round(ms * 1e6))
				if absDuration(dec-info.Timestamps[i]) > time.Microsecond {
					bad = append(bad, fmt.Sprintf("%d:%.3f", i, ms))
				}
			}
			if i != info.Frames {
				t.Fatalf("decoded %d frames, Probe %d", i, info.Frames)
			}
			n := info.Frames
			var exp []string
			if rel == "edge/e02_face_then_noface_hevc_vfr_audiofirst_960x540.mov" {
				exp = append(exp, "0:-16.667") // pts 0 reported as its dts
			}
			if n > 1 {
				// frames flushed from the decoder after the last packet
				exp = append(exp, fmt.Sprintf("%d:0.000", n-2), fmt.Sprintf("%d:0.000", n-1))
			}
			if strings.Join(bad, " ") != strings.Join(exp, " ") {
				t.Errorf("decoder disagrees at %v, want exactly %v", bad, exp)
			}
		})
	}
}

// TestOpenFaceTimestamps reproduces the timestamp column of every reference
// CSV and compares the true (container) times with it.
func TestOpenFaceTimestamps(t *testing.T) {
	cases := []struct {
		rel string
		// constantRate: true times equal OpenFace's to the printed ms.
		constantRate bool
		// maxDriftMs: the largest |true - OpenFace| in ms, rounded.
		maxDriftMs float64
	}{
		{"videos/v01_talking_frontal_glasses_480x360.mp4", true, 0},
		{"videos/v02_emotions_sad_to_laughing_640x360_pexels.mp4", true, 0},
		{"videos/v04_eyeclosure_cheekpuff_smile_glasses_512x480.mp4", true, 0},
		{"videos/v10_grid_talking_frontal_mpeg1_360x288.mpg", true, 0},
		{"edge/e01_neutral_to_smile_2.4s_mp3audio_640x360.mp4", true, 0},
		{"edge/e02_face_then_noface_hevc_vfr_audiofirst_960x540.mov", false, 359.6},
		{"edge/e03_noface_animation_caminandes_960x540.mp4", false, 54.3},
		{"derived/d04_emotions_upscaled_1920x1080_19.7s.mp4", true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.rel, func(t *testing.T) {
			base := tc.rel[strings.LastIndex(tc.rel, "/")+1:]
			stem := strings.TrimSuffix(base, base[strings.LastIndex(base, "."):])
			header, rows := readCSV(t, sharedtest.Reference(t, stem+"/"+stem+".csv"))
			cFrame, cTime := column(t, header, "frame"), column(t, header, "timestamp")
			info := probeMedia(t, tc.rel)
			if len(rows) != info.Frames {
				t.Fatalf("reference has %d rows, Probe %d frames", len(rows), info.Frames)
			}
			var drift float64
			for i, row := range rows {
				if atoi(t, row[cFrame]) != i+1 {
					t.Fatalf("row %d is frame %s", i, row[cFrame])
				}
				of := fmt.Sprintf("%.3f", info.OpenFaceTimestamp(i))
				if of != row[cTime] {
					t.Errorf("frame %d: OpenFaceTimestamp %s, reference %s", i, of, row[cTime])
				}
				trueTime := info.Timestamps[i].Seconds()
				if tc.constantRate && fmt.Sprintf("%.3f", trueTime) != row[cTime] {
					t.Errorf("frame %d: true time %.3f, reference %s", i, trueTime, row[cTime])
				}
				drift = max(drift, math.Abs(trueTime-info.OpenFaceTimestamp(i)))
			}
			if got := math.Round(drift*1e4) / 10; got != tc.maxDriftMs {
				t.Errorf("largest |true - OpenFace| %.1f ms, want %.1f ms", got, tc.maxDriftMs)
			}
			t.Logf("largest |container time - OpenFace timestamp| = %.3f ms", drift*1e3)
		})
	}
}
