package taskrun

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Task is a running (or stopped) task.
type Task struct {
	r         *Runner
	spec      Spec
	ip        string
	hostPorts map[int]int // loopback mode: container port -> host port
	sb        *sandbox    // netns mode
	conts     []*container

	stopOnce sync.Once
	stopReq  chan struct{}
	done     chan struct{}

	mu     sync.Mutex
	reason string
}

// container is one container's process.
type container struct {
	c        Container
	prog     program
	cmd      *exec.Cmd
	pid      int
	running  bool
	exited   chan struct{}
	exitCode *int
	reason   string
	health   *healthState
	tmpName  string // its temporary directory under the task's
}

func newTask(r *Runner, spec Spec) *Task {
	if spec.StopTimeout <= 0 {
		spec.StopTimeout = DefaultStopTimeout
	}
	t := &Task{r: r, spec: spec, stopReq: make(chan struct{}), done: make(chan struct{}), hostPorts: map[int]int{}}
	for i, c := range spec.Containers {
		ct := &container{c: c, exited: make(chan struct{}), tmpName: c.Name}
		if !safeDirName.MatchString(c.Name) {
			ct.tmpName = "container-" + strconv.Itoa(i)
		}
		if c.HealthCheck != nil && len(c.HealthCheck.Command) > 0 {
			ct.health = &healthState{status: healthUnknown}
		}
		t.conts = append(t.conts, ct)
	}
	return t
}

// start makes the sandbox and starts every container; on failure nothing is left behind.
func (t *Task) start(progs []program) error {
	for _, ct := range t.conts {
		if err := mkdirSticky(t.containerTmpDir(ct)); err != nil {
			os.RemoveAll(t.tmpDir())
			return &StartError{Reason: fmt.Sprintf("CannotStartContainerError: container %s: temporary directory: %v", ct.c.Name, err)}
		}
	}
	if t.r.mode == ModeNetns {
		sb, err := t.r.makeSandbox(t.spec)
		if err != nil {
			return err
		}
		t.sb, t.ip = sb, sb.ip
	} else {
		t.ip = "127.0.0.1"
		if err := t.pickHostPorts(); err != nil {
			return err
		}
	}
	for i, ct := range t.conts {
		ct.prog = progs[i]
		if err := t.startContainer(ct); err != nil {
			t.killAll(syscall.SIGKILL)
			for _, c := range t.conts[:i] {
				<-c.exited
			}
			t.r.removeSandbox(t.sb)
			os.RemoveAll(t.tmpDir())
			return &StartError{Reason: fmt.Sprintf("CannotStartContainerError: container %s: %v", ct.c.Name, err)}
		}
	}
	go t.supervise()
	for _, ct := range t.conts {
		if ct.health != nil {
			go t.watchHealth(ct)
		}
	}
	return nil
}

// pickHostPorts gives each container port a free loopback port (loopback mode).
func (t *Task) pickHostPorts() error {
	for _, c := range t.spec.Containers {
		for _, p := range c.Ports {
			if _, ok := t.hostPorts[p]; ok {
				continue
			}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return &StartError{Reason: fmt.Sprintf("CannotStartContainerError: no free loopback port for container port %d: %v", p, err)}
			}
			t.hostPorts[p] = l.Addr().(*net.TCPAddr).Port
			l.Close()
		}
	}
	return nil
}

