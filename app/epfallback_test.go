package app

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"facemirror/app/helper"
	"facemirror/app/internal/faultinject"
	"facemirror/internal/sharedtest"
)

// A helper that crashes while it runs an accelerated execution provider
// (here "auto", made to crash by a fault that strikes only helpers started
// with it) costs a retry on a CPU helper, and the pool stays on the CPU:
// later requests do not meet the crash again. The log says so.
func TestAcceleratedHelperFallsBackToCPU(t *testing.T) {
	useRealHelpers(t)
	v01 := sharedtest.Media(t, "videos/v01_talking_frontal_glasses_480x360.mp4")
	plan := faultinject.Plan{Kind: faultinject.Segfault, Frame: 1, EP: "auto", State: t.TempDir()}
	env, err := plan.Env()
	if err != nil {
		t.Fatal(err)
	}
	name, value, _ := strings.Cut(env, "=")
	t.Setenv(name, value)

	var log lockedLog
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool := helper.Config{EP: "auto", Stderr: &log}.NewPool(ctx, 1)
	defer pool.Close()
	for i := range 2 {
		res, err := helper.Detect(ctx, pool, helper.DetectRequest{Path: v01, Frames: []int{0, 150}}, nil)
		if err != nil {
			t.Fatalf("request %d: %v\n%s", i+1, err, log.String())
		}
		if res.Analysed != 2 {
			t.Errorf("request %d: %d frames analysed, want 2", i+1, res.Analysed)
		}
	}
	if n, _ := faultinject.Strikes(plan.State); n != 1 {
		t.Errorf("the crash struck %d times, want once: the pool should have stayed on the CPU", n)
	}
	if want := `retrying once on a fresh helper with the CPU provider instead of "auto", as will every later helper of this run`; !strings.Contains(log.String(), want) {
		t.Errorf("the log lacks %q:\n%s", want, log.String())
	}
}

// lockedLog is a log the helpers' lines can be written to concurrently.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
