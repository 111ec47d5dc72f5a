// Package hugemem provides large buffers backed by transparent huge pages
// where the system offers them to memory that asks (Linux with
// transparent_hugepage set to madvise or always): float32 buffers mapped
// outside the Go heap and freed explicitly (Alloc), and slices in the Go
// heap that ask for huge pages (Make).
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

// hugePage is the size of an x86-64 and arm64 transparent huge page.
const hugePage = 2 << 20

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

// adviseSlice asks for huge pages behind the 2 MB-aligned part of s, a large
// allocation that has not been written yet (fresh memory from the Go heap
// is untouched until first written). It is for buffers whose pages are all
// written soon, such as histograms, kept in the Go heap because their
// lifetime follows the values that hold them; the garbage collector still
// frees them. Where huge pages are not offered it does nothing.
func adviseSlice[E any](s []E) {
	advise(unsafe.Pointer(unsafe.SliceData(s)), uintptr(len(s))*unsafe.Sizeof(*new(E)))
}

// Make returns n zero values in the Go heap with huge pages asked for
// (adviseSlice). When they fill at least a huge page they start at a 2 MB
// boundary, so that only the last partial huge page is left to 4 KB pages;
// the up to 2 MB skipped before it are not written by the caller, and cost
// no memory when the allocation is fresh from the system.
// For buffers that are written whole soon after, such as histograms and
// network activations, whose lifetime the garbage collector manages.
func Make[E any](n int) []E {
	size := unsafe.Sizeof(*new(E))
	if size == 0 || hugePage%size != 0 || uintptr(n)*size < hugePage {
		return make([]E, n)
	}
	buf := make([]E, n+int(hugePage/size))
	base := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	off := int(((base+hugePage-1)&^(hugePage-1) - base) / size)
	s := buf[off : off+n : off+n]
	adviseSlice(s)
	return s
}
