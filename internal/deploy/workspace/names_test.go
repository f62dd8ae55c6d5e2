package workspace

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestGeneratedValues(t *testing.T) {
	keyRe := regexp.MustCompile(`^[A-Za-z0-9]{27}$`)
	seen := map[string]bool{}
	for range 200 {
		k, err := newWriteKey()
		if err != nil || !keyRe.MatchString(k) || seen[k] {
			t.Fatalf("write key %q: %v (or a repeat)", k, err)
		}
		seen[k] = true
	}
	tok, err := newSecretValue("token")
	if err != nil || len(tok) != 43 {
		t.Fatalf("token %q: %v", tok, err)
	}
}

func TestRouteKeysAreUnderTheSecret(t *testing.T) {
	for _, k := range RouteKeys("s3cr3t") {
		_, path, _ := strings.Cut(k, " ")
		if !strings.HasPrefix(path, "/s3cr3t/") {
			t.Errorf("route %q is not under the secret prefix", k)
		}
	}
}

func TestEnvironmentKeepsValuesAndRefusesTooMany(t *testing.T) {
	o := &observed{}
	env, err := environment(o, "sec", []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	// Read back from the function, the same values come out: nothing is regenerated.
	o.Func = &function{Config: fnConfig{Env: env}}
	again, err := environment(o, "sec", []string{"a", "b"})
	if err != nil || again["RUDDERCTL_WORKSPACE_TOKEN"] != env["RUDDERCTL_WORKSPACE_TOKEN"] || again["RUDDERCTL_WRITE_KEYS"] != env["RUDDERCTL_WRITE_KEYS"] {
		t.Fatalf("values changed: %v", err)
	}
	// A source dropped from the file loses its key; a new one gets one.
	third, _ := environment(o, "sec", []string{"b", "c"})
	if third["RUDDERCTL_WRITE_KEYS"] == env["RUDDERCTL_WRITE_KEYS"] || !regexp.MustCompile(`^\{"b":"[A-Za-z0-9]{27}","c":"[A-Za-z0-9]{27}"\}$`).MatchString(third["RUDDERCTL_WRITE_KEYS"]) {
		t.Errorf("keys after the sources changed: %d bytes", len(third["RUDDERCTL_WRITE_KEYS"]))
	}
	var before, after map[string]string
	json.Unmarshal([]byte(env["RUDDERCTL_WRITE_KEYS"]), &before)
	json.Unmarshal([]byte(third["RUDDERCTL_WRITE_KEYS"]), &after)
	if before["b"] == "" || after["b"] != before["b"] {
		t.Error("source b's key was not kept")
	}
	var many []string
	for i := range 200 {
		many = append(many, "source-number-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	if _, err := environment(&observed{}, "sec", many); err == nil || !regexp.MustCompile(`do not fit`).MatchString(err.Error()) {
		t.Errorf("200 generated keys: %v", err)
	}
}
