// Package forkserver starts helper processes of this program without
// executing it again.
//
// FaceMirror's binary links OpenCV with FFmpeg and GStreamer, GTK and
// OpenGL: 285 shared libraries and 112,000 symbol relocations. Executing it
// takes 0.3 s on the development machine before main runs, most of it in
// the dynamic loader, and every helper paid that again, on top of the
// coordinator's own start. Go cannot fork a running Go program, but a
// process can fork before its Go runtime starts: a C constructor in this
// package runs after the libraries are loaded and relocated and before the
// runtime, while the process is still a single thread. There it forks a
// small server (Linux only). Asked for a helper, the server forks again;
// the new process takes the standard files, arguments and environment of
// the request and goes on to start a fresh Go runtime, exactly as an
// executed helper would after its loader had finished. Starting a helper
// so takes a few milliseconds instead of a third of a second, and the
// relocated library data stays shared between the processes instead of
// being written anew in each.
//
// The server holds nothing but what the loader and the libraries'
// constructors set up: ONNX Runtime and any accelerator's libraries are
// opened later, by each helper for itself, so no accelerator state is ever
// shared through a fork.
//
// A helper from the server is a child of the process that asked for it
// (CLONE_PARENT), so that process waits for it, reads its exit status and
// resource usage, and signals it like any child: [Server.Start] returns an
// ordinary *os.Process. It runs in a process group of its own at the
// requested nice value. The server dies with the process that started it.
//
// The server starts for the invocations that may start helpers (the window
// and the commands other than worker, help, models and report); the environment
// variable FACEMIRROR_FORKSERVER=0 turns it off, =1 starts it for any
// invocation but "worker" (tests, whose binaries take other arguments). A
// program importing this package must call nothing in it for a forked
// helper to work: the package's init gives such a process its requested
// os.Args and environment, early among the packages' inits.
//
// Some settings are read only when a process starts: the dynamic loader's
// (LD_*, GLIBC_TUNABLES), the Go runtime's (GODEBUG, GOMAXPROCS, ...) and
// glibc malloc's. A forked helper applies GOGC and the malloc settings
// itself; a request whose environment differs from this process's start in
// any other of them gets [ErrUnavailable], and the caller executes the
// program instead.
package forkserver
