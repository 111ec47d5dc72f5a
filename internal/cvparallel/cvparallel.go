package cvparallel

// The flags follow gocv v0.31.0's own, which this binary links already.

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#cgo windows CPPFLAGS: -IC:/opencv/build/install/include
#cgo windows LDFLAGS: -LC:/opencv/build/install/x64/mingw/lib -lopencv_core460
#include "cvparallel.h"
*/
import "C"

// Serial makes OpenCV run its functions on the calling thread, without its
// thread pool, in this process from now on. Results are the same: OpenCV
// splits work into stripes that each compute the same values.
func Serial() { C.facemirror_cv_serial() }

// Threads returns how many threads OpenCV's functions use (1 after
// Serial).
func Threads() int { return int(C.facemirror_cv_threads()) }
