package app

import (
	"testing"
	"time"
)

// The test binary started before this test runs and, on any machine
// that runs the tests, less than an hour ago.
func TestProcessStarted(t *testing.T) {
	start, err := processStarted()
	if err != nil {
		t.Fatal(err)
	}
	age := time.Since(start)
	if age < -20*time.Millisecond || age > time.Hour {
		t.Errorf("the test process started %v ago, want between 0 and an hour", age)
	}
}
