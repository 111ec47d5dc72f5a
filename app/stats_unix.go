//go:build unix

package app

import (
	"os"
	"runtime"
	"syscall"
)

// selfPeakRSS returns this process's peak resident set size in bytes.
func selfPeakRSS() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return maxRSSBytes(&ru), true
}

// exitPeakRSS returns the peak resident set size in bytes of a process
// that has exited, from the resource usage its parent reaped.
func exitPeakRSS(st *os.ProcessState) (int64, bool) {
	if st == nil {
		return 0, false
	}
	ru, ok := st.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0, false
	}
	return maxRSSBytes(ru), true
}

// maxRSSBytes converts ru_maxrss, which Darwin reports in bytes and the
// other systems in kilobytes.
func maxRSSBytes(ru *syscall.Rusage) int64 {
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss)
	}
	return int64(ru.Maxrss) * 1024
}