// env is a container's environment: PATH and HOME, the image's, the container's, then
// (loopback mode) its port in the image's portEnv.
func (t *Task) env(ct *container) []string {
	m := map[string]string{
		"PATH": strings.Join(append(append([]string{}, ct.prog.binDirs...), basePath), ":"),
		"HOME": t.homeDir(),
		// Each container has a filesystem of its own on Fargate; here each gets a temporary
		// directory of its own (in netns mode it is also its /tmp: privtmp.go).
		"TMPDIR": t.containerTmpDir(ct),
	}
	for _, kv := range ct.prog.env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	for k, v := range ct.c.Env {
		m[k] = v
	}
	if t.sb == nil && ct.prog.portEnv != "" && len(ct.c.Ports) > 0 {
		m[ct.prog.portEnv] = strconv.Itoa(t.hostPorts[ct.c.Ports[0]])
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// tmpDir holds the task's containers' temporary directories; removed when the task stops.
func (t *Task) tmpDir() string {
	return filepath.Join(t.r.o.Dir, "tmp", t.spec.TaskID)
}

// containerTmpDir is one container's temporary directory: its TMPDIR, and its /tmp in
// netns mode.
func (t *Task) containerTmpDir(ct *container) string {
	return filepath.Join(t.tmpDir(), ct.tmpName)
}

// mkdirSticky makes dir world-writable with the sticky bit, as /tmp is (whatever umask).
func mkdirSticky(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.Chmod(dir, 0o1777)
}

func (t *Task) homeDir() string {
	return filepath.Join(t.r.o.Dir, "home")
}

// command makes the process for argv with environment env in dir, as container ct: in
// netns mode inside the task's network namespace with the container's own /tmp (every
// step execs, so the pid is the program's own). A bare program name is looked up in env's
// PATH, as in a container.
func (t *Task) command(ct *container, argv, env []string, dir string) *exec.Cmd {
	if !strings.Contains(argv[0], "/") {
		argv = append([]string{lookPathIn(argv[0], env)}, argv[1:]...)
	}
	if t.sb != nil {
		argv = withPrivateTmp(t.containerTmpDir(ct), dir, t.keptTmpEntries(ct), argv)
		argv = append([]string{nsenterPath, "--net=" + t.sb.nsPath(), "--"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// lookPathIn finds an executable along the PATH of env (name itself when not found, so
// the start fails with exec's own error).
func lookPathIn(name string, env []string) string {
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, d := range filepath.SplitList(p) {
				full := filepath.Join(d, name)
				if st, err := os.Stat(full); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
					return full
				}
			}
		}
	}
	return name
}

// startContainer starts one container's process with its output going to Log line by line.
func (t *Task) startContainer(ct *container) error {
	if err := os.MkdirAll(t.homeDir(), 0o755); err != nil {
		return err
	}
	cmd := t.command(ct, append([]string{ct.prog.path}, ct.prog.args...), t.env(ct), ct.prog.dir)
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	err = spawn(cmd)
	pw.Close()
	if err != nil {
		pr.Close()
		close(ct.exited)
		return err
	}
	go copyLines(pr, ct.c.Log)
	t.mu.Lock()
	ct.cmd, ct.pid, ct.running = cmd, cmd.Process.Pid, true
	t.mu.Unlock()
	go t.wait(ct)
	return nil
}

// wait records how a container's process ended; what is left of its process group dies
// with it, as a container's processes die with its PID 1.
func (t *Task) wait(ct *container) {
	err := ct.cmd.Wait()
	_ = syscall.Kill(-ct.pid, syscall.SIGKILL)
	code := exitCode(ct.cmd.ProcessState, err)
	t.mu.Lock()
	ct.running, ct.exitCode = false, &code
	t.mu.Unlock()
	close(ct.exited)
}

// exitCode is Docker's: the status, or 128+signal for a process killed by a signal.
func exitCode(ps *os.ProcessState, err error) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// copyLines hands every line read from r to log (lines of any length; a last line
// without a newline too).
func copyLines(r io.ReadCloser, log func(string)) {
	defer r.Close()
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" && log != nil {
			log(strings.TrimRight(line, "\r\n"))
		}
		if err != nil {
			return
		}
	}
}

// supervise waits for an essential container to exit (or all of them, or Stop), then stops
// the rest and removes the sandbox.
func (t *Task) supervise() {
	essential := make(chan struct{})
	var once sync.Once
	var all sync.WaitGroup
	for _, ct := range t.conts {
		all.Add(1)
		go func() {
			defer all.Done()
			<-ct.exited
			if ct.c.Essential {
				once.Do(func() { close(essential) })
			}
		}()
	}
	allExited := make(chan struct{})
	go func() { all.Wait(); close(allExited) }()
	select {
	case <-essential:
		t.setReason("Essential container in task exited")
	case <-allExited:
		t.setReason("Essential container in task exited")
	case <-t.stopReq:
	}
	t.killAll(syscall.SIGTERM)
	select {
	case <-allExited:
	case <-time.After(t.spec.StopTimeout):
		t.killAll(syscall.SIGKILL)
		<-allExited
	}
	t.r.removeSandbox(t.sb)
	os.RemoveAll(t.tmpDir())
	close(t.done)
}

func (t *Task) setReason(r string) {
	t.mu.Lock()
	if t.reason == "" {
		t.reason = r
	}
	t.mu.Unlock()
}

// killAll signals the process group of every running container.
func (t *Task) killAll(sig syscall.Signal) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ct := range t.conts {
		if ct.running {
			_ = syscall.Kill(-ct.pid, sig)
		}
	}
}

// spawn starts cmd from one OS thread that never exits: a child's Pdeathsig fires when the
// thread that forked it ends, and threads that entered a namespace may end.
func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnCh = make(chan func())
		go func() {
			runtime.LockOSThread()
			for f := range spawnCh {
				f()
			}
		}()
	})
	errc := make(chan error, 1)
	spawnCh <- func() { errc <- cmd.Start() }
	return <-errc
}

var (
	spawnOnce sync.Once
	spawnCh   chan func()
)
