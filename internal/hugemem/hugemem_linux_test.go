package hugemem

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// adviseSlice gives a fresh heap allocation huge pages where the system offers
// them to memory that asks, and is harmless on slices too small for one.
func TestAdviseSlice(t *testing.T) {
	adviseSlice([]uint16(nil))
	adviseSlice(make([]byte, 100))
	s := make([]uint16, 8<<20/2)
	adviseSlice(s)
	for i := range s {
		s[i] = uint16(i)
	}
	for i, v := range s {
		if v != uint16(i) {
			t.Fatalf("value %d reads %d", i, v)
		}
	}
	lo := uintptr(unsafe.Pointer(&s[0]))
	huge, err := hugeKB(lo, lo+uintptr(len(s))*2)
	if err != nil {
		t.Fatal(err)
	}
	mode, _ := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	offered := strings.Contains(string(mode), "[madvise]") || strings.Contains(string(mode), "[always]")
	if offered && huge < 2048 {
		t.Errorf("transparent huge pages are %q, and the advised 8 MB have %d kB of them", strings.TrimSpace(string(mode)), huge)
	}
	runtime.KeepAlive(s)

	// Made aligned, 8 MB are four whole huge pages.
	m := Make[float32](2 << 20)
	for i := range m {
		m[i] = 1
	}
	lo = uintptr(unsafe.Pointer(&m[0]))
	if huge, err = hugeKB(lo, lo+8<<20); err != nil {
		t.Fatal(err)
	}
	if offered && huge < 8192 {
		t.Errorf("8 MB from Make have %d kB of huge pages, want 8192", huge)
	}
	runtime.KeepAlive(m)
}

// hugeKB sums AnonHugePages over the mappings that overlap [lo, hi), from
// /proc/self/smaps (madvise splits a mapping where its advice starts).
func hugeKB(lo, hi uintptr) (int, error) {
	data, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	in, found, total := false, false, 0
	for _, line := range strings.Split(string(data), "\n") {
		var start, end uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x", &start, &end); n == 2 && strings.Contains(line, " ") {
			in = start < hi && lo < end
			found = found || in
			continue
		}
		if in && strings.HasPrefix(line, "AnonHugePages:") {
			var kb int
			if _, err := fmt.Sscanf(strings.TrimPrefix(line, "AnonHugePages:"), "%d", &kb); err != nil {
				return 0, err
			}
			total += kb
		}
	}
	if !found {
		return 0, fmt.Errorf("no mapping holds %#x-%#x", lo, hi)
	}
	return total, nil
}
