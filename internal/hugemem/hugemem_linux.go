package hugemem

import (
	"syscall"
	"unsafe"
)

// alloc maps n float32 values of anonymous memory and asks for huge pages;
// nil if the mapping fails. Only the 2 MB-aligned part of the mapping can
// be huge, so the mapping is made one huge page larger and the buffer
// starts at its first 2 MB boundary.
func alloc(n int) *Buffer {
	if n <= 0 {
		return nil
	}
	size := n * 4
	mem, err := syscall.Mmap(-1, 0, size+hugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	base := uintptr(unsafe.Pointer(&mem[0]))
	off := int((base+hugePage-1)&^(hugePage-1) - base)
	data := mem[off : off+size]
	// Without huge pages (transparent_hugepage "never", or a kernel
	// without them) the advice fails and the buffer is ordinary memory.
	_ = syscall.Madvise(data, syscall.MADV_HUGEPAGE)
	return &Buffer{
		Data: unsafe.Slice((*float32)(unsafe.Pointer(&data[0])), n),
		free: func() error { return syscall.Munmap(mem) },
	}
}

// advise madvises the whole huge pages inside [p, p+n); the advice
// failing (no transparent huge pages) changes nothing.
func advise(p unsafe.Pointer, n uintptr) {
	base := uintptr(p)
	start := (base + hugePage - 1) &^ (hugePage - 1)
	end := (base + n) &^ (hugePage - 1)
	if end <= start {
		return
	}
	_ = syscall.Madvise(unsafe.Slice((*byte)(unsafe.Add(p, start-base)), end-start), syscall.MADV_HUGEPAGE)
}
