package app

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's start time: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// processStarted returns when this process was started (exec'd), which
// time.Now at the top of main cannot know: on the development machine the
// dynamic loader spends about 0.3 s on OpenCV's libraries before main
// runs. It compares the process's start time with the system's uptime,
// both counted from boot, so it is good to about 10 ms.
func processStarted() (time.Time, error) {
	now := time.Now()
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return time.Time{}, err
	}
	up, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return time.Time{}, err
	}
	// The command name, field 2, is in parentheses and may hold spaces;
	// the start time is field 22, the 20th after it.
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return time.Time{}, fmt.Errorf("/proc/self/stat: no command name in %q", stat)
	}
	fields := strings.Fields(string(stat[end+1:]))
	if len(fields) < 20 {
		return time.Time{}, fmt.Errorf("/proc/self/stat: %d fields after the command name, want 20", len(fields))
	}
	ticks, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("/proc/self/stat: start time: %w", err)
	}
	upFields := strings.Fields(string(up))
	if len(upFields) == 0 {
		return time.Time{}, fmt.Errorf("/proc/uptime: empty")
	}
	uptime, err := strconv.ParseFloat(upFields[0], 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("/proc/uptime: %w", err)
	}
	age := time.Duration((uptime - float64(ticks)/clockTicks) * float64(time.Second))
	return now.Add(-age), nil
}
