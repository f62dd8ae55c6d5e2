package lambda

import (
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the "app" (RUDDERCTL_TEST_ROLE=app, started by StartApp with
// RUDDERCTL_NODE pointing at the test binary) and as the bootstrap (RUDDERCTL_TEST_ROLE=bootstrap),
// so process tests use real processes and real HTTP without Node.
func TestMain(m *testing.M) {
	switch os.Getenv("RUDDERCTL_TEST_ROLE") {
	case "app":
		testApp()
		return
	case "bootstrap":
		os.Exit(Main())
	}
	code := m.Run()
	stopBenchApps()
	os.Exit(code)
}

// testApp is a small HTTP app listening on $PORT (a TCP port or a unix socket path).
// TESTAPP_MODE: "" normal, "crash-at-start" (prints and exits 3), "never-ready" (health 503),
// "slow-start" (listens after 150 ms).
func testApp() {
	mode := os.Getenv("TESTAPP_MODE")
	fmt.Println("testapp: starting, mode=" + mode)
	switch mode {
	case "crash-at-start":
		for i := 1; i <= 30; i++ {
			fmt.Fprintf(os.Stderr, "testapp: boot line %d\n", i)
		}
		fmt.Fprintln(os.Stderr, "Error: Cannot find module 'left-pad'")
		os.Exit(3)
	case "slow-start":
		time.Sleep(150 * time.Millisecond)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Println("testapp: got SIGTERM, bye")
		os.Exit(7)
	}()

	var hits atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if mode == "never-ready" {
			w.WriteHeader(503)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"service":"UP"}`)
	})
	mux.HandleFunc("/hits", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, hits.Load())
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("apiVersion", "2")
		json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "uri": r.RequestURI, "host": r.Host, "headers": r.Header,
			"body64": base64.StdEncoding.EncodeToString(body), "contentLength": r.ContentLength,
			"proto": r.Proto,
		})
	})
	// A stand-in for the transformer's processor transform, for benchmarks without Node.
	mux.HandleFunc("/v0/destinations/webhook", func(w http.ResponseWriter, r *http.Request) {
		var in []struct {
			Message     map[string]any `json:"message"`
			Destination map[string]any `json:"destination"`
			Metadata    map[string]any `json:"metadata"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		out := make([]map[string]any, len(in))
		for i, ev := range in {
			out[i] = map[string]any{"output": map[string]any{"method": "POST", "body": map[string]any{"JSON": ev.Message}},
				"metadata": ev.Metadata, "statusCode": 200}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("apiVersion", "2")
		json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("/raw", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		w.Write(body)
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("X-Seen-Accept-Encoding", r.Header.Get("Accept-Encoding"))
		zw := gzip.NewWriter(w)
		io.WriteString(zw, `{"zipped":true}`)
		zw.Close()
	})
	mux.HandleFunc("/cookies", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "a=1; Path=/")
		w.Header().Add("Set-Cookie", "b=2; HttpOnly")
		w.Header().Add("X-Multi", "one")
		w.Header().Add("X-Multi", "two")
		w.WriteHeader(201)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("bytes"))
		// fill: "" text "x" (encoded 1:1), "quote" (`"`, doubled by JSON escaping), "binary"
		// (0xff, base64-encoded: 4/3).
		fill := "x"
		switch r.URL.Query().Get("fill") {
		case "quote":
			fill = `"`
		case "binary":
			fill = "\xff"
			w.Header().Set("Content-Type", "application/octet-stream")
		}
		chunk := []byte(strings.Repeat(fill, 64<<10))
		if r.URL.Query().Get("length") == "1" {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		for n > 0 {
			c := chunk[:min(n, len(chunk))]
			if _, err := w.Write(c); err != nil {
				return
			}
			n -= len(c)
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "slept")
	})
	mux.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		fmt.Fprintf(os.Stderr, "testapp: crashing with %d\n", code)
		os.Exit(code)
	})
	mux.HandleFunc("/exit-later", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		io.WriteString(w, "bye soon")
		go func() { time.Sleep(100 * time.Millisecond); os.Exit(code) }()
	})
	mux.HandleFunc("/status/", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		w.WriteHeader(code)
	})

	port := os.Getenv("PORT")
	var l net.Listener
	var err error
	if strings.Contains(port, "/") {
		l, err = net.Listen("unix", port)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:"+port)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testapp:", err)
		os.Exit(4)
	}
	fmt.Println("testapp: listening on " + port)
	// UseEncodedPath-like behaviour: ServeMux cleans paths, so route on a raw handler for /echo.
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/echo") || strings.HasPrefix(r.RequestURI, "//") {
			mux.ServeHTTP(w, withPath(r, "/echo"))
			return
		}
		mux.ServeHTTP(w, r)
	})}
	_ = srv.Serve(l)
}

func withPath(r *http.Request, p string) *http.Request {
	r2 := r.Clone(r.Context())
	r2.URL.Path = p
	r2.URL.RawPath = ""
	return r2
}

// appConfig is an AppConfig that starts the test binary as the app.
func appConfig(t testing.TB, transport string, extraEnv ...string) AppConfig {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "RUDDERCTL_TEST_ROLE=app")
	env = append(env, extraEnv...)
	return AppConfig{
		Node: exe, Entry: "app-entry.js", Dir: t.TempDir(), Env: env, HealthPath: "/health",
		Transport: transport, ReadyTimeout: 5 * time.Second, Stdout: io.Discard, Stderr: io.Discard,
	}
}
