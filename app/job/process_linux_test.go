package job

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// killHelper kills one helper process of this test (a child running
// "worker") with SIGKILL, as a crash would end it.
func killHelper() error {
	procs, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return err
	}
	self := os.Getpid()
	for _, stat := range procs {
		b, err := os.ReadFile(stat)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
		end := bytes.LastIndexByte(b, ')')
		fields := strings.Fields(string(b[end+1:]))
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid != self {
			continue
		}
		dir := filepath.Dir(stat)
		cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		args := strings.Split(string(cmdline), "\x00")
		if len(args) < 2 || args[1] != "worker" {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(dir))
		return syscall.Kill(pid, syscall.SIGKILL)
	}
	return fmt.Errorf("no helper process of pid %d found", self)
}
