// Package standin is a small stand-in for rudder-server v1.83 that honours the contract a node
// of ours relies on (docs/NODES.md, "The stand-in backend"): the same environment, /health,
// Basic-auth /v1/batch, /v1/track and /v1/identify, jobs in rudder-server's own table layout
// (so backendnodes/jobsdb counts them), the workspace fetched from the config backend, user and
// destination transforms cut by count, delivery to webhooks with rudder-server's retries, and
// its data loss on a 413. It is not a rewrite of rudder-server: one dataset per queue, webhook
// destinations only, no batch router, no dedup, no reporting.
package standin

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is what rudder-server reads from its environment (the subset we honour).
type Config struct {
	InstanceID string // INSTANCE_ID (default "1"): sent with every delivery as X-Rudder-Instance
	Hostname   string // HOSTNAME: the database identity (application_name)

	DB DBConfig

	ConfigBackendURL string // CONFIG_BACKEND_URL
	WorkspaceToken   string // WORKSPACE_TOKEN: HTTP Basic user of GET /workspaceConfig
	EnterpriseToken  string // ENTERPRISE_TOKEN: non-empty turns on env.X placeholders

	DestTransformURL string // DEST_TRANSFORM_URL (default http://localhost:9090)
	UserTransformURL string // USER_TRANSFORM_URL (default DEST_TRANSFORM_URL)

	GatewayPort int // RSERVER_GATEWAY_WEB_PORT (default 8080)

	TransformBatchSize     int           // RSERVER_PROCESSOR_TRANSFORM_BATCH_SIZE (100)
	UserTransformBatchSize int           // RSERVER_PROCESSOR_USER_TRANSFORM_BATCH_SIZE (200)
	TransformMaxRetry      int           // RSERVER_PROCESSOR_MAX_RETRY (30), then the process exits
	TransformMaxBackoff    time.Duration // RSERVER_PROCESSOR_MAX_RETRY_BACKOFF_INTERVAL (30s)
	RouterMinBackoff       time.Duration // RSERVER_ROUTER_MIN_RETRY_BACKOFF (10s)
	RouterMaxBackoff       time.Duration // RSERVER_ROUTER_MAX_RETRY_BACKOFF (300s)
	RouterMaxFailedCount   int           // RSERVER_ROUTER_MAX_FAILED_COUNT_FOR_JOB (3)
	RouterRetryTimeWindow  time.Duration // RSERVER_ROUTER_RETRY_TIME_WINDOW (180m)
	RouterWorkers          int           // RSERVER_ROUTER_NO_OF_WORKERS (8 here)
	ConfigPollInterval     time.Duration // RSERVER_BACKEND_CONFIG_POLL_INTERVAL (5s)
}

// DBConfig is JOBS_DB_*, with rudder-server's defaults.
type DBConfig struct {
	Host, User, Password, Name, SSLMode string
	Port                                int
}

// DSN is the connection string; application_name carries HOSTNAME as rudder-server's does.
func (d DBConfig) DSN(hostname string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(d.User, d.Password),
		Host: d.Host + ":" + strconv.Itoa(d.Port), Path: "/" + d.Name}
	q := url.Values{"sslmode": {d.SSLMode}, "application_name": {"standin-" + hostname}}
	u.RawQuery = q.Encode()
	return u.String()
}

