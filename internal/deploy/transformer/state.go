package transformer

import (
	"encoding/json"
	"maps"
	"net/url"
	"reflect"
	"time"
)

// FunctionConfig is the part of a function's configuration rudderctl manages.
type FunctionConfig struct {
	Runtime string            `json:"runtime"`
	Handler string            `json:"handler"`
	Arch    string            `json:"arch"`
	Role    string            `json:"role"`
	Memory  int32             `json:"memory"`
	Timeout int32             `json:"timeout"`
	Env     map[string]string `json:"-"` // holds the secret: never printed
}

// Equal compares two configurations (nil and empty environments are equal).
func (c FunctionConfig) Equal(o FunctionConfig) bool {
	return c.Runtime == o.Runtime && c.Handler == o.Handler && c.Arch == o.Arch && c.Role == o.Role &&
		c.Memory == o.Memory && c.Timeout == o.Timeout && maps.Equal(c.Env, o.Env)
}

// Diff names the fields that differ (values of the environment are not shown).
func (c FunctionConfig) Diff(o FunctionConfig) []string {
	var d []string
	if c.Runtime != o.Runtime {
		d = append(d, "runtime "+c.Runtime+" -> "+o.Runtime)
	}
	if c.Handler != o.Handler {
		d = append(d, "handler")
	}
	if c.Arch != o.Arch {
		d = append(d, "architecture "+c.Arch+" -> "+o.Arch)
	}
	if c.Role != o.Role {
		d = append(d, "role")
	}
	if c.Memory != o.Memory {
		d = append(d, "memory")
	}
	if c.Timeout != o.Timeout {
		d = append(d, "timeout")
	}
	if !maps.Equal(c.Env, o.Env) {
		d = append(d, "environment")
	}
	return d
}

// Observed is what exists in the cloud for one stack (read-only calls only).
type Observed struct {
	Account string
	Role    *Role
	Logs    *LogGroup
	Func    *Function
	// Versions are the published versions, ascending.
	Versions []Version
	Alias    *Alias
	// APIs are the HTTP APIs carrying the stack tag and the API name (normally one).
	APIs []API
	// Integrations, Routes and Stages are those of APIs[0].
	Integrations []Integration
	Routes       []Route
	Stages       []Stage
	// Permission is the statement StatementID on the alias, if any.
	Permission *Permission
	// Bucket is the stack's artifacts bucket (BucketName), nil when it does not exist.
	Bucket *Bucket
}

// Bucket is the stack's S3 artifacts bucket.
type Bucket struct {
	Name       string
	Tagged     bool
	OtherStack string
	Tags       map[string]string
	// Foreign: HeadBucket was refused (403, or a redirect): the name belongs to another
	// account, or the credentials may not read it. Nothing more is known.
	Foreign bool
	Keys    []string // every object key
}

// Has reports whether the bucket holds key.
func (b *Bucket) Has(key string) bool {
	for _, k := range b.Keys {
		if k == key {
			return true
		}
	}
	return false
}

type Role struct {
	ARN        string
	Tagged     bool   // carries rudderctl:stack=<this stack>
	OtherStack string // value of rudderctl:stack when it is another stack
	Trust      string // assume-role policy document
	Policy     string // inline policy PolicyName, "" when absent
	// PolicyNames are all its inline policies.
	PolicyNames []string
}

type LogGroup struct {
	ARN        string
	Retention  int32 // 0 = never expire
	Tagged     bool
	OtherStack string
}

type Function struct {
	ARN        string
	Config     FunctionConfig
	CodeSha256 string
	State      string // Pending, Active, Failed
	LastUpdate string // InProgress, Successful, Failed
	Tagged     bool
	OtherStack string
}

type Version struct {
	Number     string
	Config     FunctionConfig
	CodeSha256 string
}

type Alias struct {
	Version string
	ARN     string
}

type API struct {
	ID       string
	Endpoint string
	Created  time.Time
}

type Integration struct {
	ID, Type, URI, PayloadFormatVersion string
}

type Route struct {
	ID, Key, Target string
}

type Stage struct {
	Name       string
	AutoDeploy bool
}

type Permission struct {
	Principal, Action, Resource, SourceARN string
}

// Desired is what the stack should look like.
type Desired struct {
	Names
	Region, Account string
	Config          FunctionConfig // Config.Env includes the wrapper and the path prefix
	CodeSha256      string         // base64 SHA-256 of the zip, as Lambda reports it
	Zip             string         // path of the zip to upload when the code differs
	ZipBytes        int64
	// Bucket is the artifacts bucket (BucketName); code goes through it as CodeKey when
	// ZipBytes > MaxDirectUpload (ViaS3).
	Bucket       string
	LogRetention int32
	Secret       string
	// HealthPath is what the new version must answer 2xx to (under the secret prefix)
	// before alias live moves to it: the zip manifest's health_path.
	HealthPath string
}

// ViaS3 reports whether the code is too large for a direct upload and goes through S3.
func (d *Desired) ViaS3() bool { return d.ZipBytes > MaxDirectUpload }

// policyEqual compares two IAM policy documents by meaning of their JSON (IAM returns
// them URL-encoded and re-formatted).
func policyEqual(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	pa, ok1 := parsePolicy(a)
	pb, ok2 := parsePolicy(b)
	if !ok1 || !ok2 {
		return false
	}
	return reflect.DeepEqual(normalise(pa), normalise(pb))
}

func parsePolicy(s string) (any, bool) {
	if u, err := url.QueryUnescape(s); err == nil && len(u) > 0 && u[0] == '{' {
		s = u
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, false
	}
	return v, true
}

// normalise turns one-element lists into their element (IAM accepts both spellings).
func normalise(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, x := range t {
			m[k] = normalise(x)
		}
		return m
	case []any:
		if len(t) == 1 {
			return normalise(t[0])
		}
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = normalise(x)
		}
		return l
	}
	return v
}
