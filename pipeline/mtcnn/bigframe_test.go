package mtcnn

import (
	"testing"
	"time"
)

// A large frame's buffer is reused by the next detection of the same size
// and freed keepBigFrame after the last one.
func TestBigFrames(t *testing.T) {
	var b bigFrames
	first := b.get(3000)
	first.Data[0] = 1
	b.put(first)
	if again := b.get(3000); again != first {
		t.Error("the next detection of the same size got a new buffer")
	} else {
		b.put(again)
	}
	other := b.get(6000)
	if other == first || len(other.Data) != 6000 {
		t.Fatalf("a detection of another size got %d values", len(other.Data))
	}
	b.put(other)
	if first.Data != nil {
		t.Error("the buffer replaced by a newer one was not freed")
	}
	time.Sleep(keepBigFrame + 200*time.Millisecond)
	b.mu.Lock()
	idle := b.idle
	b.mu.Unlock()
	if idle != nil || other.Data != nil {
		t.Errorf("the kept buffer is still there %v after the last detection", keepBigFrame+200*time.Millisecond)
	}
}
