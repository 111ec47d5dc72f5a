package models

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"facemirror/internal/sharedtest"
)

// recorder collects Install's progress events.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) add(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// count returns how many events had each action.
func (r *recorder) count() map[Action]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := map[Action]int{}
	for _, e := range r.events {
		n[e.Action]++
	}
	return n
}

func sameCounts(got, want map[Action]int) bool {
	for _, a := range []Action{Kept, Copied, Downloaded, Converted} {
		if got[a] != want[a] {
			return false
		}
	}
	return true
}

// leftovers lists temporary files Install left anywhere under dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(d.Name(), ".partial-") {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestInstallFromMirrorIsIdempotent(t *testing.T) {
	mirror := sharedtest.Models(t)
	dir := filepath.Join(t.TempDir(), "models") // Install creates it
	n := len(Files())

	runs := []struct {
		name  string
		setup func(t *testing.T)
		want  map[Action]int
	}{
		{"first run copies and converts everything", func(*testing.T) {},
			map[Action]int{Copied: n, Converted: 3}},
		{"second run changes nothing", func(*testing.T) {},
			map[Action]int{Kept: n + 3}},
		{"an altered file is copied again, nothing else", func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, "model", "pdms", "In-the-wild_aligned_PDM_68.txt"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, map[Action]int{Copied: 1, Kept: n - 1 + 3}},
		{"a deleted ONNX file reconverts the networks", func(t *testing.T) {
			if err := os.Remove(filepath.Join(dir, filepath.FromSlash(RNetONNX))); err != nil {
				t.Fatal(err)
			}
		}, map[Action]int{Kept: n, Converted: 3}},
	}
	for _, run := range runs {
		run.setup(t)
		var rec recorder
		if err := Install(context.Background(), dir, InstallOptions{Mirror: mirror, Progress: rec.add}); err != nil {
			t.Fatalf("%s: %v", run.name, err)
		}
		if got := rec.count(); !sameCounts(got, run.want) {
			t.Errorf("%s: actions %v, want %v", run.name, got, run.want)
		}
		for i, e := range rec.events {
			if e.Done != i+1 || e.Total != n+3 {
				t.Errorf("%s: event %d = %+v, want Done %d of %d", run.name, i, e, i+1, n+3)
				break
			}
			if e.Action == Copied && e.From != filepath.Join(mirror, filepath.FromSlash(e.Name)) {
				t.Errorf("%s: %s copied from %s", run.name, e.Name, e.From)
			}
		}
		if _, err := Open(dir).Verify(context.Background()); err != nil {
			t.Errorf("%s: Verify: %v", run.name, err)
		}
		if l := leftovers(t, dir); len(l) > 0 {
			t.Errorf("%s: left temporary files %v", run.name, l)
		}
	}
}

// repoServer serves the shared models at OpenFace's repository paths, with
// handlers replacing chosen files (by registry name). It counts requests.
type repoServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests int
}

func newRepoServer(t *testing.T, mirror string, override map[string]http.HandlerFunc) *repoServer {
	t.Helper()
	byPath := map[string]File{}
	for _, f := range Files() {
		byPath["/"+f.RepoPath()] = f
	}
	rs := &repoServer{}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		rs.requests++
		rs.mu.Unlock()
		f, ok := byPath[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if h := override[f.Name]; h != nil {
			h(w, r)
			return
		}
		http.ServeFile(w, r, filepath.Join(mirror, filepath.FromSlash(f.Name)))
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *repoServer) count() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.requests
}

func TestInstallDownloads(t *testing.T) {
	mirror := sharedtest.Models(t)
	const target = "model/mtcnn_detector/RNet.dat"
	rnet, _ := Lookup(target)
	data, err := os.ReadFile(filepath.Join(mirror, filepath.FromSlash(target)))
	if err != nil {
		t.Fatal(err)
	}
	corrupt := append([]byte(nil), data...)
	corrupt[len(corrupt)/2] ^= 0x40

	tests := []struct {
		name     string
		override http.HandlerFunc
		wantErr  func(url string) string // exact message; empty for success
		kind     error
	}{
		{name: "good", wantErr: func(string) string { return "" }},
		{
			name: "corrupt",
			override: func(w http.ResponseWriter, r *http.Request) {
				w.Write(corrupt)
			},
			wantErr: func(url string) string {
				return "model file " + target + " from " + url + " has SHA-256 " + sha256Hex(corrupt) +
					", expected " + rnet.SHA256 + "; not installed"
			},
			kind: ErrBadSource,
		},
		{
			name:     "404",
			override: http.NotFound,
			wantErr: func(url string) string {
				return "install " + target + ": download " + url + ": HTTP 404 Not Found"
			},
		},
		{
			name: "truncated",
			override: func(w http.ResponseWriter, r *http.Request) {
				// Promise the whole file, send half, hang up.
				w.Header().Set("Content-Length", strconv.Itoa(len(data)))
				w.Write(data[:len(data)/2])
			},
			wantErr: func(url string) string {
				return "install " + target + " from " + url + ": read: unexpected EOF"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var override map[string]http.HandlerFunc
			if tt.override != nil {
				override = map[string]http.HandlerFunc{target: tt.override}
			}
			srv := newRepoServer(t, mirror, override)
			dir := t.TempDir()
			var rec recorder
			err := Install(context.Background(), dir, InstallOptions{
				Mirror:   filepath.Join(t.TempDir(), "absent"), // a missing mirror is ignored
				BaseURL:  srv.URL,
				Client:   srv.Client(),
				Progress: rec.add,
			})
			url := rnet.URL(srv.URL)
			want := tt.wantErr(url)
			if want == "" {
				if err != nil {
					t.Fatalf("Install: %v", err)
				}
				if got := rec.count(); !sameCounts(got, map[Action]int{Downloaded: len(Files()), Converted: 3}) {
					t.Errorf("actions %v", got)
				}
				if srv.count() != len(Files()) {
					t.Errorf("%d requests, want %d", srv.count(), len(Files()))
				}
				if _, err := Open(dir).Verify(context.Background()); err != nil {
					t.Errorf("Verify: %v", err)
				}
				return
			}
			if err == nil || err.Error() != want {
				t.Fatalf("Install error\n got %v\nwant %s", err, want)
			}
			if tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Errorf("error %v is not %v", err, tt.kind)
			}
			// Nothing of the failed file is left, not even a temporary.
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(target))); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s exists after a failed download (%v)", target, err)
			}
			if l := leftovers(t, dir); len(l) > 0 {
				t.Errorf("temporary files left: %v", l)
			}
			// Files before it (registry order) were installed and verify.
			s := Open(dir)
			for _, f := range Files() {
				if f.Name == target {
					break
				}
				if _, err := s.Path(f.Name); err != nil {
					t.Errorf("earlier file: %v", err)
				}
			}
			// A repaired server completes the folder on the next run.
			good := newRepoServer(t, mirror, nil)
			rec = recorder{}
			if err := Install(context.Background(), dir, InstallOptions{BaseURL: good.URL, Client: good.Client(), Progress: rec.add}); err != nil {
				t.Fatalf("second Install: %v", err)
			}
			if got := rec.count(); got[Downloaded] != good.count() || got[Downloaded]+got[Kept] != len(Files())+3-got[Converted] || got[Converted] != 3 {
				t.Errorf("second run actions %v with %d requests", got, good.count())
			}
		})
	}
}

