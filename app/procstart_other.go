//go:build !linux

package app

import (
	"errors"
	"time"
)

// processStarted is only known on Linux.
func processStarted() (time.Time, error) {
	return time.Time{}, errors.New("the process start time is only read on Linux")
}