// ConfigFromEnv reads the environment through getenv (os.Getenv in main).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	p := envParser{getenv: getenv}
	c := Config{
		InstanceID: p.str("INSTANCE_ID", "1"),
		Hostname:   p.str("HOSTNAME", "localhost"),
		DB: DBConfig{
			Host: p.str("JOBS_DB_HOST", "localhost"), Port: p.integer("JOBS_DB_PORT", 5432),
			User: p.str("JOBS_DB_USER", "ubuntu"), Password: p.str("JOBS_DB_PASSWORD", "ubuntu"),
			Name: p.str("JOBS_DB_DB_NAME", "ubuntu"), SSLMode: p.str("JOBS_DB_SSL_MODE", "disable"),
		},
		ConfigBackendURL:       strings.TrimRight(p.str("CONFIG_BACKEND_URL", "https://api.rudderstack.com"), "/"),
		WorkspaceToken:         p.str("WORKSPACE_TOKEN", ""),
		EnterpriseToken:        p.str("ENTERPRISE_TOKEN", ""),
		DestTransformURL:       strings.TrimRight(p.str("DEST_TRANSFORM_URL", "http://localhost:9090"), "/"),
		GatewayPort:            p.integer("RSERVER_GATEWAY_WEB_PORT", 8080),
		TransformBatchSize:     p.integer("RSERVER_PROCESSOR_TRANSFORM_BATCH_SIZE", 100),
		UserTransformBatchSize: p.integer("RSERVER_PROCESSOR_USER_TRANSFORM_BATCH_SIZE", 200),
		TransformMaxRetry:      p.integer("RSERVER_PROCESSOR_MAX_RETRY", 30),
		TransformMaxBackoff:    p.duration("RSERVER_PROCESSOR_MAX_RETRY_BACKOFF_INTERVAL", 30*time.Second),
		RouterMinBackoff:       p.duration("RSERVER_ROUTER_MIN_RETRY_BACKOFF", 10*time.Second),
		RouterMaxBackoff:       p.duration("RSERVER_ROUTER_MAX_RETRY_BACKOFF", 300*time.Second),
		RouterMaxFailedCount:   p.integer("RSERVER_ROUTER_MAX_FAILED_COUNT_FOR_JOB", 3),
		RouterRetryTimeWindow:  p.duration("RSERVER_ROUTER_RETRY_TIME_WINDOW", 180*time.Minute),
		RouterWorkers:          p.integer("RSERVER_ROUTER_NO_OF_WORKERS", 8),
		ConfigPollInterval:     p.duration("RSERVER_BACKEND_CONFIG_POLL_INTERVAL", 5*time.Second),
	}
	c.UserTransformURL = strings.TrimRight(p.str("USER_TRANSFORM_URL", c.DestTransformURL), "/")
	if p.err != nil {
		return Config{}, p.err
	}
	if c.WorkspaceToken == "" {
		return Config{}, fmt.Errorf("WORKSPACE_TOKEN is empty: the workspace config is fetched from CONFIG_BACKEND_URL with it; set it (rudderctl endpoints --show-secret prints it)")
	}
	for name, v := range map[string]int{"RSERVER_PROCESSOR_TRANSFORM_BATCH_SIZE": c.TransformBatchSize,
		"RSERVER_PROCESSOR_USER_TRANSFORM_BATCH_SIZE": c.UserTransformBatchSize, "RSERVER_ROUTER_NO_OF_WORKERS": c.RouterWorkers} {
		if v < 1 {
			return Config{}, fmt.Errorf("%s is %d: it must be at least 1", name, v)
		}
	}
	return c, nil
}

type envParser struct {
	getenv func(string) string
	err    error
}

func (p *envParser) str(name, def string) string {
	if v := p.getenv(name); v != "" {
		return v
	}
	return def
}

func (p *envParser) integer(name string, def int) int {
	v := p.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("%s=%q is not a whole number", name, v)
	}
	return n
}

// duration takes a Go duration ("500ms", "10s") or, as rudder-server's config does for these
// keys, a bare number in the key's unit (seconds; minutes for the retry time window).
func (p *envParser) duration(name string, def time.Duration) time.Duration {
	v := p.getenv(name)
	if v == "" {
		return def
	}
	if n, err := strconv.Atoi(v); err == nil {
		unit := time.Second
		if def >= time.Hour {
			unit = time.Minute
		}
		return time.Duration(n) * unit
	}
	d, err := time.ParseDuration(v)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("%s=%q is not a duration (e.g. 500ms, 10s)", name, v)
	}
	return d
}
