package helper

import (
	"strings"
	"testing"
)

// Helpers run without the display and with their memory settings, unless
// the user chose others.
func TestHelperEnv(t *testing.T) {
	cases := []struct{ env, want []string }{
		{
			[]string{"PATH=/bin", "DISPLAY=:0", "WAYLAND_DISPLAY=wayland-0", "HOME=/root", "DISPLAYX=kept"},
			[]string{"PATH=/bin", "HOME=/root", "DISPLAYX=kept", "GOGC=50", "MALLOC_ARENA_MAX=2", "MALLOC_MMAP_THRESHOLD_=1048576",
				"FACEMIRROR_HELPER_ONLY_ENV=GOGC,MALLOC_ARENA_MAX,MALLOC_MMAP_THRESHOLD_"},
		},
		{
			[]string{"GOGC=off", "MALLOC_ARENA_MAX=8", "MALLOC_MMAP_THRESHOLD_=65536"},
			[]string{"GOGC=off", "MALLOC_ARENA_MAX=8", "MALLOC_MMAP_THRESHOLD_=65536"},
		},
	}
	for _, tc := range cases {
		if got := helperEnv(tc.env); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("helperEnv(%q) = %q, want %q", tc.env, got, tc.want)
		}
	}
}

// Options passes every setting on the helper's command line, which Main
// parses back.
func TestOptionsArgs(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "worker"},
		{Config{EP: "cpu", Threads: 1, Verbose: true, Preload: true}, "worker --ep cpu --threads 1 --verbose --preload"},
	} {
		if got := strings.Join(tc.cfg.Options().Args, " "); got != tc.want {
			t.Errorf("%+v: args %q, want %q", tc.cfg, got, tc.want)
		}
	}
}