// Files the mirror lacks are downloaded; a file the mirror has but with the
// wrong content is an error naming the mirror file, not a silent download.
func TestInstallMirrorThenNetwork(t *testing.T) {
	shared := sharedtest.Models(t)
	mirror := t.TempDir()
	var inMirror int
	for _, f := range Files() {
		if strings.HasPrefix(f.Name, "AU_predictors/svr_combined/") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(shared, filepath.FromSlash(f.Name)))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(mirror, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		inMirror++
	}
	srv := newRepoServer(t, shared, nil)
	dir := t.TempDir()
	var rec recorder
	if err := Install(context.Background(), dir, InstallOptions{Mirror: mirror, BaseURL: srv.URL, Client: srv.Client(), Progress: rec.add}); err != nil {
		t.Fatal(err)
	}
	want := map[Action]int{Copied: inMirror, Downloaded: len(Files()) - inMirror, Converted: 3}
	if got := rec.count(); !sameCounts(got, want) || want[Downloaded] != 17 {
		t.Errorf("actions %v, want %v (17 downloads)", got, want)
	}
	for _, e := range rec.events {
		if (e.Action == Downloaded) != strings.HasPrefix(e.Name, "AU_predictors/svr_combined/") {
			t.Errorf("%s was %v", e.Name, e.Action)
		}
	}

	bad := filepath.Join(mirror, "model", "clnf_general.txt")
	if err := os.WriteFile(bad, []byte("PDM nothing\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, _ := Lookup("model/clnf_general.txt")
	dir2 := t.TempDir()
	err := Install(context.Background(), dir2, InstallOptions{Mirror: mirror, BaseURL: srv.URL, Client: srv.Client()})
	wantMsg := "model file model/clnf_general.txt from " + bad + " has SHA-256 " + sha256Hex([]byte("PDM nothing\n")) +
		", expected " + f.SHA256 + "; not installed"
	if !errors.Is(err, ErrBadSource) || err.Error() != wantMsg {
		t.Errorf("Install with a corrupt mirror file:\n got %v\nwant %s", err, wantMsg)
	}
	if l := leftovers(t, dir2); len(l) > 0 {
		t.Errorf("temporary files left: %v", l)
	}
}

func TestInstallRefusesOversizedDownloads(t *testing.T) {
	mirror := sharedtest.Models(t)
	const target = "AU_predictors/AU_all_best.txt" // first in registry order
	srv := newRepoServer(t, mirror, map[string]http.HandlerFunc{
		target: func(w http.ResponseWriter, r *http.Request) {
			chunk := make([]byte, 1<<20)
			for i := 0; i <= maxModelSize>>20; i++ {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		},
	})
	dir := t.TempDir()
	err := Install(context.Background(), dir, InstallOptions{BaseURL: srv.URL, Client: srv.Client()})
	f, _ := Lookup(target)
	want := "install " + target + " from " + f.URL(srv.URL) + ": content exceeds 67108864 bytes"
	if err == nil || err.Error() != want {
		t.Errorf("Install error\n got %v\nwant %s", err, want)
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("temporary files left: %v", l)
	}
}

func TestInstallStopsWhenCancelled(t *testing.T) {
	srv := newRepoServer(t, sharedtest.Models(t), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	err := Install(ctx, dir, InstallOptions{BaseURL: srv.URL, Client: srv.Client()})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Install error = %v, want context.Canceled", err)
	}
	if srv.count() != 0 {
		t.Errorf("%d requests after cancellation", srv.count())
	}
	if err := Install(context.Background(), "", InstallOptions{}); err == nil {
		t.Error("Install into \"\" succeeded")
	}
}

// BenchmarkInstallUpToDate measures `make models` on an installed folder:
// every file is hashed and the networks are converted in memory.
func BenchmarkInstallUpToDate(b *testing.B) {
	mirror := sharedtest.Models(b)
	dir := installMirror(b)
	for b.Loop() {
		if err := Install(context.Background(), dir, InstallOptions{Mirror: mirror}); err != nil {
			b.Fatal(err)
		}
	}
}
