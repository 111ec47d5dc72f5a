package app

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memSampler follows the memory of this process and its descendants (the
// helpers and the encoders they run) while a run lasts: every interval it adds up their
// proportional set sizes (PSS, from /proc/PID/smaps_rollup) and keeps the
// largest sum. PSS divides each shared page among the processes that map
// it, so the shared libraries and the binary that every helper maps too
// count once in the sum, as they take memory once; a sum of resident set
// sizes counts them once per process.
type memSampler struct {
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	peak    int64 // bytes
	samples int
}

// startMemSampler starts sampling every interval.
func startMemSampler(interval time.Duration) *memSampler {
	m := &memSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			m.sample()
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// Stop ends the sampling and returns the largest PSS sum seen, in bytes;
// ok is false when /proc could not be read.
func (m *memSampler) Stop() (peak int64, ok bool) {
	close(m.stop)
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.peak, m.samples > 0
}

func (m *memSampler) sample() {
	self := os.Getpid()
	total, ok := pss(self)
	if !ok {
		return
	}
	// Depth first over the process tree; a process that exits meanwhile
	// just stops counting.
	stack := children(self)
	for len(stack) > 0 {
		pid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if kb, ok := pss(pid); ok {
			total += kb
		}
		stack = append(stack, children(pid)...)
	}
	m.mu.Lock()
	m.peak = max(m.peak, total*1024)
	m.samples++
	m.mu.Unlock()
}

// pss returns a process's proportional set size in kB.
func pss(pid int) (int64, bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"))
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "Pss:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb, err == nil
		}
	}
	return 0, false
}

// children lists the child processes of pid: each of its threads may have
// started some.
func children(pid int) []int {
	tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
	var out []int
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}
