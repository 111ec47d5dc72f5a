package forkserver

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// startOnly lists the variables a process reads only when it starts and
// that a forked helper cannot apply by itself: the dynamic loader's, glibc's
// tunables and the Go runtime's. (LD_* and the malloc variables not in
// mallocEnv are matched by prefix.)
var startOnly = map[string]bool{
	"GLIBC_TUNABLES": true,
	"GODEBUG":        true,
	"GOMAXPROCS":     true,
	"GOMEMLIMIT":     true,
	"GOTRACEBACK":    true,
	"GOCOVERDIR":     true,
}

// mallocEnv lists the glibc malloc variables a forked helper applies with
// mallopt (forkserver_linux.c keeps the same list).
var mallocEnv = map[string]bool{
	"MALLOC_ARENA_MAX":       true,
	"MALLOC_ARENA_TEST":      true,
	"MALLOC_MMAP_THRESHOLD_": true,
	"MALLOC_MMAP_MAX_":       true,
	"MALLOC_TRIM_THRESHOLD_": true,
	"MALLOC_TOP_PAD_":        true,
}

// envMap returns the variables of an environment list; a later entry for a
// name wins, as for os/exec.
func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			m[k] = v
		}
	}
	return m
}

// checkEnv returns nil when a helper forked from a process started with
// environment start behaves as one executed with environment want, and
// otherwise says which variable stands in the way.
func checkEnv(start, want []string) error {
	s, w := envMap(start), envMap(want)
	names := make([]string, 0, len(s)+len(w))
	for k := range s {
		names = append(names, k)
	}
	for k := range w {
		if _, ok := s[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		sv, inStart := s[k]
		wv, inWant := w[k]
		if inStart == inWant && sv == wv {
			continue
		}
		switch {
		case k == "GOGC":
			if !inWant {
				return fmt.Errorf("GOGC=%s is set here and not for the helper", sv)
			}
			if _, ok := parseGOGC(wv); !ok {
				return fmt.Errorf("GOGC=%s is not a percentage or off", wv)
			}
		case mallocEnv[k]:
			if !inWant {
				return fmt.Errorf("%s=%s is set here and not for the helper", k, sv)
			}
			if n, err := strconv.ParseInt(wv, 10, 32); err != nil || n < 0 {
				return fmt.Errorf("%s=%s is not a number mallopt takes", k, wv)
			}
		case startOnly[k] || strings.HasPrefix(k, "LD_") || strings.HasPrefix(k, "MALLOC_"):
			return fmt.Errorf("%s differs, and it takes effect only when a process starts", k)
		}
	}
	return nil
}

// parseGOGC reads a GOGC value as the Go runtime does: a percentage, or
// "off" for -1.
func parseGOGC(v string) (int, bool) {
	if v == "off" {
		return -1, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}
