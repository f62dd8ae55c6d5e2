package lambda

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
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/lambda/manifest"
)

// Benchmarks (not tests): the adapter's added latency per request and its added cold start.
// They use the example transformer under Node >= 22 when it is installed
// (RUDDERCTL_NODE or node on PATH; examples/transformer/node_modules), else (or with
// RUDDERCTL_BENCH_APP=go) the Go test app, saying why in the log.
// Reproduce: see docs/BENCHMARKS.md, section Adapter.

var benchApps = struct {
	sync.Mutex
	m map[string]*App
}{m: map[string]*App{}}

// stopBenchApps is called by TestMain after the run.
func stopBenchApps() {
	benchApps.Lock()
	defer benchApps.Unlock()
	for _, a := range benchApps.m {
		a.Stop(time.Second)
	}
	if localW != nil {
		localW.close()
	}
}

type benchTarget struct {
	name  string // "node" or "go"
	node  string
	entry string
	why   string // why not node
}

func exampleDir() string {
	d, _ := filepath.Abs("../examples/transformer")
	return d
}

// nodeTarget picks the example app under Node >= 22 if possible.
func nodeTarget() benchTarget {
	node := os.Getenv("RUDDERCTL_NODE")
	if node == "" {
		node = "node"
	}
	exe, _ := os.Executable()
	goApp := benchTarget{name: "go", node: exe, entry: "app-entry.js"}
	if os.Getenv("RUDDERCTL_BENCH_APP") == "go" {
		goApp.why = "RUDDERCTL_BENCH_APP=go"
		return goApp
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		goApp.why = fmt.Sprintf("no node (%v)", err)
		return goApp
	}
	v := strings.TrimSpace(string(out))
	major, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(v, "v"), ".", 2)[0])
	if major < 22 {
		goApp.why = "node " + v + " < 22 (isolated-vm 6); set RUDDERCTL_NODE to a Node 22 binary"
		return goApp
	}
	if _, err := os.Stat(filepath.Join(exampleDir(), "node_modules", "isolated-vm")); err != nil {
		goApp.why = "examples/transformer has no node_modules: run npm ci there"
		return goApp
	}
	return benchTarget{name: "node", node: node, entry: filepath.Join(exampleDir(), "src", "index.js")}
}

func benchApp(b *testing.B, tgt benchTarget, transport string, keepAlive bool) *App {
	key := fmt.Sprintf("%s/%s/%v", tgt.name, transport, keepAlive)
	benchApps.Lock()
	defer benchApps.Unlock()
	if a := benchApps.m[key]; a != nil {
		return a
	}
	c := appConfig(b, transport)
	c.Node, c.Entry, c.Dir = tgt.node, tgt.entry, os.TempDir()
	c.ReadyTimeout = 20 * time.Second
	c.Stdout = io.Discard
	a, err := StartApp(context.Background(), c)
	if err != nil {
		b.Fatal(err)
	}
	if !keepAlive {
		a.transport.DisableKeepAlives = true // a relay that opens a connection per request
	}
	benchApps.m[key] = a
	return a
}

