package core

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// echoRoom is a room of the test's own, to check what the core gives every room: a
// one-line registration, dispatch by the SigV4 scope, counting, faults in the room's own
// error shape, its document saved and loaded, its resources, its peers.
type echoRoom struct {
	c    *Cloud
	mu   sync.Mutex
	doc  struct{ Items map[string]string } // saved as echo.json
	peer Roles                             // roleRoom, found with Peer
}

func (r *echoRoom) Name() string { return "echo" }
func (r *echoRoom) Ops() []Op {
	return []Op{
		Write("PutItem", func(q *Request) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.doc.Items[q.R.URL.Query().Get("k")] = q.R.URL.Query().Get("v")
			if err := r.c.SaveDoc("echo.json", &r.doc); err != nil {
				q.JSON11Error(500, "SaveFailed", err.Error())
				return
			}
			q.JSON11(map[string]any{})
		}),
		Read("GetItem", func(q *Request) {
			r.mu.Lock()
			defer r.mu.Unlock()
			q.JSON11(map[string]any{"v": r.doc.Items[q.R.URL.Query().Get("k")], "role": r.peer.RoleUsable("arn:x")})
		}),
	}
}
func (r *echoRoom) Route(q *Request) (string, bool) { return q.JSON11Target("Echo") }
func (r *echoRoom) Unknown(q *Request)              { q.JSON11Error(400, "Unknown", q.Op) }
func (r *echoRoom) Throttle(q *Request)             { q.JSON11Error(400, "EchoThrottled", "slow down") }
func (r *echoRoom) Fail(q *Request)                 { q.JSON11Error(500, "EchoFailed", "injected") }
func (r *echoRoom) Open(c *Cloud) error {
	r.c = c
	r.doc.Items = map[string]string{}
	r.peer = Peer[Roles](c)
	return c.LoadDoc("echo.json", &r.doc, false)
}
func (r *echoRoom) Save() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.c.SaveDoc("echo.json", &r.doc)
}
func (r *echoRoom) Close() {}
func (r *echoRoom) Resources(match func(map[string]string) bool) []Resource {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Resource
	for k, v := range r.doc.Items {
		if tags := map[string]string{"item": v}; match(tags) {
			out = append(out, Resource{Service: "echo", Type: "item", Name: k, ARN: "arn:echo:" + k, Tags: tags})
		}
	}
	return out
}

// roleRoom offers Roles to its peers.
type roleRoom struct{ Stateless }

func (roleRoom) Name() string                    { return "roles" }
func (roleRoom) Ops() []Op                       { return nil }
func (roleRoom) Route(q *Request) (string, bool) { return "", false }
func (roleRoom) Unknown(q *Request)              {}
func (roleRoom) Throttle(q *Request)             {}
func (roleRoom) Fail(q *Request)                 {}
func (roleRoom) RoleUsable(arn string) bool      { return arn == "arn:x" }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func call(t *testing.T, c *Cloud, op, query string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.Endpoint()+"/?"+query, strings.NewReader("{}"))
	must(t, err)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/echo/aws4_request, SignedHeaders=host, Signature=x")
	req.Header.Set("X-Amz-Target", "Echo."+op)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func TestRoomGetsCoreServices(t *testing.T) {
	dir := t.TempDir()
	start := func() *Cloud {
		c, err := Start(context.Background(), Options{Addr: "127.0.0.1:0", StateDir: dir}, []Room{&echoRoom{}, roleRoom{}})
		must(t, err)
		return c
	}
	c := start()
	if st, m := call(t, c, "PutItem", "k=a&v=1"); st != 200 {
		t.Fatalf("PutItem: %d %v", st, m)
	}
	if st, m := call(t, c, "GetItem", "k=a"); st != 200 || m["v"] != "1" || m["role"] != true {
		t.Fatalf("GetItem: %d %v", st, m)
	}
	if st, m := call(t, c, "Nope", ""); st != 400 || m["__type"] != "Unknown" {
		t.Fatalf("unknown op: %d %v", st, m)
	}
	// Another target is answered by the codec and not counted.
	req, _ := http.NewRequest(http.MethodPost, c.Endpoint()+"/", nil)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/echo/aws4_request, Signature=x")
	req.Header.Set("X-Amz-Target", "Other.GetItem")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	st := c.Stats()
	if st.Calls != 3 || st.MutatingCalls != 2 || st.ByOperation["echo:PutItem"] != 1 || st.ByOperation["echo:Nope"] != 1 {
		t.Fatalf("stats: %+v", st)
	}
	// Faults answer in the room's own shapes.
	must(t, c.SetFaults("fail-mutating=1"))
	if s, m := call(t, c, "PutItem", "k=b&v=2"); s != 500 || m["__type"] != "EchoFailed" {
		t.Fatalf("fail-mutating: %d %v", s, m)
	}
	must(t, c.SetFaults("throttle=1"))
	if s, m := call(t, c, "GetItem", "k=a"); s != 400 || m["__type"] != "EchoThrottled" {
		t.Fatalf("throttle: %d %v", s, m)
	}
	must(t, c.SetFaults(""))
	if res := c.Resources("item", "1"); len(res) != 1 || res[0].Name != "a" {
		t.Fatalf("resources: %+v", res)
	}
	must(t, c.Close())
	if _, err := os.Stat(filepath.Join(dir, "echo.json")); err != nil {
		t.Fatal(err)
	}
	// The document loads again; the faulted PutItem changed nothing.
	c = start()
	defer c.Close()
	if _, m := call(t, c, "GetItem", "k=a"); m["v"] != "1" {
		t.Fatalf("after restart: %v", m)
	}
	if _, m := call(t, c, "GetItem", "k=b"); m["v"] != "" {
		t.Fatalf("the faulted PutItem wrote: %v", m)
	}
}

func TestTwoRoomsOneName(t *testing.T) {
	_, err := Start(context.Background(), Options{Addr: "127.0.0.1:0"}, []Room{&echoRoom{}, &echoRoom{}})
	if err == nil || !strings.Contains(err.Error(), `two rooms serve "echo"`) {
		t.Fatalf("two rooms one name: %v", err)
	}
}
