package app

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"facemirror/internal/sharedtest"
)

// A study run as three shards of an input list, as a cluster's job array
// runs it: the shards write what one command over the whole list writes,
// and report tells, across them, what is done, what failed and why, and
// what no shard has reached; with every shard run, only the failed input
// keeps report from exiting 0. A shard re-submitted with --skip-existing
// redoes nothing.
func TestStudyShardsAndReport(t *testing.T) {
	useRealHelpers(t)
	inputs := []string{
		sharedtest.Media(t, "videos/v10_grid_talking_frontal_mpeg1_360x288.mpg"),
		sharedtest.Media(t, "edge/e01_neutral_to_smile_2.4s_mp3audio_640x360.mp4"),
		sharedtest.Media(t, "bad/b03_random_bytes_1MiB.mp4"),
		sharedtest.Media(t, "bad/b10_one_frame_real_face_480x360.mp4"),
	}
	list := filepath.Join(t.TempDir(), "study.txt")
	if err := os.WriteFile(list, []byte(strings.Join(inputs, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t, 10*time.Minute)
	whole := t.TempDir()
	runCLI(t, ctx, "process", "--quiet", "--out", whole, "--files-from", list)

	out := t.TempDir()
	shard := func(k string) {
		t.Helper()
		runCLI(t, ctx, "process", "--quiet", "--skip-existing", "--out", out, "--files-from", list, "--shard", k+"/3")
	}
	report := func() (int, string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, ctx, "report", "--out", out, "--files-from", list)
		if stderr != "" {
			t.Errorf("report wrote to stderr: %s", stderr)
		}
		return code, stdout
	}

	shard("0") // v10 and b10
	code, got := report()
	want := "missing " + inputs[1] + "\nmissing " + inputs[2] + "\n4 inputs: 2 done, 0 failed, 2 missing\n"
	if code != 1 || got != want {
		t.Errorf("after shard 0: exit status %d, report\n%s\nwant 1 and\n%s", code, got, want)
	}
	shard("1") // e01
	shard("2") // b03, which is not a video
	code, got = report()
	want = "failed  " + inputs[2] + ": b03_random_bytes_1MiB.mp4: not a video or image file\n4 inputs: 3 done, 1 failed, 0 missing\n"
	if code != 1 || got != want {
		t.Errorf("after every shard: exit status %d, report\n%s\nwant 1 and\n%s", code, got, want)
	}
	// Without the list, report takes the inputs the shards recorded.
	if code, stdout, _ := runCLI(t, ctx, "report", "--out", out); code != 1 || stdout != got {
		t.Errorf("report without the list: exit status %d,\n%s", code, stdout)
	}
	code, stdout, _ := runCLI(t, ctx, "report", "--out", out, "--files-from", list, "--json")
	var entries []struct{ File, State, Detail string }
	if err := json.Unmarshal([]byte(stdout), &entries); err != nil || len(entries) != 4 || entries[2].State != "failed" || code != 1 {
		t.Errorf("report --json: exit status %d, %v:\n%s", code, err, stdout)
	}

	before := modTimes(t, out, "v10_")
	shard("0")
	if after := modTimes(t, out, "v10_"); !mapsEqual(before, after) {
		t.Errorf("a re-submitted shard rewrote finished outputs")
	}
	a, b := readOutputs(t, whole), readOutputs(t, out)
	for name, data := range a {
		if !bytes.Equal(b[name], data) {
			t.Errorf("%s: the shards wrote %d bytes, one command %d", name, len(b[name]), len(data))
		}
	}
	for name := range b {
		if _, ok := a[name]; !ok && !strings.HasPrefix(name, "facemirror_aus_shard_") {
			t.Errorf("the shards wrote %s, one command did not", name)
		}
	}
}
