package backendnodes

// Large events through the whole topology (issue #11: "Batches over 6 MB reach the sink,
// through the ECS transformer; none is lost"): the public ALB, each node's gateway (4000 KB
// per request), its processor's transformer batch through the sidecar in its task, the ECS
// transformer on the internal ALB, the webhook sink.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rudderctl/rudderctl/internal/localcloud/taskrun"

	"github.com/rudderctl/rudderctl/backendnodes/sidecar"
)

const (
	// lambdaPayloadLimit is Lambda's invoke payload limit, request and response (6 MiB).
	lambdaPayloadLimit = 6 << 20
	// gatewayRequestLimit is rudder-server's Gateway.maxReqSizeInKB (4000 KB): each request
	// of the test stays under it, so a node's big batch is built from several requests.
	gatewayRequestLimit = 4000 * 1024
)

// blobDigest names a large property by its length and SHA-256.
func blobDigest(blob string) string {
	sum := sha256.Sum256([]byte(blob))
	return fmt.Sprintf("%d:%s", len(blob), hex.EncodeToString(sum[:8]))
}

// bigSender posts large events through the public ALB and remembers each accepted event's
// blob digest.
type bigSender struct {
	*sender
	digests map[string]string
}

// sendBig posts count events, each with a random properties.blob of blobBytes hex characters,
// in one /v1/batch. It returns the request's size and whether the ALB accepted it.
func (s *bigSender) sendBig(t *testing.T, count, blobBytes int) (int, bool) {
	t.Helper()
	var batch []map[string]any
	digests := map[string]string{}
	for range count {
		n := nextMessage.Add(1)
		id := fmt.Sprintf("big-%06d", n)
		raw := make([]byte, blobBytes/2)
		rand.Read(raw)
		blob := hex.EncodeToString(raw)
		digests[id] = blobDigest(blob)
		batch = append(batch, map[string]any{"type": "track", "event": "Uploaded", "messageId": id, "anonymousId": fmt.Sprintf("anon-%d", n),
			"userId": fmt.Sprintf("user-%d", n), "properties": map[string]any{"n": n, "blob": blob}})
	}
	size, ok := s.post(batch)
	if ok {
		s.mu.Lock()
		for id, d := range digests {
			s.accepted = append(s.accepted, id)
			s.digests[id] = d
		}
		s.mu.Unlock()
	}
	return size, ok
}

// holdProcessors keeps the nodes' processors from reading their gateway jobs until release:
// it holds an ACCESS EXCLUSIVE lock on each node's gw_job_status_1, which the processor's
// read of pending jobs joins, while the gateway (which writes gw_jobs_1 only) keeps
// accepting. On release every job accepted meanwhile is pending at once, as on a node under
// load (rudder-server's processor reads what piled up since its last loop), and the
// processor cuts its transformer batches from all of them.
func holdProcessors(t *testing.T, top *topology, nodes int) (release func()) {
	t.Helper()
	ctx := context.Background()
	var conns []*pgx.Conn
	release = func() {
		for _, c := range conns {
			c.Close(ctx) // ends the transaction: the lock goes with it
		}
		conns = nil
	}
	for i := 1; i <= nodes; i++ {
		in, err := top.cl.RDS().FindInstance(ctx, NamesFor(top.stack).Node(i).DB)
		if err != nil {
			release()
			t.Fatal(err)
		}
		creds, err := top.cl.Secrets().GetJSON(ctx, in.SecretARN)
		if err != nil {
			release()
			t.Fatal(err)
		}
		cfg, err := pgx.ParseConfig("")
		if err != nil {
			release()
			t.Fatal(err)
		}
		cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database = in.Address, uint16(in.Port), in.MasterUsername, creds["password"], DBName
		cfg.TLSConfig = nil
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			release()
			t.Fatalf("node %d's database: %v", i, err)
		}
		conns = append(conns, conn)
		for _, sql := range []string{"SET lock_timeout = '30s'", "BEGIN", "LOCK TABLE gw_job_status_1 IN ACCESS EXCLUSIVE MODE"} {
			if _, err := conn.Exec(ctx, sql); err != nil {
				release()
				t.Fatalf("node %d's database: %s: %v", i, sql, err)
			}
		}
	}
	return release
}

// sidecarStats reads node i's sidecar counters: GET /_sidecar/stats on 127.0.0.1:9190
// inside the node task's network namespace (the sidecar listens on the task's localhost only).
func sidecarStats(t *testing.T, top *topology, i int) sidecar.Stats {
	t.Helper()
	ns := fmt.Sprintf("/proc/%d/ns/net", nodeProcess(t, top, i).pid)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialInNamespace(ns, network, addr)
		},
	}}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", SidecarPort, sidecar.StatsPath))
	if err != nil {
		t.Fatalf("node %d's sidecar stats: %v", i, err)
	}
	defer resp.Body.Close()
	var st sidecar.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("node %d's sidecar stats: status %d, %v", i, resp.StatusCode, err)
	}
	return st
}

// dialInNamespace connects from inside the network namespace at nsPath (the sidecar
// listens on its task's localhost only).
func dialInNamespace(nsPath, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := taskrun.InNetNamespace(nsPath, func() (err error) {
		c, err = net.DialTimeout(network, addr, 5*time.Second)
		return err
	})
	return c, err
}

