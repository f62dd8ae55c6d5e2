//go:build !linux

package lambda

import (
	"os"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

func exitStatus(ps *os.ProcessState) int {
	if code := ps.ExitCode(); code >= 0 {
		return code
	}
	return 1
}

func processAlive(int) bool { return true } // never clean up elsewhere
