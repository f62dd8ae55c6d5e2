// Package testenv is the one place tests ask whether they run in CI. .ci/run exports
// CI=true; there, a test whose prerequisite is missing fails instead of skipping, so a
// green CI run means every test really ran.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under .ci/run (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing skips the test because a prerequisite is missing, or fails it in CI.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("prerequisite missing in CI (CI=true), so this test would not run: %s", msg)
	}
	t.Skip(msg)
}

// LookPath returns the path of a command the test needs, or skips (fails in CI) without it.
func LookPath(t testing.TB, name, why string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s is not on PATH (%s)", name, why)
	}
	return p
}
