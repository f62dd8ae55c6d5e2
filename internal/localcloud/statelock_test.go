package localcloud

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestHelperHoldStateDir is not a test: run as a child process by TestStateDirLock, it
// starts a cloud on $LOCALCLOUD_HELPER_STATE and holds it until stdin closes.
func TestHelperHoldStateDir(t *testing.T) {
	dir := os.Getenv("LOCALCLOUD_HELPER_STATE")
	if dir == "" {
		return
	}
	c, err := Start(context.Background(), Options{Addr: "127.0.0.1:0", StateDir: dir})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	if _, err := sdk(c, false).iam.CreateRole(context.Background(), &iam.CreateRoleInput{
		RoleName: aws.String("held"), AssumeRolePolicyDocument: aws.String(trustPolicy)}); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_ = c.Close()
	os.Exit(0)
}

// holdStateDir starts a cloud on dir in another process.
func holdStateDir(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldStateDir$")
	cmd.Env = append(os.Environ(), "LOCALCLOUD_HELPER_STATE="+dir)
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	t.Cleanup(func() { stdin.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("helper: %q %v", line, err)
	}
	return cmd
}

// Two local clouds on one state dir: the second is refused and told which process holds
// it; once that process is gone (killed: its pid stays in the lock file), a new one starts.
func TestStateDirLock(t *testing.T) {
	dir := t.TempDir()
	holder := holdStateDir(t, dir)
	_, err := Start(context.Background(), Options{Addr: "127.0.0.1:0", StateDir: dir})
	if !errors.Is(err, ErrStateDirInUse) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", holder.Process.Pid)) {
		t.Fatalf("second cloud on %s: %v", dir, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "iam.json")); err != nil || !strings.Contains(string(b), `"held"`) {
		t.Errorf("the first cloud's state is gone: %s %v", b, err)
	}
	must(t, holder.Process.Signal(syscall.SIGKILL))
	_ = holder.Wait()
	if b, _ := os.ReadFile(filepath.Join(dir, "localcloud.lock")); strings.TrimSpace(string(b)) != fmt.Sprint(holder.Process.Pid) {
		t.Fatalf("lock file after the holder was killed: %q", b)
	}
	c := startCloud(t, Options{StateDir: dir})
	roles, err := sdk(c, false).iam.ListRoles(context.Background(), &iam.ListRolesInput{})
	must(t, err)
	if len(roles.Roles) != 1 {
		t.Errorf("state after the takeover: %d roles, want the one the killed cloud saved", len(roles.Roles))
	}
	// In the same process too: a second Start is refused, and Close releases the dir.
	if _, err := Start(context.Background(), Options{Addr: "127.0.0.1:0", StateDir: dir}); !errors.Is(err, ErrStateDirInUse) {
		t.Fatalf("second cloud in one process: %v", err)
	}
	must(t, c.Close())
	c2 := startCloud(t, Options{StateDir: dir})
	must(t, c2.Close())
}
