// ecsapp is the ECS tests' container program. It writes $MARK_DIR/<pid> holding the URL
// of its task metadata (so a test can find and kill the process of a task), then serves
// HTTP on :$PORT (default 8080) answering with its task ARN, read from the ECS task
// metadata endpoint as a real container would; /health answers $HEALTH_STATUS (default
// 200). EXIT_CODE=N makes it exit with N at once.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
)

func main() {
	meta := os.Getenv("ECS_CONTAINER_METADATA_URI_V4")
	fmt.Printf("ecsapp %d starting (metadata %s)\n", os.Getpid(), meta)
	if v := os.Getenv("EXIT_CODE"); v != "" {
		code, _ := strconv.Atoi(v)
		fmt.Printf("ecsapp exiting with %d\n", code)
		os.Exit(code)
	}
	if dir := os.Getenv("MARK_DIR"); dir != "" {
		// Written whole, then renamed: the tests read marks while processes start.
		mark := filepath.Join(dir, strconv.Itoa(os.Getpid()))
		if err := os.WriteFile(mark+".tmp", []byte(meta), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := os.Rename(mark+".tmp", mark); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	http.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		code := http.StatusOK
		if v, err := strconv.Atoi(os.Getenv("HEALTH_STATUS")); err == nil {
			code = v
		}
		w.WriteHeader(code)
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(meta + "/task")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		var task struct{ TaskARN string }
		if err := json.NewDecoder(resp.Body).Decode(&task); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintf(w, "task=%s\n", task.TaskARN)
	})
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	fmt.Printf("ecsapp listening on :%s\n", port)
	if err := http.ListenAndServe(":"+port, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
