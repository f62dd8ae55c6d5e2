package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMissingFailsInCI runs a child test with and without CI=true and checks the outcome.
func TestMissingFailsInCI(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		Missing(t, "no such tool")
		return
	}
	for _, tc := range []struct {
		ci   string
		fail bool
	}{{"true", true}, {"", false}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingFailsInCI$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI="+tc.ci)
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tc.fail {
			t.Errorf("CI=%q: failed=%v, want %v\n%s", tc.ci, failed, tc.fail, out)
		}
		if !tc.fail && !strings.Contains(string(out), "SKIP") {
			t.Errorf("CI=%q: want a skip\n%s", tc.ci, out)
		}
	}
}
