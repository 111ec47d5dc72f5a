package video

import (
	"context"
	"encoding/csv"
	"os"
	"strconv"
	"testing"
	"time"
)

// hangLimit is how long any single Probe/Open of a test file may take
// before the test calls it a hang; the slowest good file takes about 2.5 s.
const hangLimit = 60 * time.Second

// withinLimit runs fn and fails the test if it does not return in time,
// so a hang shows up as a failure naming the file instead of a stuck run.
func withinLimit(t *testing.T, what string, fn func(ctx context.Context)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangLimit)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ctx)
	}()
	select {
	case <-done:
	case <-time.After(hangLimit + 10*time.Second):
		t.Fatalf("%s did not return within %v", what, hangLimit)
	}
}

// readCSV reads a whole CSV file with a header row.
func readCSV(t *testing.T, path string) (header []string, rows [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if len(all) == 0 {
		t.Fatalf("%s is empty", path)
	}
	return all[0], all[1:]
}

func column(t *testing.T, header []string, name string) int {
	t.Helper()
	for i, h := range header {
		if h == name {
			return i
		}
	}
	t.Fatalf("no column %q in %v", name, header)
	return -1
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	v, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
