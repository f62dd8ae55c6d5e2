package taskrun

import (
	"bufio"
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
	if dir := os.Getenv("TASKRUN_CRASH_CHILD"); dir != "" {
		crashChild(dir, os.Getenv("TASKRUN_CRASH_MAP"))
	}
	code := m.Run()
	testfn.Cleanup()
	if example.dir != "" {
		os.RemoveAll(example.dir)
	}
	os.Exit(code)
}

const subnet = "172.31.0.0/20"

// echoMap builds the echo program and writes an image map that runs it as image test/echo,
// listening on every interface of its namespace (netns) or on loopback only (loopback mode).
func echoMap(t *testing.T, mode string) string {
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
	host := "0.0.0.0"
	if mode == ModeLoopback {
		host = "127.0.0.1"
	}
	writeFile(t, m, "images:\n  - image: test/echo\n    dir: app\n    command: [./echo]\n    portEnv: PORT\n    env: {HOST: "+host+"}\n")
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

// getOnce makes one request (the server is known to be up) and returns status and body.
func getOnce(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
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
	r := newRunner(t, ModeNetns, echoMap(t, ModeNetns))
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
	r := newRunner(t, ModeNetns, echoMap(t, ModeNetns))
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
	r := newRunner(t, ModeNetns, echoMap(t, ModeNetns))
	task := start(t, r, "bridge", echo("web", 9090, map[string]string{"CLOUD": host.URL + "/the/path"}, nil))
	get(t, addrURL(task, 9090, "/"))
	if code, got := getOnce(t, addrURL(task, 9090, "/fetch?env=CLOUD")); code != 200 || got != "host service saw /the/path" {
		t.Fatalf("through the bridge: %d %q", code, got)
	}
	// A loopback port the environment does not name stays unreachable: no route out.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer other.Close()
	if code, body := getOnce(t, addrURL(task, 9090, "/fetch?url="+url.QueryEscape(other.URL))); code != http.StatusBadGateway {
		t.Fatalf("an unnamed host port answered %d %q inside the task, want 502 (unreachable)", code, body)
	}
}

// TestNetnsBridgeHostPortPair: a host service named only by X_HOST + X_PORT (as a
// database's JOBS_DB_HOST/JOBS_DB_PORT) is reachable inside the namespace.
func TestNetnsBridgeHostPortPair(t *testing.T) {
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "database stand-in")
	}))
	defer host.Close()
	u, _ := url.Parse(host.URL)
	r := newRunner(t, ModeNetns, echoMap(t, ModeNetns))
	task := start(t, r, "pair", echo("web", 9090, map[string]string{"JOBS_DB_HOST": u.Hostname(), "JOBS_DB_PORT": u.Port()}, nil))
	get(t, addrURL(task, 9090, "/"))
	if code, got := getOnce(t, addrURL(task, 9090, "/fetch?url="+url.QueryEscape(host.URL+"/"))); code != 200 || got != "database stand-in" {
		t.Fatalf("through the bridge: %d %q", code, got)
	}
}

