package taskrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/testenv"
	"github.com/rudderctl/rudderctl/internal/testfn"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testfn.Cleanup()
	os.Exit(code)
}

const subnet = "172.31.0.0/20"

// echoMap builds the echo program and writes an image map that runs it as image test/echo.
func echoMap(t *testing.T) string {
	t.Helper()
	bin := testfn.Build(t, "./testdata/echo")
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "echo"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	m := filepath.Join(dir, "images.yaml")
	writeFile(t, m, "images:\n  - image: test/echo\n    dir: app\n    command: [./echo]\n    portEnv: PORT\n")
	return m
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// needNetns skips (fails in CI) where network namespaces cannot be made.
func needNetns(t *testing.T) {
	t.Helper()
	if err := probeNetns(); err != nil {
		testenv.Missing(t, "network namespaces: %v", err)
	}
}

func newRunner(t *testing.T, sandbox, imageMap string) *Runner {
	t.Helper()
	if sandbox == ModeNetns {
		needNetns(t)
	}
	r, err := New(Options{Dir: t.TempDir(), ImageMap: imageMap, Sandbox: sandbox})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	if r.Mode() != sandbox {
		t.Fatalf("mode %q, want %q", r.Mode(), sandbox)
	}
	return r
}

// lines collects a container's output.
type lines struct {
	mu sync.Mutex
	l  []string
}

func (l *lines) add(s string) { l.mu.Lock(); l.l = append(l.l, s); l.mu.Unlock() }
func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.l, "\n")
}

func echo(name string, port int, env map[string]string, out *lines) Container {
	e := map[string]string{"NAME": name, "PORT": strconv.Itoa(port)}
	for k, v := range env {
		e[k] = v
	}
	c := Container{Name: name, Image: "test/echo:1", Env: e, Ports: []int{port}, Essential: true}
	if out != nil {
		c.Log = out.add
	}
	return c
}

func start(t *testing.T, r *Runner, id string, cs ...Container) *Task {
	t.Helper()
	task, err := r.Start(context.Background(), Spec{TaskID: id, SubnetCIDR: subnet, Containers: cs, StopTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("start %s: %v", id, err)
	}
	t.Cleanup(func() { task.Stop("test over") })
	return task
}

// get polls url until it answers 200 (the process may still be starting) and returns the body.
func get(t *testing.T, u string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	var last string
	for i := 0; i < 300; i++ {
		resp, err := c.Get(u)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return string(b)
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s never answered 200: %s", u, last)
	return ""
}

func addrURL(task *Task, port int, path string) string {
	ip, p := task.Addr(port)
	return "http://" + ip + ":" + strconv.Itoa(p) + path
}

func namespaces(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	return string(out)
}

func TestNetnsTwoTasksSamePortSideBySide(t *testing.T) {
	r := newRunner(t, ModeNetns, echoMap(t))
	a := start(t, r, "aaaaaaaa1111", echo("web", 9090, nil, nil))
	b := start(t, r, "bbbbbbbb2222", echo("web", 9090, nil, nil))
	if a.IP() == b.IP() {
		t.Fatalf("both tasks got %s", a.IP())
	}
	for _, task := range []*Task{a, b} {
		if ip, port := task.Addr(9090); ip != task.IP() || port != 9090 {
			t.Errorf("Addr(9090) = %s:%d, want %s:9090", ip, port, task.IP())
		}
		if !strings.HasPrefix(task.IP(), "172.31.") {
			t.Errorf("IP %s is not from %s", task.IP(), subnet)
		}
		got := get(t, addrURL(task, 9090, "/"))
		if !strings.HasPrefix(got, "ip="+task.IP()+" ") {
			t.Errorf("task %s answered %q", task.IP(), got)
		}
	}
}

func TestNetnsContainersShareLocalhost(t *testing.T) {
	r := newRunner(t, ModeNetns, echoMap(t))
	task := start(t, r, "shared",
		echo("app", 9090, nil, nil),
		echo("sidecar", 9091, map[string]string{"PEER": "http://localhost:9090/"}, nil))
	got := get(t, addrURL(task, 9091, "/fetch?env=PEER"))
	if !strings.HasPrefix(got, "ip=127.0.0.1 name=app ") {
		t.Fatalf("the sidecar reached %q through localhost, want the app container", got)
	}
}

func TestNetnsBridgeReachesHostLoopback(t *testing.T) {
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "host service saw %s", r.URL.Path)
	}))
	defer host.Close()
	r := newRunner(t, ModeNetns, echoMap(t))
	task := start(t, r, "bridge", echo("web", 9090, map[string]string{"CLOUD": host.URL + "/the/path"}, nil))
	if got := get(t, addrURL(task, 9090, "/fetch?env=CLOUD")); got != "host service saw /the/path" {
		t.Fatalf("through the bridge: %q", got)
	}
	// A loopback port the environment does not name stays unreachable: no route out.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer other.Close()
	resp, err := http.Get(addrURL(task, 9090, "/fetch?url="+url.QueryEscape(other.URL)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("an unnamed host port answered %d inside the task, want 502 (unreachable)", resp.StatusCode)
	}
}

