package worker

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// threadNices returns the nice value of every thread of pid.
func threadNices(t *testing.T, pid int) []int {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	var out []int
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread has ended
		}
		// After "pid (comm) ", field 19 of stat is the nice value.
		_, rest, _ := strings.Cut(string(b), ") ")
		f := strings.Fields(rest)
		n, err := strconv.Atoi(f[16])
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, n)
	}
	return out
}

// A helper started with Nice runs every thread, and the programs it
// starts, at that nice value.
func TestNice(t *testing.T) {
	ctx := testContext(t)
	opts := helperOptions(t, "serve")
	opts.Nice = 7
	c := startServe(t, ctx, opts)
	var res testResult
	if err := c.Call(ctx, "spawn", nil, &res, nil); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int{c.pid, res.PID} {
		for _, n := range threadNices(t, pid) {
			if n != 7 {
				t.Errorf("process %d has a thread at nice %d, want 7 (all: %v)", pid, n, threadNices(t, pid))
				break
			}
		}
	}
	// Without Nice, this process's priority.
	plain := startServe(t, ctx, helperOptions(t, "serve"))
	own := threadNices(t, os.Getpid())[0]
	for _, n := range threadNices(t, plain.pid) {
		if n != own {
			t.Errorf("helper without Nice has a thread at nice %d, want %d", n, own)
		}
	}
}
