package sidecar

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestSecretNeverShown: with the Lambda transformer unreachable, the sidecar answers 502
// (rudder-server retries it), and neither that answer, its log nor its stats show the
// secret prefix; a malformed URL is refused without repeating it.
func TestSecretNeverShown(t *testing.T) {
	const secret = "k3x9f2-very-secret"
	closed := "127.0.0.1:" + strconv.Itoa(freePort(t)) // nothing listens there
	var mu sync.Mutex
	var logs []string
	sc, err := New(Config{LambdaURL: "http://" + closed + "/" + secret, ECSURL: "http://" + closed,
		Log: func(l string) { mu.Lock(); logs = append(logs, l); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sc)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/v0/destinations/webhook", "application/json", strings.NewReader(`[{"message":{}}]`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "lambda transformer (http://"+closed+"/…) did not answer") {
		t.Fatalf("unreachable lambda: %d %s", resp.StatusCode, body)
	}
	st, _ := json.Marshal(sc.Stats())
	mu.Lock()
	all := strings.Join(logs, "\n") + string(body) + string(st) + sc.StatsLine() + sc.Routes()
	mu.Unlock()
	if strings.Contains(all, secret) {
		t.Fatalf("the secret is shown:\n%s", all)
	}
	if sc.Stats().Routes["lambda"].Unreachable != 1 {
		t.Fatalf("stats: %+v", sc.Stats())
	}
	if _, err := New(Config{LambdaURL: "ftp://host/" + secret}); err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("malformed URL: %v", err)
	}
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "--lambda-url") {
		t.Fatalf("no URL: %v", err)
	}
}