func TestKilledProcessStopsTask(t *testing.T) {
	for _, mode := range []string{ModeNetns, ModeLoopback} {
		t.Run(mode, func(t *testing.T) {
			r := newRunner(t, mode, echoMap(t))
			var out lines
			task := start(t, r, "killed", echo("web", 9090, nil, &out))
			get(t, addrURL(task, 9090, "/"))
			pid := task.Pid("web")
			if pid == 0 {
				t.Fatal("no pid")
			}
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-task.Done()
			reason, exits := task.Stopped()
			if reason != "Essential container in task exited" {
				t.Errorf("reason %q", reason)
			}
			if len(exits) != 1 || exits[0].ExitCode == nil || *exits[0].ExitCode != 137 {
				t.Errorf("exits %+v, want web with 137", exits)
			}
			if task.Pid("web") != 0 {
				t.Error("a stopped container still has a pid")
			}
			if s := out.String(); !strings.Contains(s, "echo web listening on") || !strings.Contains(s, "a line on stderr") {
				t.Errorf("log lines: %q", s)
			}
		})
	}
}

func TestEssentialExitStopsTheOthers(t *testing.T) {
	r := newRunner(t, ModeNetns, echoMap(t))
	side := echo("side", 9091, nil, nil)
	side.Essential = false
	task := start(t, r, "essential", echo("main", 9090, nil, nil), side)
	get(t, addrURL(task, 9091, "/"))
	// The main container exits 3 by itself; the request dies with it.
	_, _ = http.Get(addrURL(task, 9090, "/exit?code=3"))
	<-task.Done()
	reason, exits := task.Stopped()
	if reason != "Essential container in task exited" {
		t.Errorf("reason %q", reason)
	}
	if *exits[0].ExitCode != 3 || *exits[1].ExitCode != 0 {
		t.Errorf("exit codes %d, %d; want 3 (exited) and 0 (SIGTERM)", *exits[0].ExitCode, *exits[1].ExitCode)
	}
}

