package sidecar

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestAnswerCutUpstreamIsNotPassedAsComplete: the ECS transformer starts a chunked 200 (no
// Content-Length, as a compressed or streamed answer is) and its connection breaks midway
// (the task replaced, the ALB's target gone). rudder-server must see a broken answer, which
// it retries, not a shorter answer that ends cleanly. Both ways: chunked and with a
// Content-Length.
func TestAnswerCutUpstreamIsNotPassedAsComplete(t *testing.T) {
	for _, withLength := range []bool{false, true} {
		name := "chunked"
		if withLength {
			name = "content-length"
		}
		t.Run(name, func(t *testing.T) {
			ecs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("apiVersion", "2")
				if withLength {
					w.Header().Set("Content-Length", "1000000")
				}
				w.WriteHeader(http.StatusOK)
				io.WriteString(w, `[{"output":{"body":{"JSON":{"blob":"`+strings.Repeat("x", 64<<10))
				w.(http.Flusher).Flush()
				panic(http.ErrAbortHandler) // the connection breaks mid-answer
			}))
			defer ecs.Close()
			var mu sync.Mutex
			var logs []string
			sc, err := New(Config{ECSURL: ecs.URL, Log: func(l string) { mu.Lock(); logs = append(logs, l); mu.Unlock() }})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(sc)
			defer srv.Close()
			resp, err := http.Post(srv.URL+"/v0/destinations/webhook", "application/json", strings.NewReader(`[{"message":{}}]`))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err == nil {
				t.Fatalf("a cut answer reached the client as complete: status %d, %d bytes", resp.StatusCode, len(body))
			}
			mu.Lock()
			defer mu.Unlock()
			if len(logs) != 1 || !strings.Contains(logs[0], "copying the ecs answer") {
				t.Fatalf("sidecar log: %q", logs)
			}
			t.Logf("the client saw %d bytes, then: %v; the sidecar logged: %s", len(body), err, logs[0])
		})
	}
}
