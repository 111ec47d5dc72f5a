package hugemem

import (
	"testing"
	"unsafe"
)

// A buffer holds n zeros, keeps what is written to every value, and can be
// freed twice.
func TestAlloc(t *testing.T) {
	for _, n := range []int{1, 1000, 3 << 20, 1920 * 1080 * 3} {
		b := Alloc(n)
		if len(b.Data) != n {
			t.Fatalf("Alloc(%d): %d values", n, len(b.Data))
		}
		for i, v := range b.Data {
			if v != 0 {
				t.Fatalf("Alloc(%d): value %d is %v, want 0", n, i, v)
			}
		}
		for i := range b.Data {
			b.Data[i] = float32(i)
		}
		for i, v := range b.Data {
			if v != float32(i) {
				t.Fatalf("Alloc(%d): value %d reads %v after writing %d", n, i, v, i)
			}
		}
		if err := b.Free(); err != nil {
			t.Errorf("Alloc(%d): Free: %v", n, err)
		}
		if err := b.Free(); err != nil || b.Data != nil {
			t.Errorf("Alloc(%d): second Free: %v, data %d values", n, err, len(b.Data))
		}
	}
	if b := Alloc(0); len(b.Data) != 0 || b.Free() != nil {
		t.Errorf("Alloc(0) = %d values", len(b.Data))
	}
}

// Make returns n zero values; from one huge page up they start at a 2 MB
// boundary.
func TestMake(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 1<<19 - 1, 1 << 19, 3<<20 + 5} {
		s := Make[float32](n)
		if len(s) != n || cap(s) != n {
			t.Fatalf("Make(%d): len %d, cap %d", n, len(s), cap(s))
		}
		for i, v := range s {
			if v != 0 {
				t.Fatalf("Make(%d): value %d is %v", n, i, v)
			}
		}
		if aligned := n > 0 && uintptr(unsafe.Pointer(&s[0]))%hugePage == 0; n*4 >= hugePage && !aligned {
			t.Errorf("Make(%d) starts at %p, not at a 2 MB boundary", n, &s[0])
		}
	}
	if s := Make[uint16](1 << 20); uintptr(unsafe.Pointer(&s[0]))%hugePage != 0 {
		t.Errorf("Make[uint16](1<<20) starts at %p", &s[0])
	}
}
