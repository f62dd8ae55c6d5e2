package lambda

import (
	"cmp"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

const (
	MaxZipDirect     = 50 << 20    // 52,428,800 B: ZipFile in the request
	maxUnzipped      = 262_144_000 // 250 MB unzipped
	maxInvokePayload = 6 * 1024 * 1024
)

var allowedRuntimes = map[string]bool{
	"nodejs18.x": true, "nodejs20.x": true, "nodejs22.x": true, "nodejs24.x": true,
	"python3.9": true, "python3.10": true, "python3.11": true, "python3.12": true, "python3.13": true, "python3.14": true,
	"java8.al2": true, "java11": true, "java17": true, "java21": true, "java25": true,
	"dotnet8": true, "dotnet10": true, "ruby3.2": true, "ruby3.3": true, "ruby3.4": true,
	"provided.al2": true, "provided.al2023": true,
}

var deprecatedRuntimes = map[string]bool{
	"nodejs": true, "nodejs4.3": true, "nodejs6.10": true, "nodejs8.10": true, "nodejs10.x": true,
	"nodejs12.x": true, "nodejs14.x": true, "nodejs16.x": true, "python2.7": true, "python3.6": true,
	"python3.7": true, "python3.8": true, "dotnetcore3.1": true, "dotnet6": true, "ruby2.7": true,
	"go1.x": true, "provided": true, "java8": true,
}

// fnConfig is the part of a function version that PublishVersion compares.
type fnConfig struct {
	Runtime       string            `json:"runtime"`
	Handler       string            `json:"handler"`
	Role          string            `json:"role"`
	Description   string            `json:"description"`
	MemorySize    int               `json:"memory_size"`
	Timeout       int               `json:"timeout"`
	Architectures []string          `json:"architectures"`
	Env           map[string]string `json:"env"`
	CodeSha256    string            `json:"code_sha256"` // base64, as Lambda reports it
	CodeSize      int64             `json:"code_size"`
}

type versionRec struct {
	Version      string    `json:"version"`
	Config       fnConfig  `json:"config"`
	LastModified time.Time `json:"last_modified"`
	RevisionID   string    `json:"revision_id"`
	// PublishedDescription is PublishVersion's Description: it overrides the function's
	// in the version's configuration, but is not part of what PublishVersion compares.
	PublishedDescription string `json:"published_description,omitempty"`
}

type aliasRec struct {
	Name            string             `json:"name"`
	FunctionVersion string             `json:"function_version"`
	Description     string             `json:"description"`
	RevisionID      string             `json:"revision_id"`
	Weights         map[string]float64 `json:"weights,omitempty"`
}

type statementRec struct {
	Sid           string `json:"sid"`
	Action        string `json:"action"`
	Principal     string `json:"principal"`
	SourceArn     string `json:"source_arn,omitempty"`
	SourceAccount string `json:"source_account,omitempty"`
	Resource      string `json:"resource"`
}

type functionRec struct {
	Name         string                     `json:"name"`
	Region       string                     `json:"region"`
	Latest       *versionRec                `json:"latest"`
	Versions     map[string]*versionRec     `json:"versions"`
	NextVersion  int                        `json:"next_version"`
	Aliases      map[string]*aliasRec       `json:"aliases"`
	Policies     map[string][]*statementRec `json:"policies"` // qualifier ("" = function) -> statements
	PolicyRevs   map[string]string          `json:"policy_revs"`
	Tags         map[string]string          `json:"tags"`
	ActiveAt     time.Time                  `json:"active_at"`
	UpdateDoneAt time.Time                  `json:"update_done_at"`
}

func (f *functionRec) fixup() {
	if f.Versions == nil {
		f.Versions = map[string]*versionRec{}
	}
	if f.Aliases == nil {
		f.Aliases = map[string]*aliasRec{}
	}
	if f.Policies == nil {
		f.Policies = map[string][]*statementRec{}
	}
	if f.PolicyRevs == nil {
		f.PolicyRevs = map[string]string{}
	}
	if f.Tags == nil {
		f.Tags = map[string]string{}
	}
	if f.NextVersion == 0 {
		f.NextVersion = 1
	}
}

func (f *functionRec) arn() string {
	return "arn:aws:lambda:" + f.Region + ":" + core.AccountID + ":function:" + f.Name
}

func (f *functionRec) qualifiedARN(q string) string {
	if q == "" {
		return f.arn()
	}
	return f.arn() + ":" + q
}

func (f *functionRec) state(now time.Time) string {
	if now.Before(f.ActiveAt) {
		return "Pending"
	}
	return "Active"
}

func (f *functionRec) updating(now time.Time) bool { return now.Before(f.UpdateDoneAt) }

// version resolves "", "$LATEST" or a number.
func (f *functionRec) version(v string) *versionRec {
	if v == "" || v == "$LATEST" {
		return f.Latest
	}
	return f.Versions[v]
}

// resolve turns a qualifier (version or alias) into the version to run.
func (f *functionRec) resolve(q string) (*versionRec, bool) {
	if a := f.Aliases[q]; a != nil {
		v := f.version(a.FunctionVersion)
		return v, v != nil
	}
	v := f.version(q)
	return v, v != nil
}

var (
	aliasNameRE = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,128}$`)
)

func (r *Room) configJSON(f *functionRec, v *versionRec, qual string) map[string]any {
	now := time.Now()
	cfg := v.Config
	out := map[string]any{
		"FunctionName":     f.Name,
		"FunctionArn":      f.qualifiedARN(qual),
		"Runtime":          cfg.Runtime,
		"Role":             cfg.Role,
		"Handler":          cfg.Handler,
		"CodeSize":         cfg.CodeSize,
		"Description":      cmp.Or(v.PublishedDescription, cfg.Description),
		"Timeout":          cfg.Timeout,
		"MemorySize":       cfg.MemorySize,
		"LastModified":     v.LastModified.UTC().Format("2006-01-02T15:04:05.000-0700"),
		"CodeSha256":       cfg.CodeSha256,
		"Version":          v.Version,
		"TracingConfig":    map[string]string{"Mode": "PassThrough"},
		"RevisionId":       v.RevisionID,
		"PackageType":      "Zip",
		"Architectures":    cfg.Architectures,
		"EphemeralStorage": map[string]int{"Size": 512},
		"SnapStart":        map[string]string{"ApplyOn": "None", "OptimizationStatus": "Off"},
		"LoggingConfig":    map[string]string{"LogFormat": "Text", "LogGroup": "/aws/lambda/" + f.Name},
		"RuntimeVersionConfig": map[string]string{
			"RuntimeVersionArn": "arn:aws:lambda:" + f.Region + "::runtime:localcloud-" + cfg.Runtime,
		},
	}
	if len(cfg.Env) > 0 {
		out["Environment"] = map[string]any{"Variables": cfg.Env}
	}
	if v.Version == "$LATEST" {
		switch {
		case f.state(now) == "Pending":
			out["State"] = "Pending"
			out["StateReason"] = "The function is being created."
			out["StateReasonCode"] = "Creating"
			out["LastUpdateStatus"] = "InProgress"
		case f.updating(now):
			out["State"] = "Active"
			out["LastUpdateStatus"] = "InProgress"
			out["LastUpdateStatusReason"] = "The function is being updated."
			out["LastUpdateStatusReasonCode"] = "InProgress"
		default:
			out["State"] = "Active"
			out["LastUpdateStatus"] = "Successful"
		}
	} else {
		out["State"] = "Active"
		out["LastUpdateStatus"] = "Successful"
	}
	return out
}

func conflictIfBusy(q *core.Request, f *functionRec) bool {
	now := time.Now()
	if f.state(now) == "Pending" {
		lambdaError(q, http.StatusConflict, "ResourceConflictException", "The operation cannot be performed at this time. The function is currently in the following state: Pending")
		return true
	}
	if f.updating(now) {
		lambdaError(q, http.StatusConflict, "ResourceConflictException", "The operation cannot be performed at this time. An update is in progress for resource: "+f.arn())
		return true
	}
	return false
}

func checkRevision(q *core.Request, rev, want string) bool {
	if rev != "" && rev != want {
		lambdaError(q, http.StatusPreconditionFailed, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
		return false
	}
	return true
}

// publishLocked publishes $LATEST, or returns the newest version when nothing changed.
func publishLocked(f *functionRec) *versionRec {
	if n := f.NextVersion - 1; n >= 1 {
		if last := f.Versions[strconv.Itoa(n)]; last != nil && reflect.DeepEqual(last.Config, f.Latest.Config) {
			return last
		}
	}
	v := &versionRec{
		Version: strconv.Itoa(f.NextVersion), Config: f.Latest.Config,
		LastModified: time.Now().UTC(), RevisionID: core.NewRequestID(),
	}
	v.Config.Env = core.CopyMap(v.Config.Env)
	v.Config.Architectures = append([]string(nil), v.Config.Architectures...)
	f.Versions[v.Version] = v
	f.NextVersion++
	return v
}

// applyLatest installs a new $LATEST configuration and starts the update window.
func (r *Room) applyLatest(f *functionRec, cfg fnConfig) {
	now := time.Now().UTC()
	f.Latest = &versionRec{Version: "$LATEST", Config: cfg, LastModified: now, RevisionID: core.NewRequestID()}
	f.UpdateDoneAt = now.Add(r.cloud.Delays().Update)
	r.exec.invalidate(f.Name, "$LATEST")
	r.gcZipsLocked()
}
