//go:build !linux

package app

import "time"

// memSampler needs Linux's /proc; elsewhere it reports nothing.
type memSampler struct{}

func startMemSampler(time.Duration) *memSampler { return &memSampler{} }

// Stop reports that no sample could be taken.
func (*memSampler) Stop() (int64, bool) { return 0, false }
