package lambda

import (
	"os"
	"syscall"
)

// sysProcAttr kills the app if the bootstrap dies without a chance to stop it (SIGKILL from
// Lambda or a test harness), so no orphan keeps the port or socket.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// exitStatus is the process's exit code, or 128+signal like a shell when it was killed.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// processAlive reports whether pid exists (signal 0 checks without sending anything).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
