package worker

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"facemirror/internal/forkserver"
)

// TestForkedHelpers runs this package's tests again in a copy of the test
// binary that has a fork server, so that every helper they start, the
// crashing, hanging and garbage-writing ones included, comes from it: a
// forked helper must look to the client exactly like an executed one.
func TestForkedHelpers(t *testing.T) {
	if os.Getenv(forkedTestsEnv) != "" {
		if forkserver.Default() == nil {
			t.Fatalf("no fork server in the forked-helper run: %s", forkserver.Reason())
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), forkedTestsEnv+"=1", "FACEMIRROR_FORKSERVER=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tests with forked helpers: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestForkedHelpers") {
		t.Fatalf("the forked-helper run did not check its fork server:\n%s", out)
	}
}