// routeDelta is what went one way between two readings of a sidecar's stats.
func routeDelta(before, after sidecar.Stats, route string) sidecar.RouteStats {
	a, b := after.Routes[route], before.Routes[route]
	return sidecar.RouteStats{Requests: a.Requests - b.Requests, RequestBytes: a.RequestBytes - b.RequestBytes,
		ResponseBytes: a.ResponseBytes - b.ResponseBytes, Unreachable: a.Unreachable - b.Unreachable}
}

func sumValues(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// testLargeBatches sends requests of large events (each under the gateway's 4000 KB) to
// nodes whose processors are held, so that each node's transformer batch is built from
// several requests and is over 6 MiB; then checks that every event reached the sink once
// with its blob intact, and that each node sent one destination-transform batch (again only
// after a retryable answer), by size to the ECS transformer and never to Lambda, whose answer
// (over 6 MiB too) came back.
func testLargeBatches(t *testing.T, top *topology, url string, nodes int) {
	const requestsPerNode, eventsPerRequest, blobBytes = 3, 9, 420_000
	start := time.Now()
	defer func() {
		if t.Failed() {
			logNodes(t, top, nodes, start)
		}
	}()
	before := map[int]sidecar.Stats{}
	for i := 1; i <= nodes; i++ {
		before[i] = sidecarStats(t, top, i)
	}
	big := &bigSender{sender: newSender(url), digests: map[string]string{}}
	big.client.Timeout = time.Minute
	_, deliveredBefore := top.sink.counts()
	release := holdProcessors(t, top, nodes)
	sent := 0
	for range requestsPerNode * nodes {
		size, ok := big.sendBig(t, eventsPerRequest, blobBytes)
		if !ok {
			release()
			t.Fatalf("the ALB refused a request of %d bytes", size)
		}
		if size >= gatewayRequestLimit {
			release()
			t.Fatalf("a request of %d bytes: the test must stay under the gateway's %d", size, gatewayRequestLimit)
		}
		sent += size
	}
	release()
	t.Logf("%d events of %d KB accepted in %d requests (%d bytes in all, each under the gateway's 4000 KB), processors held meanwhile",
		len(big.ids()), blobBytes/1000, requestsPerNode*nodes, sent)

	// Each node's processor now transforms what piled up: one batch per node through its
	// sidecar, then the deliveries. The stats are read once every event arrived, so that a
	// batch the stand-in sent again (after a 503 of the internal ALB, whose test health checks
	// are 1 s) is counted with its retries.
	top.waitArrived(t, big.ids(), 3*time.Minute)
	top.sink.mu.Lock()
	for id, want := range big.digests {
		if got := top.sink.blobs[id]; got != want {
			t.Errorf("event %s arrived with blob %s, sent %s", id, got, want)
		}
	}
	top.sink.mu.Unlock()
	_, byNode := top.sink.counts()
	for i := 1; i <= nodes; i++ {
		after := sidecarStats(t, top, i)
		ecs, lambda, retried := routeDelta(before[i], after, "ecs"), routeDelta(before[i], after, "lambda"), routeDelta(before[i], after, "ecs_after_too_big")
		refusals := sumValues(after.LambdaRefusals) - sumValues(before[i].LambdaRefusals)
		delivered := byNode[strconv.Itoa(i)] - deliveredBefore[strconv.Itoa(i)]
		t.Logf("node %d: %d events delivered; its sidecar: ecs %+v, lambda %+v, ecs after too big %+v, Lambda refusals %d", i, delivered, ecs, lambda, retried, refusals)
		if ecs.Requests == 0 || lambda.Requests != 0 || retried.Requests != 0 {
			t.Errorf("node %d: want its batch sent by size to the ECS transformer only, got ecs %d, lambda %d, ecs after too big %d requests",
				i, ecs.Requests, lambda.Requests, retried.Requests)
			continue
		}
		// One batch, sent once or again after a retryable answer: every request the same size.
		if batch := ecs.RequestBytes / ecs.Requests; ecs.RequestBytes%ecs.Requests != 0 || batch <= lambdaPayloadLimit || ecs.ResponseBytes <= lambdaPayloadLimit {
			t.Errorf("node %d: %d requests of %d bytes in all, answers %d bytes: want one batch over Lambda's %d bytes, and its answer too",
				i, ecs.Requests, ecs.RequestBytes, ecs.ResponseBytes, lambdaPayloadLimit)
		}
		if refusals != 0 || after.RejectedTooLarge != before[i].RejectedTooLarge || ecs.Unreachable != 0 {
			t.Errorf("node %d: Lambda refusals %d, sidecar 413s %d, ECS unreachable %d: want none", i, refusals,
				after.RejectedTooLarge-before[i].RejectedTooLarge, ecs.Unreachable)
		}
		// The stand-in names the delivering node; the ALB's round robin gave each node its share.
		if _, which := backendProgram(t); which == "rudder-standin" && delivered != requestsPerNode*eventsPerRequest {
			t.Errorf("node %d delivered %d of the large events, want %d", i, delivered, requestsPerNode*eventsPerRequest)
		}
	}
}

// logNodes shows what each node (rudder-server and its sidecar) logged since start.
func logNodes(t *testing.T, top *topology, nodes int, since time.Time) {
	for i := 1; i <= nodes; i++ {
		var out bytes.Buffer
		if err := Logs(context.Background(), top.cl, top.stack, i, since, false, false, &out); err != nil {
			t.Logf("node %d's logs: %v", i, err)
			continue
		}
		t.Logf("node %d logged:\n%s", i, tail(out.String(), 15))
	}
}
