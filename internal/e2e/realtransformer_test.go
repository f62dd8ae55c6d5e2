package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/srcroot"
	"github.com/rudderctl/rudderctl/internal/testfn"
)

// TestRealTransformerOnLambda deploys a built rudder-transformer tree (RUDDER_TRANSFORMER_DIR:
// dist/ + production node_modules + package.json, as its production image holds it) with
// `rudderctl deploy transformer --lambda --src DIR --rebuild-native` into the local cloud, and
// checks that /features, WEBHOOK processor transforms and router transforms answer through the
// stack's API exactly as the same tree run directly under Node 22. A second deploy must be a
// no-op (the rebuilt zip is identical). Without RUDDER_TRANSFORMER_DIR it skips, also in CI:
// CI runs the example app (docs/BENCHMARKS.md says which ran where).
func TestRealTransformerOnLambda(t *testing.T) {
	dir := testfn.RealTransformerDir(t)
	if testing.Short() {
		t.Skip("packages and deploys the real rudder-transformer")
	}
	root, err := srcroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "rudderctl")
	if out, err := exec.Command("go", "build", "-C", root, "-o", bin, "./cmd/rudderctl").CombinedOutput(); err != nil {
		t.Fatalf("building rudderctl: %v\n%s", err, out)
	}
	cloud, err := localcloud.Start(context.Background(), localcloud.Options{Addr: "127.0.0.1:0", StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close()
	env := append(os.Environ(), "AWS_ENDPOINT_URL="+cloud.Endpoint(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=us-east-1", "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		// From the checkout: packaging builds the adapter from its go.mod.
		cmd.Env, cmd.Dir = env, root
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("rudderctl %v: %v\n%s\n%s", args, err, so.String(), se.String())
		}
		t.Logf("rudderctl %s: %s", strings.Join(args[:2], " "), time.Since(start).Round(time.Millisecond))
		return so.String()
	}

	deploy := []string{"deploy", "transformer", "--lambda", "--src", dir, "--rebuild-native", "--stack", "real", "--json"}
	t0 := time.Now()
	first := run(deploy...)
	var ep struct {
		DestTransformURL string `json:"dest_transform_url"`
	}
	if err := json.Unmarshal([]byte(run("endpoints", "--stack", "real", "--show-secret", "--json")), &ep); err != nil || ep.DestTransformURL == "" {
		t.Fatalf("endpoints: %v %+v", err, ep)
	}
	lambdaURL := ep.DestTransformURL
	code, _ := post(t, lambdaURL+"/health", "GET", nil)
	t.Logf("deploy to first answer: %s (deploy output: %.300s)", time.Since(t0).Round(time.Millisecond), first)
	if code != 200 {
		t.Fatalf("/health through the API: %d", code)
	}

	// The same tree, run directly under Node 22.
	direct := testfn.StartRealTransformer(t, dir)

	for _, c := range realCases() {
		lc, lb := post(t, lambdaURL+c.path, c.method, c.body)
		dc, db := post(t, direct+c.path, c.method, c.body)
		if lc != dc || !bytes.Equal(lb, db) {
			t.Errorf("%s %s: through Lambda %d %.400s\n  directly %d %.400s", c.method, c.path, lc, lb, dc, db)
		}
	}

	// A second deploy of the same tree rebuilds the native modules again: the zip must be
	// byte-identical, so nothing changes.
	second := run(deploy...)
	if !strings.Contains(second, `"changes": 0`) && !strings.Contains(second, `"changes":0`) {
		t.Errorf("second deploy of the same tree changed something: %.600s", second)
	}

	// Latency of a 100-event WEBHOOK batch (logged for docs/BENCHMARKS.md, not asserted).
	batch := processorBatch(100)
	for _, target := range []struct{ name, url string }{{"direct", direct}, {"local API", lambdaURL}} {
		var ds []time.Duration
		for i := 0; i < 220; i++ {
			s := time.Now()
			if c, _ := post(t, target.url+"/v0/destinations/webhook", "POST", batch); c != 200 {
				t.Fatalf("%s: %d", target.name, c)
			}
			if i >= 20 {
				ds = append(ds, time.Since(s))
			}
		}
		slices.Sort(ds)
		t.Logf("100-event batch (%d B) %s: p50 %s p99 %s", len(batch), target.name, ds[len(ds)/2].Round(10*time.Microsecond), ds[len(ds)*99/100].Round(10*time.Microsecond))
	}
}

type realCase struct {
	method, path string
	body         []byte
}

// realCases are requests rudder-server makes to the transformer: its feature list, WEBHOOK
// processor transforms (single events of several types, POST and GET webhooks, a batch) and
// router transforms.
func realCases() []realCase {
	cases := []realCase{{"GET", "/features", nil}, {"GET", "/health", nil}}
	for _, n := range []int{1, 3, 100} {
		cases = append(cases, realCase{"POST", "/v0/destinations/webhook", processorBatch(n)})
	}
	cases = append(cases, realCase{"POST", "/routerTransform", mustJSON(map[string]any{"destType": "webhook", "input": routerInput(5)})})
	cases = append(cases, realCase{"POST", "/v0/destinations/no_such_destination", processorBatch(1)})
	return cases
}

func webhookDestination(method string) map[string]any {
	return map[string]any{
		"ID": "dest-1", "Name": "webhook", "Enabled": true, "WorkspaceID": "ws-1",
		"Config": map[string]any{"webhookUrl": "http://127.0.0.1:9/hook", "webhookMethod": method,
			"headers": []map[string]string{{"from": "X-Test", "to": "yes"}}},
		"DestinationDefinition": map[string]any{"ID": "def-webhook", "Name": "WEBHOOK", "DisplayName": "Webhook", "Config": map[string]any{}},
	}
}

func realEvent(i int) map[string]any {
	types := []string{"track", "identify", "page", "screen", "group", "alias"}
	return map[string]any{
		"type": types[i%len(types)], "event": "Order Completed " + strconv.Itoa(i),
		"userId": fmt.Sprintf("user-%d", i%7), "anonymousId": fmt.Sprintf("anon-%d", i%5),
		"messageId": fmt.Sprintf("msg-%d", i), "originalTimestamp": "2026-11-29T10:00:00.000Z",
		"sentAt": "2026-11-29T10:00:01.000Z", "timestamp": "2026-11-29T10:00:00.000Z",
		"properties":   map[string]any{"revenue": i * 3, "currency": "EUR", "products": []map[string]any{{"sku": "A-" + strconv.Itoa(i), "price": 9.5}}},
		"traits":       map[string]any{"email": fmt.Sprintf("u%d@example.com", i), "name": "Test User"},
		"context":      map[string]any{"library": map[string]any{"name": "rudder-go", "version": "1.0"}, "ip": "127.0.0.1", "traits": map[string]any{"plan": "pro"}},
		"integrations": map[string]any{"All": true},
	}
}

func metadata(i int) map[string]any {
	return map[string]any{"jobId": i + 1, "sourceId": "src-1", "destinationId": "dest-1", "workspaceId": "ws-1",
		"messageId": fmt.Sprintf("msg-%d", i), "userId": fmt.Sprintf("user-%d", i%7), "sourceType": "HTTP", "destinationType": "WEBHOOK"}
}

func processorBatch(n int) []byte {
	var in []map[string]any
	for i := 0; i < n; i++ {
		method := "POST"
		if i%4 == 3 {
			method = "GET"
		}
		in = append(in, map[string]any{"message": realEvent(i), "metadata": metadata(i), "destination": webhookDestination(method)})
	}
	return mustJSON(in)
}

func routerInput(n int) []map[string]any {
	var in []map[string]any
	for i := 0; i < n; i++ {
		in = append(in, map[string]any{"message": realEvent(i), "metadata": metadata(i), "destination": webhookDestination("POST")})
	}
	return in
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

var realClient = &http.Client{Timeout: 60 * time.Second}

func post(t *testing.T, url, method string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := realClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