// transformerBody is a processor-transform request of about size bytes for the webhook destination.
func transformerBody(size int) []byte {
	ev := map[string]any{
		"message": map[string]any{"type": "track", "event": "Order Completed", "userId": "user-123",
			"anonymousId": "a1b2c3d4", "messageId": "m-1", "properties": map[string]any{"revenue": 42.5, "currency": "EUR",
				"products": []any{map[string]any{"sku": "s-1", "name": "thing \"quoted\"", "price": 10}}},
			"context": map[string]any{"library": map[string]any{"name": "rudder-go"}, "ip": "1.2.3.4"}},
		"destination": map[string]any{"ID": "d1", "Config": map[string]any{"webhookUrl": "https://example.com/hook",
			"headers": []any{map[string]any{"from": "x-key", "to": "v"}}}},
		"metadata": map[string]any{"jobId": 1, "sourceId": "s1", "destinationId": "d1", "workspaceId": "w1"},
	}
	one, _ := json.Marshal(ev)
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := 0; buf.Len() < size-len(one); i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(one)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkOverhead alternates a direct call to the app (same listener, keep-alive Go client)
// with the same request through Adapter.Invoke (event JSON in, response JSON out) and reports
// both latencies' p50/p99 and the p50/p99 of the per-pair difference (added).
func BenchmarkOverhead(b *testing.B) {
	tuneGC() // as Main does
	tgt := nodeTarget()
	if tgt.why != "" {
		b.Logf("measuring with the Go test app: %s", tgt.why)
	}
	for _, size := range []struct {
		name  string
		bytes int
	}{{"2KB", 2 << 10}, {"240KB", 240 << 10}, {"1MB", 1 << 20}} {
		body := transformerBody(size.bytes)
		ev := event("POST", "/v0/destinations/webhook", "", map[string]string{
			"content-type": "application/json", "host": "abc.execute-api.eu-west-1.amazonaws.com",
			"user-agent": "Go-http-client/1.1", "x-forwarded-for": "1.2.3.4", "accept-encoding": "gzip"}, nil, string(body), false)
		evJSON := payload(b, ev)
		for _, v := range []struct {
			transport string
			keepAlive bool
		}{{TransportTCP, true}, {TransportUnix, true}, {TransportTCP, false}, {TransportUnix, false}} {
			conn := "keepalive"
			if !v.keepAlive {
				conn = "newconn"
			}
			b.Run(fmt.Sprintf("app=%s/req=%s/%s-%s", tgt.name, size.name, v.transport, conn), func(b *testing.B) {
				app := benchApp(b, tgt, v.transport, v.keepAlive)
				ad := NewAdapter(app, "")
				direct := &http.Transport{DialContext: newHTTPTransport(app.ep).DialContext, DisableCompression: true, MaxIdleConnsPerHost: 4}
				defer direct.CloseIdleConnections()
				call := func() {
					req, _ := http.NewRequest("POST", "http://"+app.ep.baseHost()+"/v0/destinations/webhook", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					resp, err := direct.RoundTrip(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Fatalf("direct: %d", resp.StatusCode)
					}
				}
				invokeOnce := func() {
					out, err := ad.Invoke(context.Background(), evJSON)
					if err != nil || !bytes.HasPrefix(out, []byte(`{"statusCode":200,`)) {
						b.Fatalf("adapter: %v %.200s", err, out)
					}
				}
				for range 5 { // warm-up: JIT, connection pool
					call()
					invokeOnce()
				}
				dDirect := make([]time.Duration, 0, b.N)
				dAdapter := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for range b.N {
					t := time.Now()
					call()
					dDirect = append(dDirect, time.Since(t))
					t = time.Now()
					invokeOnce()
					dAdapter = append(dAdapter, time.Since(t))
				}
				b.StopTimer()
				b.ReportMetric(ms(percentile(dDirect, .5)), "direct-p50-ms")
				b.ReportMetric(ms(percentile(dAdapter, .5)), "adapter-p50-ms")
				added := make([]time.Duration, len(dDirect))
				for i := range added {
					added[i] = dAdapter[i] - dDirect[i] // paired: the two calls ran back to back
				}
				b.ReportMetric(ms(percentile(added, .5)), "added-p50-ms")
				b.ReportMetric(ms(percentile(added, .99)), "added-p99-ms")
				b.ReportMetric(ms(percentile(dAdapter, .99)), "adapter-p99-ms")
				b.ReportMetric(ms(percentile(dDirect, .99)), "direct-p99-ms")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// BenchmarkColdStart alternates (a) starting the app alone and polling its health path every
// 0.2 ms, and (b) starting the bootstrap (the test binary in its bootstrap role) against a fake
// Runtime API with one event queued, until that event's response is posted. Added = b - a.
func BenchmarkColdStart(b *testing.B) {
	tgt := nodeTarget()
	if tgt.why != "" {
		b.Logf("measuring with the Go test app: %s", tgt.why)
	}
	for _, transport := range []string{TransportTCP, TransportUnix} {
		b.Run(fmt.Sprintf("app=%s/%s", tgt.name, transport), func(b *testing.B) {
			exe, _ := os.Executable()
			dir := b.TempDir()
			mf, _ := json.Marshal(manifest.Manifest{Schema: 1, Runtime: "nodejs22.x", Entry: tgt.entry, HealthPath: "/health",
				Env: map[string]string{"NODE_OPTIONS": "--no-node-snapshot"}})
			os.WriteFile(filepath.Join(dir, manifest.FileName), mf, 0o644)
			evJSON := payload(b, event("GET", "/health", "", nil, nil, "", false))

			var appAlone, boot []time.Duration
			// Capped so one -benchtime suits both the per-request benchmarks and this one.
			for range min(b.N, 100) {
				appAlone = append(appAlone, startAppAlone(b, tgt, transport))

				api := newFakeRuntimeAPI(b)
				api.events <- evJSON
				cmd := exec.Command(exe)
				cmd.Env = append(os.Environ(), "RUDDERCTL_TEST_ROLE=bootstrap", "AWS_LAMBDA_RUNTIME_API="+api.addr,
					"RUDDERCTL_MANIFEST="+filepath.Join(dir, manifest.FileName), "RUDDERCTL_NODE="+tgt.node,
					"RUDDERCTL_TRANSPORT="+transport)
				var out syncBuffer
				cmd.Stdout, cmd.Stderr = &out, &out
				t := time.Now()
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				select {
				case p := <-api.posted:
					boot = append(boot, time.Since(t))
					if p.Kind != "response" {
						b.Fatalf("%s: %s\n%s", p.Kind, p.Body, out.String())
					}
				case <-time.After(30 * time.Second):
					b.Fatalf("no response\n%s", out.String())
				}
				cmd.Process.Signal(syscall.SIGTERM)
				cmd.Wait()
			}
			added := make([]time.Duration, len(boot))
			for i := range added {
				added[i] = boot[i] - appAlone[i]
			}
			b.ReportMetric(ms(percentile(appAlone, .5)), "app-start-p50-ms")
			b.ReportMetric(ms(percentile(boot, .5)), "bootstrap-first-response-p50-ms")
			b.ReportMetric(ms(percentile(added, .5)), "added-p50-ms")
			b.ReportMetric(ms(percentile(added, .9)), "added-p90-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// startAppAlone measures process start to the first 200 from the health path.
func startAppAlone(b *testing.B, tgt benchTarget, transport string) time.Duration {
	ep, err := newEndpoint(transport)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(tgt.node, tgt.entry)
	cmd.Env = appEnviron(append(os.Environ(), "RUDDERCTL_TEST_ROLE=app"), nil, ep.port)
	tr := newHTTPTransport(ep)
	defer tr.CloseIdleConnections()
	t := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait(); os.Remove(ep.addr) }()
	for time.Since(t) < 30*time.Second {
		req, _ := http.NewRequest("GET", "http://"+ep.baseHost()+"/health", nil)
		if resp, err := tr.RoundTrip(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(t)
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
	b.Fatal("the app did not start")
	return 0
}

// BenchmarkTransport alternates the same request through a TCP-connected and a unix-socket-
// connected adapter (two instances of the app), so both see the same machine noise; it decides
// DefaultTransport.
func BenchmarkTransport(b *testing.B) {
	tuneGC()
	tgt := nodeTarget()
	if tgt.why != "" {
		b.Logf("measuring with the Go test app: %s", tgt.why)
	}
	for _, size := range []struct {
		name  string
		bytes int
	}{{"2KB", 2 << 10}, {"200KB", 200 << 10}, {"1MB", 1 << 20}} {
		evJSON := payload(b, event("POST", "/v0/destinations/webhook", "",
			map[string]string{"content-type": "application/json"}, nil, string(transformerBody(size.bytes)), false))
		b.Run(fmt.Sprintf("app=%s/req=%s", tgt.name, size.name), func(b *testing.B) {
			ads := []*Adapter{NewAdapter(benchApp(b, tgt, TransportTCP, true), ""), NewAdapter(benchApp(b, tgt, TransportUnix, true), "")}
			d := [2][]time.Duration{}
			for i := range b.N + 5 {
				for k := range 2 {
					k = (k + i) % 2 // alternate which goes first
					t := time.Now()
					if out, err := ads[k].Invoke(context.Background(), evJSON); err != nil || !bytes.HasPrefix(out, []byte(`{"statusCode":200,`)) {
						b.Fatalf("%v %.100s", err, out)
					}
					if i >= 5 { // after warm-up
						d[k] = append(d[k], time.Since(t))
					}
				}
			}
			b.ReportMetric(ms(percentile(d[0], .5)), "tcp-p50-ms")
			b.ReportMetric(ms(percentile(d[1], .5)), "unix-p50-ms")
			b.ReportMetric(ms(percentile(d[0], .99)), "tcp-p99-ms")
			b.ReportMetric(ms(percentile(d[1], .99)), "unix-p99-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}
