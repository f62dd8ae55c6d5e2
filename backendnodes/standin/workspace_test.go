package standin

import (
	"encoding/json"
	"io"
	"log/slog"
	"testing"
)

// TestEnvPlaceholders: whole string values starting "env." anywhere in the config are
// replaced from the environment; an unset variable leaves the placeholder; a value that only
// contains "env." is left alone.
func TestEnvPlaceholders(t *testing.T) {
	env := map[string]string{"SINK_URL": "http://127.0.0.1:1/hook", "SINK_AUTH": "Bearer s3cret"}
	in := `{"sources":[{"destinations":[{"config":{"webhookUrl":"env.SINK_URL","headers":[{"from":"Authorization","to":" env.SINK_AUTH"}],
		"other":"env.UNSET","note":"see env.SINK_URL","n":3}}]}]}`
	out, err := replaceEnvPlaceholders([]byte(in), func(k string) string { return env[k] }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Sources []struct {
			Destinations []struct {
				Config struct {
					WebhookURL string `json:"webhookUrl"`
					Headers    []struct{ From, To string }
					Other      string
					Note       string
					N          int
				}
			}
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	c := got.Sources[0].Destinations[0].Config
	if c.WebhookURL != env["SINK_URL"] || c.Headers[0].To != env["SINK_AUTH"] || c.Other != "env.UNSET" || c.Note != "see env.SINK_URL" || c.N != 3 {
		t.Fatalf("replaced config: %+v", c)
	}
}
