package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// rudderctlBinary builds the CLI once.
func rudderctlBinary(t *testing.T, w *world) string {
	t.Helper()
	cliOnce.Do(func() {
		cliPath = filepath.Join(tmpDir, "rudderctl")
		cmd := exec.Command("go", "build", "-o", cliPath, "./cmd/rudderctl")
		cmd.Dir = w.root
		out, err := cmd.CombinedOutput()
		if err != nil {
			cliErr = errors.New(err.Error() + ": " + string(out))
		}
	})
	if cliErr != nil {
		t.Fatalf("building rudderctl: %v", cliErr)
	}
	return cliPath
}

type cliRun struct {
	stdout, stderr string
	code           int
}

// rudderctl runs the CLI from the module root with its own TMPDIR, which must be empty again
// once the command is done (nothing half-created, nothing left behind).
func rudderctl(t *testing.T, w *world, args ...string) cliRun {
	t.Helper()
	tmp := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, rudderctlBinary(t, w), args...)
	cmd.Dir = w.root
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("rudderctl %v: %v", args, err)
	}
	assertEmptyDir(t, tmp)
	return cliRun{so.String(), se.String(), code}
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		t.Errorf("left behind in TMPDIR: %s", e.Name())
	}
}

type jsonResponse struct {
	Status   int               `json:"status"`
	Headers  map[string]string `json:"headers"`
	Cookies  []string          `json:"cookies"`
	Body     string            `json:"body"`
	IsBase64 bool              `json:"is_base64"`
}

