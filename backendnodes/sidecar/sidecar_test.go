package sidecar

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// event is one processor-transform input, as rudder-server sends it.
func event(i int, blob string) map[string]any {
	return map[string]any{
		"message": map[string]any{
			"type": "track", "event": "big", "userId": fmt.Sprintf("u%d", i), "messageId": fmt.Sprintf("m-%d", i),
			"properties": map[string]any{"blob": blob},
		},
		"destination": map[string]any{"ID": "d1", "Config": map[string]any{"webhookUrl": "http://127.0.0.1:9/hook"}},
		"metadata":    map[string]any{"jobId": i, "messageId": fmt.Sprintf("m-%d", i)},
	}
}

func batch(n, blobBytes int, unit string) []byte {
	blob := strings.Repeat(unit, blobBytes/len(unit))
	evs := make([]map[string]any, n)
	for i := range evs {
		evs[i] = event(i, blob)
	}
	b, _ := json.Marshal(evs)
	return b
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func post(t *testing.T, u string, body io.Reader, length int64) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", "application/json")
	return do(t, req)
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

// outputs decodes a processor-transform answer and checks every event came back whole.
func checkOutputs(t *testing.T, a answer, n int, blobBytes int, unit string) {
	t.Helper()
	if a.status != http.StatusOK || a.header.Get("apiVersion") != "2" {
		t.Fatalf("status %d apiVersion %q: %.300s", a.status, a.header.Get("apiVersion"), a.body)
	}
	var out []struct {
		Output struct {
			Body struct {
				JSON struct {
					MessageID  string            `json:"messageId"`
					Properties map[string]string `json:"properties"`
				} `json:"JSON"`
			} `json:"body"`
		} `json:"output"`
		Metadata   struct{ JobID int } `json:"metadata"`
		StatusCode int                 `json:"statusCode"`
	}
	if err := json.Unmarshal(a.body, &out); err != nil {
		t.Fatalf("answer is not a transform result: %v: %.300s", err, a.body)
	}
	if len(out) != n {
		t.Fatalf("%d results, want %d", len(out), n)
	}
	blob := strings.Repeat(unit, blobBytes/len(unit))
	for i, o := range out {
		if o.StatusCode != 200 || o.Metadata.JobID != i || o.Output.Body.JSON.MessageID != fmt.Sprintf("m-%d", i) || o.Output.Body.JSON.Properties["blob"] != blob {
			t.Fatalf("result %d is not event %d transformed whole (status %d, job %d, %d blob bytes)", i, i, o.StatusCode, o.Metadata.JobID, len(o.Output.Body.JSON.Properties["blob"]))
		}
	}
}

func getStats(t *testing.T, base string) Stats {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+StatsPath, nil)
	a := do(t, req)
	var st Stats
	if a.status != 200 || json.Unmarshal(a.body, &st) != nil {
		t.Fatalf("stats: %d %s", a.status, a.body)
	}
	return st
}

// counts is where requests went, read from the counting proxies.
func (u *upstreams) counts() (lambda, ecs int64) {
	return u.lambda.requests.Load(), u.ecs.requests.Load()
}

