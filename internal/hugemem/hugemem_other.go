//go:build !linux

package hugemem

import "unsafe"

// alloc has no huge pages to offer here; Alloc uses the Go heap.
func alloc(n int) *Buffer { return nil }

// advise has no huge pages to ask for here.
func advise(p unsafe.Pointer, n uintptr) {}
