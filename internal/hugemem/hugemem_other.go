//go:build !linux

package hugemem

// alloc has no huge pages to offer here; Alloc uses the Go heap.
func alloc(n int) *Buffer { return nil }
