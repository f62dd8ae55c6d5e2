package lambda

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestRemoveStaleSockets(t *testing.T) {
	dir := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip("no `true` to get a dead pid:", err)
	}
	deadPID := dead.ProcessState.Pid()
	files := map[string]bool{ // name -> should survive
		fmt.Sprintf("rudderctl-%d-aaaa.sock", deadPID):     false,
		fmt.Sprintf("rudderctl-%d-bbbb.sock", os.Getpid()): true, // ours
		fmt.Sprintf("rudderctl-%d-cccc.sock", 1):           true, // a live process
		"rudderctl-notapid-dddd.sock":                      true,
		"other.sock":                                       true,
	}
	for name := range files {
		os.WriteFile(filepath.Join(dir, name), nil, 0o600)
	}
	removeStaleSockets(dir)
	for name, keep := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if keep != (err == nil) {
			t.Errorf("%s: kept=%v, want %v", name, err == nil, keep)
		}
	}
}
