package forkserver

import (
	"strings"
	"testing"
)

func TestCheckEnv(t *testing.T) {
	start := []string{"PATH=/bin", "DISPLAY=:0", "LANG=C.UTF-8", "GOGC=80", "MALLOC_ARENA_MAX=4"}
	for _, tc := range []struct {
		name string
		want []string
		bad  string // in the error; empty for none
	}{
		{"same", start, ""},
		{"display removed, plain variable added", []string{"PATH=/bin", "LANG=C.UTF-8", "LANGUAGE=en", "GOGC=80", "MALLOC_ARENA_MAX=4"}, ""},
		{"helper settings", []string{"PATH=/bin", "GOGC=50", "MALLOC_ARENA_MAX=2", "MALLOC_MMAP_THRESHOLD_=1048576", "LANG=C.UTF-8"}, ""},
		{"GOGC off", []string{"PATH=/bin", "GOGC=off", "MALLOC_ARENA_MAX=4", "LANG=C.UTF-8"}, ""},
		{"later entry wins", append(append([]string{}, start...), "GOGC=50", "GOGC=80"), ""},
		{"GOGC removed", []string{"PATH=/bin", "MALLOC_ARENA_MAX=4"}, "GOGC=80 is set here"},
		{"GOGC garbage", []string{"GOGC=fast", "MALLOC_ARENA_MAX=4"}, "GOGC=fast"},
		{"malloc removed", []string{"GOGC=80"}, "MALLOC_ARENA_MAX=4 is set here"},
		{"malloc garbage", []string{"GOGC=80", "MALLOC_ARENA_MAX=two"}, "MALLOC_ARENA_MAX=two"},
		{"other malloc variable", []string{"GOGC=80", "MALLOC_ARENA_MAX=4", "MALLOC_CHECK_=3"}, "MALLOC_CHECK_ differs"},
		{"loader", []string{"GOGC=80", "MALLOC_ARENA_MAX=4", "LD_PRELOAD=/x.so"}, "LD_PRELOAD differs"},
		{"tunables", []string{"GOGC=80", "MALLOC_ARENA_MAX=4", "GLIBC_TUNABLES=glibc.malloc.hugetlb=1"}, "GLIBC_TUNABLES differs"},
		{"godebug", []string{"GOGC=80", "MALLOC_ARENA_MAX=4", "GODEBUG=gctrace=1"}, "GODEBUG differs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkEnv(start, tc.want)
			switch {
			case tc.bad == "" && err != nil:
				t.Errorf("checkEnv: %v, want nil", err)
			case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
				t.Errorf("checkEnv: %v, want an error with %q", err, tc.bad)
			}
		})
	}
}
