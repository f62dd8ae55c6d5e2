package sidecar

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

// BenchmarkAddedLatency measures what the sidecar adds to a transformer call: the same POST
// sent directly to the transformer and through the sidecar (which buffers the body to know
// its size, then forwards it on a pooled connection). The transformer is a small Go server
// answering 2 KB of JSON, or the one at $RUDDERCTL_BENCH_TRANSFORMER_URL (e.g. the example
// app run with Node). Numbers and how to reproduce them: docs/BENCHMARKS.md.
func BenchmarkAddedLatency(b *testing.B) {
	upstream := os.Getenv("RUDDERCTL_BENCH_TRANSFORMER_URL")
	if upstream == "" {
		answer := bytes.Repeat([]byte("x"), 2048)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("apiVersion", "2")
			w.Header().Set("Content-Type", "application/json")
			w.Write(answer)
		}))
		defer srv.Close()
		upstream = srv.URL
	}
	sc, err := New(Config{LambdaURL: upstream, ECSURL: upstream})
	if err != nil {
		b.Fatal(err)
	}
	front := httptest.NewServer(sc)
	defer front.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
	for _, tc := range []struct {
		name string
		size int
	}{{"small-2KB", 2_000}, {"1MB", 1_000_000}} {
		body := batch(1, tc.size, "b")
		call := func(b *testing.B, base string) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				resp, err := client.Post(base+"/v0/destinations/webhook", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || resp.Header.Get("apiVersion") != "2" {
					b.Fatalf("status %d apiVersion %q", resp.StatusCode, resp.Header.Get("apiVersion"))
				}
			}
		}
		b.Run(tc.name+"/direct", func(b *testing.B) { call(b, upstream) })
		b.Run(tc.name+"/via-sidecar", func(b *testing.B) { call(b, front.URL) })
	}
}
