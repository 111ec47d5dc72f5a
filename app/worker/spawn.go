package worker

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"

	"facemirror/internal/forkserver"
)

// startProcess starts a helper: this program (opts.Exe empty) from the fork
// server when it can (see internal/forkserver: a few milliseconds instead
// of the 0.3 s it takes to execute the program), otherwise by executing
// exe. Either way the helper gets files as its standard input, output and
// error, a process group of its own and the nice value asked for.
func startProcess(exe string, opts Options, files [3]*os.File) (*os.Process, error) {
	argv := append([]string{exe}, opts.Args...)
	if opts.Exe == "" && opts.Dir == "" {
		env := opts.Env
		if env == nil {
			env = os.Environ()
		}
		p, err := forkserver.Default().Start(argv, env, opts.Nice, files)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, forkserver.ErrUnavailable) {
			return nil, err
		}
	}
	if filepath.Base(exe) == exe {
		path, err := exec.LookPath(exe)
		if err != nil {
			return nil, err
		}
		exe = path
	}
	p, err := os.StartProcess(exe, argv, &os.ProcAttr{Dir: opts.Dir, Env: opts.Env, Files: files[:], Sys: isolated()})
	if err != nil {
		return nil, err
	}
	if opts.Nice > 0 {
		lowerPriority(p.Pid, opts.Nice)
	}
	return p, nil
}
