// Package hugemem provides large float32 buffers mapped outside the Go
// heap, freed explicitly, and backed by transparent huge pages where the
// system offers them to memory that asks (Linux with
// transparent_hugepage set to madvise or always).
//
// A fresh 4 KB page costs a page fault when it is first written; on the
// development machine, a virtual machine, that is about 12 µs, against
// about 0.3 µs per 4 KB for a 2 MB huge page. The face detector's float
// copy of a 1080p frame is 25 MB: 6,000 faults, some 70 ms, whenever it is
// fresh memory, and too large to keep in the heap between detections that
// may be far apart. Freed explicitly, it goes back to the system at once
// instead of waiting for the garbage collector.
package hugemem

import "unsafe"

// Buffer is a float32 buffer from Alloc. Its memory is not managed by the
// Go garbage collector: Free it, and do not use Data afterwards.
type Buffer struct {
	// Data holds the values, zero after Alloc.
	Data []float32
	free func() error
}

// Alloc returns a buffer of n zero values. Where memory cannot be mapped
// it falls back to the Go heap, so it fails only as make would.
func Alloc(n int) *Buffer {
	if b := alloc(n); b != nil {
		return b
	}
	return &Buffer{Data: make([]float32, n), free: func() error { return nil }}
}

// Free gives the memory back. It is safe to call more than once.
func (b *Buffer) Free() error {
	if b == nil || b.free == nil {
		return nil
	}
	f := b.free
	b.free, b.Data = nil, nil
	return f()
}

// Advise asks for huge pages behind the 2 MB-aligned part of s, a large
// allocation that has not been written yet (fresh memory from the Go heap
// is untouched until first written). It is for buffers whose pages are all
// written soon, such as histograms, kept in the Go heap because their
// lifetime follows the values that hold them; the garbage collector still
// frees them. Where huge pages are not offered it does nothing.
func Advise[E any](s []E) {
	advise(unsafe.Pointer(unsafe.SliceData(s)), uintptr(len(s))*unsafe.Sizeof(*new(E)))
}
