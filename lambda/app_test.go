package lambda

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStartAppReady(t *testing.T) {
	for _, tr := range []string{TransportTCP, TransportUnix} {
		t.Run(tr, func(t *testing.T) {
			app, err := StartApp(context.Background(), appConfig(t, tr, "TESTAPP_MODE=slow-start"))
			if err != nil {
				t.Fatal(err)
			}
			defer app.Stop(time.Second)
			// slow-start listens 150 ms after starting: ready must not be earlier, and polling
			// (<= 10 ms steps) must notice it soon after.
			if d := app.ReadyAt.Sub(app.StartedAt); d < 150*time.Millisecond || d > 2*time.Second {
				t.Errorf("ready after %s", d)
			}
			req, _ := http.NewRequest("GET", "http://"+app.ep.baseHost()+"/health", nil)
			resp, err := app.transport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != `{"service":"UP"}` {
				t.Errorf("health %q", b)
			}
			if tr == TransportUnix {
				if _, err := os.Stat(app.ep.addr); err != nil {
					t.Errorf("socket: %v", err)
				}
			}
		})
	}
}

func TestStartAppCrashAtStart(t *testing.T) {
	start := time.Now()
	_, err := StartApp(context.Background(), appConfig(t, TransportUnix, "TESTAPP_MODE=crash-at-start"))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"exited with status 3", "Cannot find module 'left-pad'", "boot line 30", "boot line 14"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	// Only the last 20 lines (stdout and stderr interleave in any order): early lines are gone.
	if strings.Contains(msg, "boot line 9\n") || strings.Contains(msg, "boot line 1\n") {
		t.Errorf("error keeps more than the tail:\n%s", msg)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("a crash at start was noticed only after %s", time.Since(start))
	}
}

func TestStartAppNeverReady(t *testing.T) {
	c := appConfig(t, TransportTCP, "TESTAPP_MODE=never-ready")
	// Long enough for the app to start on a loaded machine (it then answers 503 until the
	// timeout), so the error can name what it answered and printed.
	c.ReadyTimeout = 3 * time.Second
	start := time.Now()
	_, err := StartApp(context.Background(), c)
	if err == nil {
		t.Fatal("no error")
	}
	if d := time.Since(start); d < c.ReadyTimeout || d > 30*time.Second {
		t.Errorf("gave up after %s", d)
	}
	for _, want := range []string{"did not become ready", "within 3s", "503", "testapp: listening on"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
}

func TestStartAppBadNode(t *testing.T) {
	c := appConfig(t, TransportTCP)
	c.Node = "/nonexistent/node"
	if _, err := StartApp(context.Background(), c); err == nil || !strings.Contains(err.Error(), "RUDDERCTL_NODE") {
		t.Fatalf("err = %v", err)
	}
}

func TestAppSIGTERM(t *testing.T) {
	var out syncBuffer
	c := appConfig(t, TransportUnix)
	c.Stdout = &out
	app, err := StartApp(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	// The test app exits 7 on SIGTERM, after printing a line.
	if code := app.Stop(5 * time.Second); code != 7 {
		t.Errorf("exit status %d, want 7 (SIGTERM not delivered?)", code)
	}
	if !strings.Contains(out.String(), "testapp: got SIGTERM") {
		t.Errorf("app output passed through: %q", out.String())
	}
	if !strings.Contains(strings.Join(app.OutputTail(), "\n"), "got SIGTERM") {
		t.Errorf("tail: %q", app.OutputTail())
	}
	if _, err := os.Stat(app.ep.addr); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

func TestAppEnviron(t *testing.T) {
	env := appEnviron(
		[]string{"NODE_OPTIONS=--max-old-space-size=512", "A=function", "RUDDERCTL_PATH_PREFIX=/secret", "PORT=1"},
		map[string]string{"A": "manifest", "B": "manifest"},
		"/tmp/x.sock")
	want := []string{"A=function", "B=manifest", "CLUSTER_ENABLED=false", "NODE_OPTIONS=--max-old-space-size=512", "PORT=/tmp/x.sock"}
	if strings.Join(env, " ") != strings.Join(want, " ") {
		t.Errorf("env %q\nwant %q", env, want)
	}
	env = appEnviron([]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024"}, nil, "9090")
	if strings.Join(env, " ") != "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024 CLUSTER_ENABLED=false NODE_OPTIONS=--no-node-snapshot --max-old-space-size=768 PORT=9090" {
		t.Errorf("memory-sized heap %q", env)
	}
	env = appEnviron(nil, nil, "9090")
	if strings.Join(env, " ") != "CLUSTER_ENABLED=false NODE_OPTIONS=--no-node-snapshot PORT=9090" {
		t.Errorf("defaults %q", env)
	}
}

func TestOutputTail(t *testing.T) {
	tail := newOutputTail()
	var a, b strings.Builder
	wa, wb := tail.writer(&a), tail.writer(&b)
	wa.Write([]byte("one\ntw"))
	wb.Write([]byte("err1\r\n"))
	wa.Write([]byte("o\n" + strings.Repeat("z", 5000) + "\nthree"))
	got := tail.Lines()
	if len(got) != 5 || got[0] != "one" || got[1] != "err1" || got[2] != "two" || len(got[3]) != maxLineKept || got[4] != "three" {
		t.Errorf("lines %q", got)
	}
	if a.String() != "one\ntwo\n"+strings.Repeat("z", 5000)+"\nthree" || b.String() != "err1\r\n" {
		t.Error("pass-through altered the output")
	}
	for i := 0; i < 50; i++ {
		wa.Write([]byte("l\n"))
	}
	if n := len(tail.Lines()); n != tailLines {
		t.Errorf("%d lines kept", n)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
