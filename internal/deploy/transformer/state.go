package transformer

import (
	"maps"
	"time"

	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
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

// The shared kinds' found states (internal/deploy/kinds).
type (
	Bucket   = kinds.Bucket
	Role     = kinds.Role
	LogGroup = kinds.LogGroup
)

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

// policyEqual compares two IAM policy documents by meaning (kinds.PolicyEqual).
func policyEqual(a, b string) bool { return kinds.PolicyEqual(a, b) }