// TestSidecarRoutesBySize sends rudder-server's kinds of requests through a running
// `rudderctl sidecar` to the example transformer on the local cloud's Lambda (behind its API
// stage) and the same app run directly (the ECS side), and checks where each went, that it
// came back whole, the counters, and that the secret prefix never shows.
func TestSidecarRoutesBySize(t *testing.T) {
	up := startUpstreams(t)
	sc := startSidecar(t, "--stats-interval", "100ms", "--lambda-url", up.lambdaURL, "--ecs-url", up.ecsURL)
	want := map[string]RouteStats{}
	wantRefusals := map[string]int64{}
	expect := func(t *testing.T, lambda0, ecs0, dLambda, dECS int64) {
		t.Helper()
		l, e := up.counts()
		if l-lambda0 != dLambda || e-ecs0 != dECS {
			t.Fatalf("requests reaching lambda/ecs: %d/%d, want %d/%d", l-lambda0, e-ecs0, dLambda, dECS)
		}
	}
	count := func(route string, in int, a answer) {
		r := want[route]
		r.Requests++
		r.RequestBytes += int64(in)
		r.ResponseBytes += int64(len(a.body))
		want[route] = r
	}

	t.Run("features to lambda", func(t *testing.T) {
		l0, e0 := up.counts()
		req, _ := http.NewRequest(http.MethodGet, sc.url+"/features", nil)
		a := do(t, req)
		if a.status != 200 || !strings.Contains(string(a.body), "routerTransform") {
			t.Fatalf("/features: %d %s", a.status, a.body)
		}
		expect(t, l0, e0, 1, 0)
		count("lambda", 0, a)
	})

	t.Run("small batch to lambda", func(t *testing.T) {
		l0, e0 := up.counts()
		body := batch(5, 1000, "s")
		a := post(t, sc.url+"/v0/destinations/webhook", strings.NewReader(string(body)), int64(len(body)))
		checkOutputs(t, a, 5, 1000, "s")
		expect(t, l0, e0, 1, 0)
		count("lambda", len(body), a)
	})

	t.Run("an app error passes through, not retried", func(t *testing.T) {
		l0, e0 := up.counts()
		body := batch(1, 10, "s")
		a := post(t, sc.url+"/v0/destinations/nope", strings.NewReader(string(body)), int64(len(body)))
		if a.status != 404 || !strings.Contains(string(a.body), "Unknown destination") {
			t.Fatalf("unknown destination: %d %s", a.status, a.body)
		}
		expect(t, l0, e0, 1, 0)
		count("lambda", len(body), a)
	})

	t.Run("100 large events over 6 MB to ecs", func(t *testing.T) {
		l0, e0 := up.counts()
		body := batch(100, 65_000, "L")
		if len(body) <= 6<<20 {
			t.Fatalf("batch of %d bytes is not over 6 MB", len(body))
		}
		a := post(t, sc.url+"/v0/destinations/webhook", strings.NewReader(string(body)), int64(len(body)))
		checkOutputs(t, a, 100, 65_000, "L")
		expect(t, l0, e0, 0, 1)
		count("ecs", len(body), a)
	})

	t.Run("large batch without Content-Length to ecs", func(t *testing.T) {
		l0, e0 := up.counts()
		body := batch(100, 65_000, "C")
		a := post(t, sc.url+"/v0/destinations/webhook", io.MultiReader(strings.NewReader(string(body))), -1)
		checkOutputs(t, a, 100, 65_000, "C")
		expect(t, l0, e0, 0, 1)
		count("ecs", len(body), a)
	})

	t.Run("response too big for lambda retried on ecs", func(t *testing.T) {
		// A user function that returns each event three times: the request (just under the
		// threshold) fits Lambda, its answer (three times as big) does not.
		l0, e0 := up.counts()
		evs := make([]map[string]any, 105)
		blob := strings.Repeat("R", 42_000)
		for i := range evs {
			evs[i] = event(i, blob)
			evs[i]["transformation"] = map[string]string{"versionId": "triple", "code": "export function transformEvent(event) { return [event, event, event]; }"}
		}
		body, _ := json.Marshal(evs)
		if len(body) > DefaultMaxLambdaBytes || len(body) < DefaultMaxLambdaBytes*9/10 {
			t.Fatalf("request of %d bytes is not just under the threshold %d", len(body), DefaultMaxLambdaBytes)
		}
		a := post(t, sc.url+"/customTransform", strings.NewReader(string(body)), int64(len(body)))
		var out []struct {
			Output     map[string]any `json:"output"`
			StatusCode int            `json:"statusCode"`
		}
		if a.status != 200 || json.Unmarshal(a.body, &out) != nil || len(out) != 3*len(evs) {
			t.Fatalf("customTransform: %d, %d results (want %d): %.300s", a.status, len(out), 3*len(evs), a.body)
		}
		if len(a.body) <= 6<<20 {
			t.Fatalf("answer of %d bytes would have fit Lambda", len(a.body))
		}
		expect(t, l0, e0, 1, 1)
		count(routeECSAfterTooBig, len(body), a)
		wantRefusals[ReasonResponseTooLarge]++
	})

	t.Run("request refused 413 by the API stage retried on ecs", func(t *testing.T) {
		// Under the threshold as a body, but quote-heavy: API Gateway's event escapes every
		// quote and backslash, and the event is over Lambda's 6 MB.
		l0, e0 := up.counts()
		body := batch(100, 20_000, `"\`)
		if len(body) > DefaultMaxLambdaBytes {
			t.Fatalf("request of %d bytes is over the threshold", len(body))
		}
		a := post(t, sc.url+"/v0/destinations/webhook", strings.NewReader(string(body)), int64(len(body)))
		checkOutputs(t, a, 100, 20_000, `"\`)
		expect(t, l0, e0, 1, 1)
		count(routeECSAfterTooBig, len(body), a)
		wantRefusals[ReasonRequestTooLarge]++
	})

	t.Run("over the hard cap answered 413 by the sidecar", func(t *testing.T) {
		l0, e0 := up.counts()
		status, body := rawPost(t, sc.url, "/v0/destinations/webhook", DefaultMaxBodyBytes+1)
		if status != http.StatusRequestEntityTooLarge || !strings.Contains(body, ErrorSource) || !strings.Contains(body, "smaller batches") {
			t.Fatalf("over the cap: %d %s", status, body)
		}
		expect(t, l0, e0, 0, 0)
	})

	t.Run("stats count each", func(t *testing.T) {
		st := getStats(t, sc.url)
		for _, route := range []string{"lambda", "ecs", routeECSAfterTooBig} {
			if st.Routes[route] != want[route] {
				t.Errorf("route %s: %+v, want %+v", route, st.Routes[route], want[route])
			}
		}
		for reason, n := range wantRefusals {
			if st.LambdaRefusals[reason] != n {
				t.Errorf("refusals %s: %d, want %d (all: %v)", reason, st.LambdaRefusals[reason], n, st.LambdaRefusals)
			}
		}
		if st.RejectedTooLarge != 1 {
			t.Errorf("rejected too large: %d, want 1", st.RejectedTooLarge)
		}
		t.Logf("GET %s: %s", StatsPath, mustJSON(st))
	})

	t.Run("only an ECS URL: everything goes there", func(t *testing.T) {
		only := startSidecar(t, "--ecs-url", up.ecsURL)
		l0, e0 := up.counts()
		small := batch(2, 100, "e")
		checkOutputs(t, post(t, only.url+"/v0/destinations/webhook", strings.NewReader(string(small)), int64(len(small))), 2, 100, "e")
		expect(t, l0, e0, 0, 1)
		if st := getStats(t, only.url); st.Routes["ecs"].Requests != 1 || st.Routes["lambda"].Requests != 0 {
			t.Fatalf("stats: %+v", st.Routes)
		}
	})

	t.Run("only a Lambda URL: everything goes there, refusals included", func(t *testing.T) {
		only := startSidecar(t, "--lambda-url", up.lambdaURL)
		l0, e0 := up.counts()
		small := batch(2, 100, "l")
		checkOutputs(t, post(t, only.url+"/v0/destinations/webhook", strings.NewReader(string(small)), int64(len(small))), 2, 100, "l")
		large := batch(100, 65_000, "l")
		a := post(t, only.url+"/v0/destinations/webhook", strings.NewReader(string(large)), int64(len(large)))
		if a.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("a batch over 6 MB with no ECS transformer: %d %.200s", a.status, a.body)
		}
		expect(t, l0, e0, 2, 0)
	})

	sc.stop(t)
	logs := sc.log.String()
	if !strings.Contains(logs, "sidecar stats: ") || !strings.Contains(logs, `"ecs_after_too_big":{"requests":2`) {
		t.Fatalf("the stats are not in the log:\n%s", logs)
	}
	secret := strings.TrimPrefix(up.secret, "/")
	if strings.Contains(logs, secret) {
		t.Fatalf("the secret prefix is in the sidecar's log:\n%s", logs)
	}
}

// rawPost announces a body of length bytes, sends a little of it, and reads the answer: the
// sidecar must refuse on Content-Length alone, before reading (or buffering) the body.
func rawPost(t *testing.T, base, path string, length int64) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: sidecar\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n[{", path, length)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