func TestInvokeCommand(t *testing.T) {
	w := setup(t)
	zip := w.zip
	routes := "RUDDERCTL_EXAMPLE_TEST_ROUTES=true"

	t.Run("features as JSON equals the app's", func(t *testing.T) {
		r := rudderctl(t, w, "invoke", "transformer", "--local", "--zip", zip, "--path", "/features", "--json", "--quiet")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var got jsonResponse
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
		}
		direct := send(t, w.direct, request{method: "GET", path: "/features"})
		if got.Status != 200 || got.Body != string(direct.body) || got.IsBase64 || got.Headers["apiversion"] != "2" {
			t.Errorf("invoke --json: %+v", got)
		}
	})

	t.Run("curl -i style, data and headers, binary as base64", func(t *testing.T) {
		r := rudderctl(t, w, "invoke", "transformer", "--local", "--zip", zip, "--env", routes,
			"--path", "/test/echo?q=1", "-d", `{"hello":"world"}`, "-H", "X-Test: yes")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		for _, want := range []string{"HTTP/1.1 200 OK\n", "X-Echo-Method: POST\n", "X-Echo-X-Test: yes\n", "X-Echo-Query: q=1\n", "\n\n{\"hello\":\"world\"}"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
			}
		}
		if !strings.Contains(r.stderr, "START RequestId") || !strings.Contains(r.stderr, "REPORT RequestId") {
			t.Errorf("stderr lacks the function log:\n%s", r.stderr)
		}
		r = rudderctl(t, w, "invoke", "transformer", "--local", "--zip", zip, "--env", routes, "--path", "/test/binary?bytes=64", "--json", "-q")
		var got jsonResponse
		_ = json.Unmarshal([]byte(r.stdout), &got)
		b, _ := base64.StdEncoding.DecodeString(got.Body)
		ok := got.IsBase64 && len(b) == 64
		for i := 0; ok && i < len(b); i++ {
			ok = b[i] == byte((i*31+7)&0xff)
		}
		if !ok {
			t.Errorf("binary response: %+v", got)
		}
	})

	t.Run("function crash exits 1 with the error", func(t *testing.T) {
		r := rudderctl(t, w, "invoke", "transformer", "--local", "--zip", zip, "--env", routes, "-X", "POST", "--path", "/test/crash?code=9", "-q")
		if r.code != 1 || !strings.Contains(r.stderr, "the function failed") || !strings.Contains(r.stdout, "500 Internal Server Error") {
			t.Errorf("crash: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("clear errors", func(t *testing.T) {
		cases := map[string][]string{
			"cannot read the zip": {"invoke", "transformer", "--local", "--zip", filepath.Join(tmpDir, "missing.zip")},
			"--local":             {"invoke", "transformer", "--zip", zip},
			"not K=V":             {"invoke", "transformer", "--local", "--zip", zip, "--env", "NOPE"},
			"timeout 31 s":        {"invoke", "transformer", "--local", "--zip", zip, "--timeout", "31"},
			"as a zip":            {"invoke", "transformer", "--local", "--zip", filepath.Join(w.root, "go.mod")},
			"only local runs are": {"serve", "transformer", "--zip", zip},
		}
		for want, args := range cases {
			r := rudderctl(t, w, args...)
			if r.code == 0 || !strings.Contains(r.stderr, want) {
				t.Errorf("%v: exit %d, stderr %q (want it to mention %q)", args, r.code, r.stderr, want)
			}
		}
	})
}

func TestServeCommand(t *testing.T) {
	w := setup(t)
	bin := rudderctlBinary(t, w)
	tmp := t.TempDir()
	cmd := exec.Command(bin, "serve", "transformer", "--local", "--zip", w.zip, "--port", "0",
		"--prefix", "/pfx", "--timeout", "10", "--concurrency", "2", "--env", "RUDDERCTL_EXAMPLE_TEST_ROUTES=true")
	cmd.Dir = w.root
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, _ := cmd.StdoutPipe()
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var url string
	select {
	case l := <-lines:
		for _, f := range strings.Fields(l) {
			if strings.HasPrefix(f, "http://") {
				url = f
			}
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("serve printed no URL; stderr:\n%s", stderr.String())
	}
	if !strings.HasSuffix(url, "/pfx") {
		t.Fatalf("serve printed %q, want a URL ending in the prefix", url)
	}
	base := strings.TrimSuffix(url, "/pfx")

	assertSameAt := func(path string) {
		t.Helper()
		direct := send(t, w.direct, request{method: "GET", path: path})
		got := send(t, url, request{method: "GET", path: path})
		if got.status != direct.status || !bytes.Equal(got.body, direct.body) {
			t.Errorf("GET %s: serve %d %s, direct %d %s", path, got.status, short(got.body), direct.status, short(direct.body))
		}
	}
	assertSameAt("/health")
	assertSameAt("/test/cookies")
	adapterError(t, send(t, base, request{method: "GET", path: "/health"}), 404, "prefix")
	gatewayError(t, send(t, url, request{method: "POST", path: "/test/echo", body: bytes.Repeat([]byte("x"), 10<<20+5)}), 413, "Request Entity Too Large")
	gatewayError(t, send(t, url, request{method: "POST", path: "/test/crash"}), 500, "Internal Server Error")
	assertSameAt("/features") // re-initialised after the crash

	// --concurrency 2: a request does not wait behind a slow one.
	slow := make(chan reply, 1)
	go func() { slow <- send(t, url, request{method: "GET", path: "/test/slow?ms=7000"}) }()
	time.Sleep(300 * time.Millisecond)
	t0 := time.Now()
	assertSameAt("/health")
	if took := time.Since(t0); took > 5*time.Second {
		t.Errorf("a request waited %v behind a slow one with --concurrency 2", took)
	}
	if rep := <-slow; rep.status != 200 {
		t.Errorf("slow request: %d %s", rep.status, short(rep.body))
	}

	// A second serve on a port in use fails clearly and leaves nothing behind.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(base, "http://"))
	r := rudderctl(t, w, "serve", "transformer", "--local", "--zip", w.zip, "--port", port)
	if r.code == 0 || !strings.Contains(r.stderr, "--port") {
		t.Errorf("busy port: exit %d, stderr %q", r.code, r.stderr)
	}

	// Ctrl-C stops it cleanly: exit 0, no process of its group, no temp files.
	pgid := cmd.Process.Pid
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after Ctrl-C: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("serve did not stop within 15 s of Ctrl-C")
	}
	time.Sleep(200 * time.Millisecond)
	if left := processesUnder(tmp, pgid); len(left) > 0 {
		t.Errorf("processes left after Ctrl-C: %v", left)
	}
	assertEmptyDir(t, tmp)
}

// processesUnder lists live processes whose command line mentions dir or that are in group pgid.
func processesUnder(dir string, pgid int) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(stat)
		j := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[j+1:])
		if len(f) < 3 || f[0] == "Z" {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if f[2] == strconv.Itoa(pgid) || bytes.Contains(cmdline, []byte(dir)) {
			out = append(out, strconv.Itoa(pid)+" "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return out
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var _ io.Writer = (*lockedBuffer)(nil)
