package lambda

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// A keep-alive connection the app closes just as the adapter reuses it (Node's idle timer racing
// a thawed sandbox) must cost a retry on a fresh connection, not a failed request.
func TestAdapterRetriesStaleKeepAlive(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var conns, served atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n := conns.Add(1)
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for i := 0; ; i++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if n == 1 && i == 1 {
						return // the first connection dies on its second request, unanswered
					}
					served.Add(1)
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
				}
			}(c)
		}
	}()
	ep := endpoint{kind: TransportTCP, addr: l.Addr().String()}
	app := &App{ep: ep, transport: newHTTPTransport(ep), done: make(chan struct{}), tail: newOutputTail()}
	a := NewAdapter(app, "")
	for i := range 3 {
		r := invoke(t, a, context.Background(), event("POST", "/x", "", nil, nil, `{"n":1}`, false))
		if r.StatusCode != 200 || r.Body != "ok" {
			t.Fatalf("request %d: %d %s", i, r.StatusCode, r.Body)
		}
	}
	if conns.Load() != 2 || served.Load() != 3 {
		t.Errorf("%d connections, %d answers; want 2 and 3", conns.Load(), served.Load())
	}
}

// Once idle longer than the app's keep-alive timeout, pooled connections are not reused.
func TestAdapterDropsLongIdleConnections(t *testing.T) {
	var conns atomic.Int32
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		},
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	defer srv.Close()
	ep := endpoint{kind: TransportTCP, addr: l.Addr().String()}
	app := &App{ep: ep, transport: newHTTPTransport(ep), done: make(chan struct{}), tail: newOutputTail()}
	a := NewAdapter(app, "")
	get := func() { invoke(t, a, context.Background(), event("GET", "/", "", nil, nil, "", false)) }
	get()
	get()
	if conns.Load() != 1 {
		t.Fatalf("keep-alive not used: %d connections", conns.Load())
	}
	a.mu.Lock()
	a.lastDone = time.Now().Add(-idleReuseLimit - time.Second) // as after a long freeze
	a.mu.Unlock()
	get()
	if conns.Load() != 2 {
		t.Errorf("a connection idle past %s was reused (%d connections)", idleReuseLimit, conns.Load())
	}
}