func TestStopTermThenKill(t *testing.T) {
	r := newRunner(t, ModeLoopback, echoMap(t))
	stubborn := echo("stubborn", 9091, map[string]string{"IGNORE_TERM": "1"}, nil)
	task, err := r.Start(context.Background(), Spec{TaskID: "stop", Containers: []Container{echo("polite", 9090, nil, nil), stubborn}, StopTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	get(t, addrURL(task, 9090, "/"))
	get(t, addrURL(task, 9091, "/"))
	task.Stop("Scaling activity initiated by deployment")
	reason, exits := task.Stopped()
	if reason != "Scaling activity initiated by deployment" {
		t.Errorf("reason %q", reason)
	}
	if *exits[0].ExitCode != 0 || *exits[1].ExitCode != 137 {
		t.Errorf("exit codes %d, %d; want 0 (SIGTERM) and 137 (SIGKILL)", *exits[0].ExitCode, *exits[1].ExitCode)
	}
}

func TestUnmappedImageCannotPull(t *testing.T) {
	for _, mode := range []string{ModeNetns, ModeLoopback} {
		t.Run(mode, func(t *testing.T) {
			r := newRunner(t, mode, echoMap(t))
			c := echo("web", 9090, nil, nil)
			c.Image = "rudderlabs/not-mapped:1.0"
			task, err := r.Start(context.Background(), Spec{TaskID: "nope", SubnetCIDR: subnet, Containers: []Container{echo("ok", 9091, nil, nil), c}})
			var se *StartError
			if !errors.As(err, &se) || task != nil {
				t.Fatalf("Start: %v, %v; want a *StartError", task, err)
			}
			if want := "CannotPullContainerError: pull image manifest has been retried"; !strings.HasPrefix(se.Reason, want) || !strings.HasSuffix(se.Reason, "rudderlabs/not-mapped:1.0: not found") {
				t.Errorf("reason %q", se.Reason)
			}
			if ents, _ := os.ReadDir(r.recordDir()); len(ents) != 0 {
				t.Errorf("a sandbox was made for a task that cannot pull: %v", ents)
			}
		})
	}
}

func TestLoopbackTwoTasksSamePort(t *testing.T) {
	r := newRunner(t, ModeLoopback, echoMap(t))
	a := start(t, r, "a", echo("web", 9090, nil, nil))
	b := start(t, r, "b", echo("web", 9090, nil, nil))
	ipA, portA := a.Addr(9090)
	ipB, portB := b.Addr(9090)
	if ipA != "127.0.0.1" || ipB != "127.0.0.1" || a.IP() != "127.0.0.1" || portA == portB || portA == 0 || portB == 0 {
		t.Fatalf("addresses %s:%d and %s:%d", ipA, portA, ipB, portB)
	}
	pa := strconv.Itoa(a.Pid("web"))
	if got := get(t, addrURL(a, 9090, "/")); !strings.HasSuffix(got, "pid="+pa+"\n") {
		t.Errorf("task a's port answered %q, want pid %s", got, pa)
	}
	pb := strconv.Itoa(b.Pid("web"))
	if got := get(t, addrURL(b, 9090, "/")); !strings.HasSuffix(got, "pid="+pb+"\n") {
		t.Errorf("task b's port answered %q, want pid %s", got, pb)
	}
}

func TestHealthChecks(t *testing.T) {
	for _, mode := range []string{ModeNetns, ModeLoopback} {
		t.Run(mode, func(t *testing.T) {
			r := newRunner(t, mode, echoMap(t))
			hc := func(cmd ...string) *HealthCheck {
				return &HealthCheck{Command: cmd, Interval: 200 * time.Millisecond, Timeout: 2 * time.Second, Retries: 2}
			}
			good := echo("good", 9090, nil, nil)
			// The check reaches the container on localhost:9090 inside the task (in loopback
			// mode the runner rewrites it to the task's own port).
			good.HealthCheck = hc("CMD-SHELL", "./echo probe http://localhost:9090/ && echo ok")
			task := start(t, r, "healthy", good)
			waitHealth(t, task, "HEALTHY")

			bad := echo("bad", 9090, nil, nil)
			bad.HealthCheck = hc("CMD", "/bin/false")
			task2 := start(t, r, "unhealthy", bad)
			waitHealth(t, task2, "UNHEALTHY")
		})
	}
}

func waitHealth(t *testing.T, task *Task, want string) {
	t.Helper()
	for i := 0; i < 600 && task.Health() != want; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if got := task.Health(); got != want {
		t.Fatalf("health %s, want %s", got, want)
	}
}

func TestCloseLeavesNoNamespace(t *testing.T) {
	needNetns(t)
	r, err := New(Options{Dir: t.TempDir(), ImageMap: echoMap(t), Sandbox: ModeNetns})
	if err != nil {
		t.Fatal(err)
	}
	a, err := r.Start(context.Background(), Spec{TaskID: "close1", SubnetCIDR: subnet, Containers: []Container{echo("web", 9090, nil, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	get(t, addrURL(a, 9090, "/"))
	ents, _ := os.ReadDir(r.recordDir())
	if len(ents) != 1 || !strings.Contains(namespaces(t), ents[0].Name()) {
		t.Fatalf("records %v, namespaces %q", ents, namespaces(t))
	}
	name := ents[0].Name()
	r.Close()
	<-a.Done()
	if strings.Contains(namespaces(t), name) {
		t.Errorf("namespace %s left after Close", name)
	}
	if ents, _ := os.ReadDir(r.recordDir()); len(ents) != 0 {
		t.Errorf("records left: %v", ents)
	}
	if out, _ := exec.Command("ip", "route", "show", a.IP()).Output(); len(out) != 0 {
		t.Errorf("route to %s left: %s", a.IP(), out)
	}
}

func TestStaleNamespacesRemovedAtNew(t *testing.T) {
	needNetns(t)
	dir := t.TempDir()
	// A namespace recorded by a process that is gone (a crashed run).
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	name := nsPrefix + "stale-" + randHex(4)
	if err := ipCmd("netns", "add", name); err != nil {
		t.Fatal(err)
	}
	defer ipCmd("netns", "del", name)
	os.MkdirAll(filepath.Join(dir, "netns"), 0o755)
	writeFile(t, filepath.Join(dir, "netns", name), fmt.Sprintf("%d rctlstale\n", dead.Process.Pid))
	// One not recorded is not the runner's: it stays.
	foreign := nsPrefix + "foreign-" + randHex(4)
	if err := ipCmd("netns", "add", foreign); err != nil {
		t.Fatal(err)
	}
	defer ipCmd("netns", "del", foreign)

	r, err := New(Options{Dir: dir, Sandbox: ModeNetns})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ns := namespaces(t)
	if strings.Contains(ns, name) {
		t.Errorf("stale namespace %s was not removed", name)
	}
	if !strings.Contains(ns, foreign) {
		t.Errorf("namespace %s, not recorded by the runner, was removed", foreign)
	}
}
