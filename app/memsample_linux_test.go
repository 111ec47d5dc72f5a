package app

import (
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

// The sampler adds the children's proportional set size to this
// process's: with a child running, the peak exceeds this process alone.
func TestMemSamplerCountsChildren(t *testing.T) {
	if _, ok := pss(0); ok {
		t.Fatal("pss of process 0 succeeded")
	}
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	m := startMemSampler(10 * time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	peak, ok := m.Stop()
	if !ok {
		t.Fatal("no sample")
	}
	if !slices.Contains(children(os.Getpid()), cmd.Process.Pid) {
		t.Fatalf("children %v lack %d", children(os.Getpid()), cmd.Process.Pid)
	}
	mine, _ := pss(os.Getpid())
	child, ok := pss(cmd.Process.Pid)
	if !ok || child <= 0 {
		t.Fatalf("child PSS %d kB, %v", child, ok)
	}
	// The test's heap may shrink between the samples and here; the child
	// must show on top of most of it.
	if peak < (mine/2+child)*1024 {
		t.Errorf("peak %d B, this process %d kB and the child %d kB", peak, mine, child)
	}
}