func TestKilledProcessStopsTask(t *testing.T) {
	for _, mode := range []string{ModeNetns, ModeLoopback} {
		t.Run(mode, func(t *testing.T) {
			r := newRunner(t, mode, echoMap(t, mode))
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
	r := newRunner(t, ModeNetns, echoMap(t, ModeNetns))
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
	r := newRunner(t, ModeLoopback, echoMap(t, ModeLoopback))
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
			r := newRunner(t, mode, echoMap(t, mode))
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
	r := newRunner(t, ModeLoopback, echoMap(t, ModeLoopback))
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

// Each task has a temporary directory of its own (Fargate tasks do not share a
// filesystem), removed when it stops.
func TestEachTaskHasItsOwnTempDir(t *testing.T) {
	r := newRunner(t, ModeLoopback, echoMap(t, ModeLoopback))
	var outA, outB lines
	a := start(t, r, "ta", echo("web", 9090, nil, &outA))
	b := start(t, r, "tb", echo("web", 9090, nil, &outB))
	get(t, addrURL(a, 9090, "/"))
	get(t, addrURL(b, 9090, "/"))
	ta, tb := tmpdirOf(t, &outA), tmpdirOf(t, &outB)
	if ta == tb || ta == os.TempDir() {
		t.Fatalf("tasks share a temporary directory: %q and %q", ta, tb)
	}
	if _, err := os.Stat(ta); err != nil {
		t.Fatalf("task a's temporary directory: %v", err)
	}
	a.Stop("test over")
	if _, err := os.Stat(ta); !os.IsNotExist(err) {
		t.Fatalf("task a's temporary directory %s is left after it stopped (%v)", ta, err)
	}
}

// tmpdirOf is the TMPDIR an echo container printed (it prints it before it listens; its
// output may reach the log a moment after it answers).
func tmpdirOf(t *testing.T, l *lines) string {
	t.Helper()
	for i := 0; i < 100; i++ {
		for _, s := range strings.Split(l.String(), "\n") {
			if v, ok := strings.CutPrefix(s, "tmpdir="); ok {
				return v
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no tmpdir line in %q", l.String())
	return ""
}

// In netns mode each container has a /tmp of its own, as on Fargate: a program that writes
// /tmp/NAME by that literal path (rudder-server's badger lock, its admin socket) meets no
// other container's file there, the host's /tmp does not get it, it is the container's
// TMPDIR, and nothing (directory or mount) is left when the task stops.
func TestNetnsEachContainerHasItsOwnTmp(t *testing.T) {
	r := newRunner(t, ModeNetns, echoMap(t, ModeNetns))
	var outAWeb, outASide, outB lines
	a := start(t, r, "tmpa", echo("web", 9090, nil, &outAWeb), echo("side", 9091, nil, &outASide))
	b := start(t, r, "tmpb", echo("web", 9090, nil, &outB))
	name := "rctl-same-name-" + randHex(8)
	path := "/tmp/" + name
	conts := []struct {
		task  *Task
		port  int
		out   *lines
		value string
	}{{a, 9090, &outAWeb, "task a, web"}, {a, 9091, &outASide, "task a, side"}, {b, 9090, &outB, "task b, web"}}
	for _, c := range conts {
		get(t, addrURL(c.task, c.port, "/"))
		u := addrURL(c.task, c.port, "/file?path="+url.QueryEscape(path)+"&write="+url.QueryEscape(c.value))
		if code, body := getOnce(t, u); code != 200 || body != c.value {
			t.Fatalf("%s: writing %s: %d %q", c.value, path, code, body)
		}
	}
	for _, c := range conts {
		if code, body := getOnce(t, addrURL(c.task, c.port, "/file?path="+url.QueryEscape(path))); code != 200 || body != c.value {
			t.Errorf("%s reads %d %q from %s: its /tmp is not its own", c.value, code, body, path)
		}
		own := tmpdirOf(t, c.out)
		if b, err := os.ReadFile(filepath.Join(own, name)); err != nil || string(b) != c.value {
			t.Errorf("%s: its TMPDIR %s does not hold what it wrote to %s: %q, %v", c.value, own, path, b, err)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		os.Remove(path)
		t.Errorf("the host's %s was written by a task (%v)", path, err)
	}
	if m := hostMountsOf(t, r.o.Dir); m != "" {
		t.Errorf("a task's mount is visible on the host:\n%s", m)
	}
	for _, task := range []*Task{a, b} {
		task.Stop("test over")
		<-task.Done()
		if _, err := os.Stat(task.tmpDir()); !os.IsNotExist(err) {
			t.Errorf("task %s's temporary directory is left after it stopped (%v)", task.spec.TaskID, err)
		}
	}
	if m := hostMountsOf(t, r.o.Dir); m != "" {
		t.Errorf("mounts left on the host after the tasks stopped:\n%s", m)
	}
}

// hostMountsOf are the lines of this process's mountinfo that mount something from dir, or
// on /tmp itself, or on the host /tmp entries a task binds back (dir's own, in tests).
func hostMountsOf(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) <= 4 {
			continue
		}
		kept := false
		for _, e := range hostTmpEntries(dir) {
			kept = kept || f[4] == "/tmp/"+e || strings.HasPrefix(f[4], "/tmp/"+e+"/")
		}
		if kept || strings.HasPrefix(f[3], dir) || strings.HasPrefix(f[4], dir) || f[4] == "/tmp" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestHealthChecks(t *testing.T) {
	for _, mode := range []string{ModeNetns, ModeLoopback} {
		t.Run(mode, func(t *testing.T) {
			r := newRunner(t, mode, echoMap(t, mode))
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
	r, err := New(Options{Dir: t.TempDir(), ImageMap: echoMap(t, ModeNetns), Sandbox: ModeNetns})
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

// crashChild is the child side of TestStaleNamespacesRemovedAtNew: a cloud that starts a
// task, says which namespace it made, and waits to be killed.
func crashChild(dir, imageMap string) {
	r, err := New(Options{Dir: dir, ImageMap: imageMap, Sandbox: ModeNetns})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	task, err := r.Start(context.Background(), Spec{TaskID: "crashed", SubnetCIDR: subnet, Containers: []Container{echo("web", 9090, nil, nil)}})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	ents, _ := os.ReadDir(r.recordDir())
	fmt.Printf("ready %s %s %d\n", ents[0].Name(), task.IP(), task.Pid("web"))
	select {}
}

func TestStaleNamespacesRemovedAtNew(t *testing.T) {
	needNetns(t)
	dir := t.TempDir()
	// A cloud that crashes (SIGKILL) with a task running leaves its namespace behind.
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "TASKRUN_CRASH_CHILD="+dir, "TASKRUN_CRASH_MAP="+echoMap(t, ModeNetns))
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var name, ip string
	var pid int
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if _, err := fmt.Sscanf(line, "ready %s %s %d", &name, &ip, &pid); err != nil {
		child.Process.Kill()
		child.Wait()
		t.Fatalf("the crashing cloud said %q", line)
	}
	child.Process.Kill()
	child.Wait()
	defer ipCmd("netns", "del", name)
	if !strings.Contains(namespaces(t), name) {
		t.Fatalf("namespace %s did not outlive its cloud; nothing to test", name)
	}
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
	if out, _ := exec.Command("ip", "route", "show", ip).Output(); len(out) != 0 {
		t.Errorf("route to %s left: %s", ip, out)
	}
	if running(pid) {
		t.Errorf("the crashed cloud's task process %d is still running", pid)
	}
	if !strings.Contains(ns, foreign) {
		t.Errorf("namespace %s, not recorded by the runner, was removed", foreign)
	}
}

// running reports whether pid is a live process (a zombie waiting for its new parent to
// reap it is not).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndex(s, ")")
	return i < 0 || i+2 >= len(s) || (s[i+2] != 'Z' && s[i+2] != 'X')
}

// fillSubnet is a subnet no other local cloud on this machine uses, so this test can fill it.
const fillSubnet = "10.213.77.0/28"

func TestNetnsConcurrentStartsGetDistinctIPs(t *testing.T) {
	r := newRunner(t, ModeNetns, echoMap(t, ModeNetns))
	const n = 6
	tasks := make([]*Task, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tasks[i], errs[i] = r.Start(context.Background(), Spec{TaskID: fmt.Sprintf("conc%d", i), SubnetCIDR: fillSubnet, Containers: []Container{echo("web", 9090, nil, nil)}})
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, task := range tasks {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		defer task.Stop("test over")
		if seen[task.IP()] {
			t.Fatalf("two tasks got %s", task.IP())
		}
		seen[task.IP()] = true
		if got := get(t, addrURL(task, 9090, "/")); !strings.HasPrefix(got, "ip="+task.IP()+" ") {
			t.Errorf("task %s answered %q", task.IP(), got)
		}
	}
	// A /28 has 16 addresses, 5 reserved: 11 tasks fit, the 12th does not.
	var extra []*Task
	for i := n; i < 11; i++ {
		task, err := r.Start(context.Background(), Spec{TaskID: fmt.Sprintf("fill%d", i), SubnetCIDR: fillSubnet, Containers: []Container{echo("web", 9090, nil, nil)}})
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
		extra = append(extra, task)
	}
	defer func() {
		for _, task := range extra {
			task.Stop("test over")
		}
	}()
	_, err := r.Start(context.Background(), Spec{TaskID: "full", SubnetCIDR: fillSubnet, Containers: []Container{echo("web", 9090, nil, nil)}})
	if err == nil || !strings.Contains(err.Error(), "no free address") {
		t.Fatalf("a 12th task in a /28: %v", err)
	}
}

// The host /tmp entries bound back under a container's private /tmp: the first name below
// /tmp of each absolute path, once each.
func TestHostTmpEntries(t *testing.T) {
	got := hostTmpEntries("/tmp/TestA1/001", "/tmp/TestA1/002/app/echo", "relative/tmp/x", "/tmp", "/tmp/",
		"/work/app", "/tmp/rudderctl-testfn-9/echo-1", "/tmp/../etc/passwd", "/tmpfoo/x", "/tmp//y/z")
	want := "TestA1 rudderctl-testfn-9 y"
	if strings.Join(got, " ") != want {
		t.Errorf("hostTmpEntries: %q, want %s", got, want)
	}
}
