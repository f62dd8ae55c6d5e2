package core

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// serveAdmin answers /_localcloud/... (never faulted, never counted).
func (c *Cloud) serveAdmin(w http.ResponseWriter, r *http.Request) {
	writeJSON := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(v)
	}
	switch {
	case r.URL.Path == "/_localcloud/faults" && r.Method == http.MethodPost:
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err := c.SetFaults(strings.TrimSpace(string(b))); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(map[string]string{"faults": strings.TrimSpace(string(b))})
	case r.URL.Path == "/_localcloud/faults" && r.Method == http.MethodGet:
		c.faultsMu.Lock()
		spec := c.faults.spec
		c.faultsMu.Unlock()
		writeJSON(map[string]string{"faults": spec})
	case r.URL.Path == "/_localcloud/stats" && r.Method == http.MethodGet:
		writeJSON(c.Stats())
	case r.URL.Path == "/_localcloud/calls" && r.Method == http.MethodGet:
		writeJSON(c.Calls())
	case r.URL.Path == "/_localcloud/stats/reset" && r.Method == http.MethodPost:
		c.ResetStats()
		writeJSON(c.Stats())
	case r.URL.Path == "/_localcloud/resources" && r.Method == http.MethodGet:
		tag := r.URL.Query().Get("tag")
		k, v, _ := strings.Cut(tag, "=")
		if k == "" {
			http.Error(w, "tag=KEY=VALUE required", http.StatusBadRequest)
			return
		}
		res := c.Resources(k, v)
		if res == nil {
			res = []Resource{}
		}
		writeJSON(res)
	case r.URL.Path == "/_localcloud/health":
		writeJSON(map[string]string{"status": "ok"})
	default:
		for _, room := range c.rooms {
			if a, ok := room.(AdminServer); ok && a.ServeAdmin(w, r) {
				return
			}
		}
		http.Error(w, "not found", http.StatusNotFound)
	}
}
