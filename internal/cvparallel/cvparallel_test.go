package cvparallel

import "testing"

// After Serial, OpenCV reports one thread.
func TestSerial(t *testing.T) {
	Serial()
	if n := Threads(); n != 1 {
		t.Errorf("OpenCV uses %d threads after Serial, want 1", n)
	}
}
