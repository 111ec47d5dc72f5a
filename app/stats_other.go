//go:build !unix

package app

import "os"

// selfPeakRSS is not available without getrusage.
func selfPeakRSS() (int64, bool) { return 0, false }

// exitPeakRSS is not available without getrusage.
func exitPeakRSS(st *os.ProcessState) (int64, bool) { return 0, false }
