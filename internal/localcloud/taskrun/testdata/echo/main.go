// echo is the taskrun tests' container program: an HTTP server on $HOST:$PORT (default
// 0.0.0.0:9090) that says who answered (the address it was reached on, $NAME, its pid),
// fetches a URL for the caller (GET /fetch?url=... or ?env=VAR), writes and reads a file
// (GET /file?path=...&write=...), and exits on request.
// `echo probe URL` is a health check (exit 0 when URL answers 200).
// With IGNORE_TERM=1 it ignores SIGTERM, so only SIGKILL stops it.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "probe" {
		probe(os.Args[2])
	}
	port := envOr("PORT", "9090")
	host := envOr("HOST", "0.0.0.0")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	go func() {
		for range sig {
			if os.Getenv("IGNORE_TERM") == "1" {
				fmt.Println("echo: SIGTERM ignored")
				continue
			}
			fmt.Println("echo: SIGTERM, exiting")
			os.Exit(0)
		}
	}()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		ip, _, _ := net.SplitHostPort(local.String())
		fmt.Fprintf(w, "ip=%s name=%s pid=%d\n", ip, os.Getenv("NAME"), os.Getpid())
	})
	http.HandleFunc("/fetch", func(w http.ResponseWriter, r *http.Request) {
		url := r.URL.Query().Get("url")
		if v := r.URL.Query().Get("env"); v != "" {
			url = os.Getenv(v)
		}
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})
	// GET /file?path=P[&write=DATA]: writes DATA to P when given, then answers P's content.
	http.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Query().Get("path")
		if r.URL.Query().Has("write") {
			if err := os.WriteFile(path, []byte(r.URL.Query().Get("write")), 0o644); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Write(b)
	})
	http.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		os.Exit(code)
	})
	fmt.Printf("echo %s listening on %s:%s\n", os.Getenv("NAME"), host, port)
	fmt.Fprintf(os.Stderr, "echo %s: a line on stderr\n", os.Getenv("NAME"))
	fmt.Printf("tmpdir=%s\n", os.TempDir())
	if err := http.ListenAndServe(net.JoinHostPort(host, port), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// probe is a health check: exit 0 when url answers 200.
func probe(url string) {
	resp, err := http.Get(url)
	if err != nil || resp.StatusCode != 200 {
		os.Exit(1)
	}
	os.Exit(0)
}
