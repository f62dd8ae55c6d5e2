package localcloud

import (
	"archive/zip"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Lambda's reserved environment keys: one list, shared with rudderctl's config validation.
import "github.com/rudderctl/rudderctl/internal/awsapi"

// AWS limits the local cloud enforces.
const (
	maxZipDirect     = 50 << 20    // 52,428,800 B: ZipFile in the request
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
	return "arn:aws:lambda:" + f.Region + ":" + AccountID + ":function:" + f.Name
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
	functionNameRE = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,64}$`)
	aliasNameRE    = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,128}$`)
	qualifierRE    = regexp.MustCompile(`^(\$LATEST|[a-zA-Z0-9-_]{1,128})$`)
)

// parseFunctionRef accepts name, name:qualifier, ACCOUNT:function:name[:q] and full ARNs.
func parseFunctionRef(s string) (name, qualifier string, ok bool) {
	parts := strings.Split(s, ":")
	switch {
	case len(parts) == 1:
		name = parts[0]
	case len(parts) == 2:
		name, qualifier = parts[0], parts[1]
	case len(parts) >= 7 && parts[0] == "arn" && parts[5] == "function":
		name = parts[6]
		if len(parts) == 8 {
			qualifier = parts[7]
		} else if len(parts) > 8 {
			return "", "", false
		}
	case len(parts) >= 3 && parts[1] == "function":
		name = parts[2]
		if len(parts) == 4 {
			qualifier = parts[3]
		} else if len(parts) > 4 {
			return "", "", false
		}
	default:
		return "", "", false
	}
	return name, qualifier, functionNameRE.MatchString(name) && (qualifier == "" || qualifierRE.MatchString(qualifier))
}

func (q *request) lambdaError(status int, code, msg string) {
	typ := "User"
	if status >= 500 {
		typ = "Service"
	}
	q.lambdaErrorType(status, code, typ, msg)
}

func (q *request) lambdaErrorType(status int, code, typ, msg string) {
	q.w.Header().Set("X-Amzn-Errortype", code)
	q.writeJSON(status, "application/json", map[string]string{"Type": typ, "message": msg})
}

func (q *request) lambdaJSON(status int, v any) { q.writeJSON(status, "application/json", v) }

func (q *request) invalidParam(msg string) {
	q.lambdaError(http.StatusBadRequest, "InvalidParameterValueException", msg)
}

func (q *request) fnNotFound(arn string) {
	q.lambdaError(http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+arn)
}

func (q *request) decode(v any) bool {
	const maxBody = 70_167_211 // what Lambda accepts for CreateFunction/UpdateFunctionCode
	body, err := readLimited(q.r.Body, maxBody)
	if errors.Is(err, errTooLarge) {
		q.lambdaError(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", fmt.Sprintf("Request must be smaller than %d bytes for the %s operation", maxBody, q.op))
		return false
	}
	if err != nil {
		q.lambdaError(http.StatusBadRequest, "InvalidRequestContentException", "Could not read request body")
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return true
	}
	if err := json.Unmarshal(body, v); err != nil {
		q.lambdaError(http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json: "+err.Error())
		return false
	}
	return true
}

// lambdaRoute is the operation a REST path and method name.
func lambdaRoute(method, path string) (op string, args []string) {
	switch {
	case strings.HasPrefix(path, "/2017-03-31/tags/"):
		arn := strings.TrimPrefix(path, "/2017-03-31/tags/")
		switch method {
		case http.MethodPost:
			return "TagResource", []string{arn}
		case http.MethodDelete:
			return "UntagResource", []string{arn}
		case http.MethodGet:
			return "ListTags", []string{arn}
		}
		return "", nil
	case path == "/2015-03-31/functions" || path == "/2015-03-31/functions/":
		switch method {
		case http.MethodPost:
			return "CreateFunction", nil
		case http.MethodGet:
			return "ListFunctions", nil
		}
		return "", nil
	case strings.HasPrefix(path, "/2015-03-31/functions/"):
	default:
		return "", nil
	}
	rest := strings.Split(strings.TrimPrefix(path, "/2015-03-31/functions/"), "/")
	fn := rest[0]
	sub := rest[1:]
	key := method
	if len(sub) > 0 {
		key += " " + sub[0]
		if len(sub) > 1 {
			key += " X"
		}
		if len(sub) > 2 {
			return "", nil
		}
	}
	ops := map[string]string{
		"GET": "GetFunction", "DELETE": "DeleteFunction",
		"GET configuration": "GetFunctionConfiguration", "PUT configuration": "UpdateFunctionConfiguration",
		"PUT code":      "UpdateFunctionCode",
		"POST versions": "PublishVersion", "GET versions": "ListVersionsByFunction",
		"POST aliases": "CreateAlias", "GET aliases": "ListAliases",
		"GET aliases X": "GetAlias", "PUT aliases X": "UpdateAlias", "DELETE aliases X": "DeleteAlias",
		"POST policy": "AddPermission", "GET policy": "GetPolicy", "DELETE policy X": "RemovePermission",
		"POST invocations": "Invoke",
	}
	op = ops[key]
	args = []string{fn}
	if len(sub) == 2 {
		args = append(args, sub[1])
	}
	return op, args
}

func (c *Cloud) serveLambda(q *request) {
	op, args := lambdaRoute(q.r.Method, q.r.URL.Path)
	if op == "" {
		q.op = "?"
		q.lambdaError(http.StatusNotFound, "UnknownOperationException", "Unknown operation "+q.r.Method+" "+q.r.URL.Path)
		return
	}
	if !q.begin(op) {
		return
	}
	if op == "Invoke" {
		c.lambdaInvoke(q, args[0])
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch op {
	case "CreateFunction":
		c.lambdaCreate(q)
	case "ListFunctions":
		c.lambdaList(q)
	case "TagResource", "UntagResource", "ListTags":
		c.lambdaTags(q, op, args[0])
	default:
		name, qual, ok := parseFunctionRef(args[0])
		if !ok {
			q.invalidParam("1 validation error detected: Value '" + args[0] + "' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern")
			return
		}
		if qq := q.r.URL.Query().Get("Qualifier"); qq != "" {
			if qual != "" && qual != qq {
				q.invalidParam("The derived qualifier from the function name does not match the specified qualifier.")
				return
			}
			qual = qq
		}
		f := c.st.Functions[name]
		if f == nil {
			q.fnNotFound("arn:aws:lambda:" + q.region + ":" + AccountID + ":function:" + name)
			return
		}
		c.lambdaFunctionOp(q, op, f, qual, args[1:])
	}
}

type envIn struct {
	Variables map[string]string `json:"Variables"`
}

type createIn struct {
	FunctionName  string
	Runtime       string
	Role          string
	Handler       string
	Description   string
	Timeout       *int
	MemorySize    *int
	Publish       bool
	PackageType   string
	Architectures []string
	Environment   *envIn
	Tags          map[string]string
	Code          struct {
		ZipFile         []byte
		S3Bucket        string
		S3Key           string
		S3ObjectVersion string
		ImageUri        string
	}
}

// checkConfig validates the settings Create/UpdateFunctionConfiguration share.
func (c *Cloud) checkConfig(q *request, cfg *fnConfig, checkRole bool) bool {
	if cfg.Runtime != "" && !allowedRuntimes[cfg.Runtime] {
		if deprecatedRuntimes[cfg.Runtime] {
			q.invalidParam("The runtime parameter of " + cfg.Runtime + " is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.")
		} else {
			q.invalidParam("Value " + cfg.Runtime + " at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: " + strings.Join(sortedKeys(allowedRuntimes), ", ") + " or be a valid ARN")
		}
		return false
	}
	if cfg.MemorySize < 128 || cfg.MemorySize > 10240 {
		q.invalidParam(fmt.Sprintf("'%d' at 'memorySize' failed to satisfy constraint: Member must have value between 128 and 10240, inclusive", cfg.MemorySize))
		return false
	}
	if cfg.Timeout < 1 || cfg.Timeout > 900 {
		q.invalidParam(fmt.Sprintf("'%d' at 'timeout' failed to satisfy constraint: Member must have value between 1 and 900, inclusive", cfg.Timeout))
		return false
	}
	if len(cfg.Architectures) != 1 || (cfg.Architectures[0] != "x86_64" && cfg.Architectures[0] != "arm64") {
		q.invalidParam("1 validation error detected: Value at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1, and Member must satisfy enum value set: [x86_64, arm64]")
		return false
	}
	if len(cfg.Description) > 256 {
		q.invalidParam("'description' must be at most 256 characters")
		return false
	}
	envSize := 0
	for k, v := range cfg.Env {
		envSize += len(k) + len(v)
		if awsapi.IsLambdaReservedEnv(k) {
			q.invalidParam("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: " + k)
			return false
		}
	}
	if envSize > 4096 {
		q.invalidParam("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit.")
		return false
	}
	if checkRole && !c.roleUsable(cfg.Role) {
		q.invalidParam("The role defined for the function cannot be assumed by Lambda.")
		return false
	}
	return true
}

// codeSource reads the code of CreateFunction/UpdateFunctionCode: ZipFile in the request
// (direct) or an object of the local S3. c.mu must be held.
func (c *Cloud) codeSource(q *request, zipFile []byte, bucket, key, image string) (data []byte, direct, ok bool) {
	switch {
	case image != "":
		q.invalidParam("localcloud accepts code as ZipFile or S3Bucket/S3Key only (no container images)")
		return nil, false, false
	case bucket != "" && len(zipFile) > 0:
		q.invalidParam("Please do not provide other FunctionCode parameters when providing a ZipFile.")
		return nil, false, false
	case bucket != "":
		data, ok := c.s3Code(q, bucket, key)
		return data, false, ok
	case key != "":
		q.invalidParam("Please provide a source for function code.")
		return nil, false, false
	}
	return zipFile, true, true
}

// storeZip validates a zip, stores it by hash and returns CodeSha256 (base64) and size.
// direct: the zip came in the request (ZipFile), where Lambda's 50 MB limit applies; code
// from S3 is limited by its unzipped size only.
func (c *Cloud) storeZip(q *request, data []byte, direct bool) (sha string, size int64, ok bool) {
	if len(data) == 0 {
		q.invalidParam("Uploaded file must be a non-empty zip")
		return "", 0, false
	}
	if direct && len(data) > maxZipDirect {
		q.lambdaError(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", fmt.Sprintf("Request must be smaller than %d bytes for the %s operation", maxZipDirect*4/3, q.op))
		return "", 0, false
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		q.invalidParam("Could not unzip uploaded file. Please check your file, then try to upload again.")
		return "", 0, false
	}
	var unzipped uint64
	for _, f := range zr.File {
		unzipped += f.UncompressedSize64
	}
	if unzipped > maxUnzipped {
		q.invalidParam(fmt.Sprintf("Unzipped size must be smaller than %d bytes", maxUnzipped))
		return "", 0, false
	}
	sum := sha256.Sum256(data)
	path := c.zipPath(hex.EncodeToString(sum[:]))
	if _, err := os.Stat(path); err != nil {
		if err := writeFileAtomic(path, data); err != nil {
			q.lambdaError(http.StatusInternalServerError, "ServiceException", "store code: "+err.Error())
			return "", 0, false
		}
	}
	return base64.StdEncoding.EncodeToString(sum[:]), int64(len(data)), true
}

func (c *Cloud) zipPath(hexSha string) string {
	return filepath.Join(c.stateDir, "code", hexSha+".zip")
}

func shaHex(b64 string) string {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "invalid"
	}
	return hex.EncodeToString(b)
}

func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (c *Cloud) lambdaCreate(q *request) {
	var in createIn
	if !q.decode(&in) {
		return
	}
	if !functionNameRE.MatchString(in.FunctionName) {
		q.invalidParam("1 validation error detected: Value '" + in.FunctionName + "' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?")
		return
	}
	if in.PackageType != "" && in.PackageType != "Zip" {
		q.invalidParam("localcloud supports PackageType Zip only")
		return
	}
	if c.st.Functions[in.FunctionName] != nil {
		q.lambdaError(http.StatusConflict, "ResourceConflictException", "Function already exist: "+in.FunctionName)
		return
	}
	if in.Runtime == "" || in.Handler == "" {
		q.invalidParam("Runtime and Handler are mandatory parameters for functions created with Zip packages.")
		return
	}
	cfg := fnConfig{
		Runtime: in.Runtime, Handler: in.Handler, Role: in.Role, Description: in.Description,
		MemorySize: 128, Timeout: 3, Architectures: in.Architectures, Env: map[string]string{},
	}
	if in.MemorySize != nil {
		cfg.MemorySize = *in.MemorySize
	}
	if in.Timeout != nil {
		cfg.Timeout = *in.Timeout
	}
	if len(cfg.Architectures) == 0 {
		cfg.Architectures = []string{"x86_64"}
	}
	if in.Environment != nil && in.Environment.Variables != nil {
		cfg.Env = in.Environment.Variables
	}
	if !c.checkConfig(q, &cfg, true) {
		return
	}
	code, direct, ok := c.codeSource(q, in.Code.ZipFile, in.Code.S3Bucket, in.Code.S3Key, in.Code.ImageUri)
	if !ok {
		return
	}
	sha, size, ok := c.storeZip(q, code, direct)
	if !ok {
		return
	}
	cfg.CodeSha256, cfg.CodeSize = sha, size
	now := time.Now().UTC()
	f := &functionRec{
		Name: in.FunctionName, Region: q.region,
		Latest:       &versionRec{Version: "$LATEST", Config: cfg, LastModified: now, RevisionID: newRequestID()},
		ActiveAt:     now.Add(c.delays.Active),
		UpdateDoneAt: now.Add(c.delays.Active),
		Tags:         in.Tags,
	}
	f.fixup()
	c.st.Functions[f.Name] = f
	if in.Publish {
		c.publishLocked(f)
	}
	c.commitLocked()
	q.lambdaJSON(http.StatusCreated, c.configJSON(f, f.Latest, ""))
}

// configJSON renders a FunctionConfiguration. qual is the qualifier the caller used
// ("" for $LATEST via the unqualified name).
func (c *Cloud) configJSON(f *functionRec, v *versionRec, qual string) map[string]any {
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

func (c *Cloud) lambdaList(q *request) {
	qs := q.r.URL.Query()
	all := qs.Get("FunctionVersion") == "ALL"
	maxItems, _ := strconv.Atoi(qs.Get("MaxItems"))
	if maxItems <= 0 || maxItems > 50 {
		maxItems = 50
	}
	type item struct {
		key string
		f   *functionRec
		v   *versionRec
	}
	var items []item
	for _, f := range c.st.Functions {
		items = append(items, item{f.Name + "\x00", f, f.Latest})
		if all {
			for _, v := range f.Versions {
				items = append(items, item{fmt.Sprintf("%s\x00%010s", f.Name, v.Version), f, v})
			}
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
	start := 0
	if m := qs.Get("Marker"); m != "" {
		start, _ = strconv.Atoi(m)
		if start < 0 || start > len(items) {
			start = len(items)
		}
	}
	end := min(start+maxItems, len(items))
	out := []map[string]any{}
	for _, it := range items[start:end] {
		qual := ""
		if it.v.Version != "$LATEST" {
			qual = it.v.Version
		}
		out = append(out, c.configJSON(it.f, it.v, qual))
	}
	resp := map[string]any{"Functions": out}
	if end < len(items) {
		resp["NextMarker"] = strconv.Itoa(end)
	}
	q.lambdaJSON(http.StatusOK, resp)
}

func (c *Cloud) lambdaTags(q *request, op, arn string) {
	name, qual, ok := parseFunctionRef(arn)
	if !ok || !strings.HasPrefix(arn, "arn:") {
		q.invalidParam("Invalid resource ARN: " + arn)
		return
	}
	if qual != "" {
		q.invalidParam("Tags are not supported on function versions or aliases: " + arn)
		return
	}
	f := c.st.Functions[name]
	if f == nil {
		q.fnNotFound(arn)
		return
	}
	switch op {
	case "ListTags":
		q.lambdaJSON(http.StatusOK, map[string]any{"Tags": f.Tags})
	case "TagResource":
		var in struct{ Tags map[string]string }
		if !q.decode(&in) {
			return
		}
		for k, v := range in.Tags {
			f.Tags[k] = v
		}
		c.commitLocked()
		q.noContent(http.StatusNoContent)
	case "UntagResource":
		for _, k := range q.r.URL.Query()["tagKeys"] {
			delete(f.Tags, k)
		}
		c.commitLocked()
		q.noContent(http.StatusNoContent)
	}
}

func (c *Cloud) conflictIfBusy(q *request, f *functionRec) bool {
	now := time.Now()
	if f.state(now) == "Pending" {
		q.lambdaError(http.StatusConflict, "ResourceConflictException", "The operation cannot be performed at this time. The function is currently in the following state: Pending")
		return true
	}
	if f.updating(now) {
		q.lambdaError(http.StatusConflict, "ResourceConflictException", "The operation cannot be performed at this time. An update is in progress for resource: "+f.arn())
		return true
	}
	return false
}

func (c *Cloud) checkRevision(q *request, rev, want string) bool {
	if rev != "" && rev != want {
		q.lambdaError(http.StatusPreconditionFailed, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
		return false
	}
	return true
}

// publishLocked publishes $LATEST, or returns the newest version when nothing changed.
func (c *Cloud) publishLocked(f *functionRec) *versionRec {
	if n := f.NextVersion - 1; n >= 1 {
		if last := f.Versions[strconv.Itoa(n)]; last != nil && reflect.DeepEqual(last.Config, f.Latest.Config) {
			return last
		}
	}
	v := &versionRec{
		Version: strconv.Itoa(f.NextVersion), Config: f.Latest.Config,
		LastModified: time.Now().UTC(), RevisionID: newRequestID(),
	}
	v.Config.Env = copyMap(v.Config.Env)
	v.Config.Architectures = append([]string(nil), v.Config.Architectures...)
	f.Versions[v.Version] = v
	f.NextVersion++
	return v
}

func (c *Cloud) lambdaFunctionOp(q *request, op string, f *functionRec, qual string, args []string) {
	switch op {
	case "GetFunction", "GetFunctionConfiguration":
		v, ok := f.resolve(qual)
		if !ok {
			q.fnNotFound(f.qualifiedARN(qual))
			return
		}
		if qual == "$LATEST" {
			qual = ""
		}
		cfg := c.configJSON(f, v, qual)
		if op == "GetFunctionConfiguration" {
			q.lambdaJSON(http.StatusOK, cfg)
			return
		}
		q.lambdaJSON(http.StatusOK, map[string]any{
			"Configuration": cfg,
			"Code": map[string]string{
				"RepositoryType": "S3",
				"Location":       c.endpoint + "/_localcloud/code/" + shaHex(v.Config.CodeSha256) + ".zip",
			},
			"Tags": f.Tags,
		})
	case "DeleteFunction":
		if qual == "" {
			delete(c.st.Functions, f.Name)
			c.exec.invalidate(f.Name, "")
			c.gcZipsLocked()
			c.commitLocked()
			q.noContent(http.StatusNoContent)
			return
		}
		if qual == "$LATEST" {
			q.invalidParam("$LATEST version cannot be deleted without deleting the function.")
			return
		}
		if f.Versions[qual] == nil {
			if f.Aliases[qual] != nil {
				q.invalidParam("Deletion of aliases is not supported by DeleteFunction; use DeleteAlias.")
				return
			}
			q.fnNotFound(f.qualifiedARN(qual))
			return
		}
		var refs []string
		for _, a := range f.Aliases {
			if a.FunctionVersion == qual {
				refs = append(refs, a.Name)
			}
		}
		if len(refs) > 0 {
			sort.Strings(refs)
			q.lambdaError(http.StatusConflict, "ResourceConflictException", "Unable to delete version because the following aliases reference it: ["+strings.Join(refs, ", ")+"]")
			return
		}
		delete(f.Versions, qual)
		delete(f.Policies, qual)
		c.exec.invalidate(f.Name, qual)
		c.gcZipsLocked()
		c.commitLocked()
		q.noContent(http.StatusNoContent)
	case "UpdateFunctionCode":
		var in struct {
			ZipFile         []byte
			S3Bucket        string
			S3Key           string
			S3ObjectVersion string
			ImageUri        string
			Publish         bool
			DryRun          bool
			RevisionId      string
			Architectures   []string
		}
		if !q.decode(&in) {
			return
		}
		if !c.checkRevision(q, in.RevisionId, f.Latest.RevisionID) || c.conflictIfBusy(q, f) {
			return
		}
		cfg := f.Latest.Config
		if len(in.Architectures) > 0 {
			cfg.Architectures = in.Architectures
			if len(cfg.Architectures) != 1 || (cfg.Architectures[0] != "x86_64" && cfg.Architectures[0] != "arm64") {
				q.invalidParam("Architectures must be one of [x86_64] or [arm64]")
				return
			}
		}
		code, direct, ok := c.codeSource(q, in.ZipFile, in.S3Bucket, in.S3Key, in.ImageUri)
		if !ok {
			return
		}
		sha, size, ok := c.storeZip(q, code, direct)
		if !ok {
			return
		}
		if in.DryRun {
			out := c.configJSON(f, f.Latest, "")
			out["CodeSha256"], out["CodeSize"] = sha, size
			q.lambdaJSON(http.StatusOK, out)
			return
		}
		cfg.CodeSha256, cfg.CodeSize = sha, size
		c.applyLatest(f, cfg)
		if in.Publish {
			c.publishLocked(f)
		}
		c.commitLocked()
		q.lambdaJSON(http.StatusOK, c.configJSON(f, f.Latest, ""))
	case "UpdateFunctionConfiguration":
		var in struct {
			Runtime     *string
			Role        *string
			Handler     *string
			Description *string
			Timeout     *int
			MemorySize  *int
			Environment *envIn
			RevisionId  string
		}
		if !q.decode(&in) {
			return
		}
		if !c.checkRevision(q, in.RevisionId, f.Latest.RevisionID) || c.conflictIfBusy(q, f) {
			return
		}
		cfg := f.Latest.Config
		cfg.Env = copyMap(cfg.Env)
		if in.Runtime != nil {
			cfg.Runtime = *in.Runtime
		}
		if in.Role != nil {
			cfg.Role = *in.Role
		}
		if in.Handler != nil {
			cfg.Handler = *in.Handler
		}
		if in.Description != nil {
			cfg.Description = *in.Description
		}
		if in.Timeout != nil {
			cfg.Timeout = *in.Timeout
		}
		if in.MemorySize != nil {
			cfg.MemorySize = *in.MemorySize
		}
		if in.Environment != nil {
			cfg.Env = in.Environment.Variables
			if cfg.Env == nil {
				cfg.Env = map[string]string{}
			}
		}
		if !c.checkConfig(q, &cfg, in.Role != nil) {
			return
		}
		c.applyLatest(f, cfg)
		c.commitLocked()
		q.lambdaJSON(http.StatusOK, c.configJSON(f, f.Latest, ""))
	case "PublishVersion":
		var in struct {
			CodeSha256  string
			Description string
			RevisionId  string
		}
		if !q.decode(&in) {
			return
		}
		if !c.checkRevision(q, in.RevisionId, f.Latest.RevisionID) || c.conflictIfBusy(q, f) {
			return
		}
		if in.CodeSha256 != "" && in.CodeSha256 != f.Latest.Config.CodeSha256 {
			q.lambdaError(http.StatusPreconditionFailed, "PreconditionFailedException", "CodeSHA256 ("+in.CodeSha256+") is different from current CodeSHA256 in $LATEST ("+f.Latest.Config.CodeSha256+"). Please try again with the CodeSHA256 in $LATEST.")
			return
		}
		// Unchanged code and configuration return the newest version (whatever the
		// Description), as Lambda does; c.mu makes concurrent calls see each other.
		before := f.NextVersion
		v := c.publishLocked(f)
		if f.NextVersion != before {
			v.PublishedDescription = in.Description
			c.commitLocked()
		}
		q.lambdaJSON(http.StatusCreated, c.configJSON(f, v, v.Version))
	case "ListVersionsByFunction":
		qs := q.r.URL.Query()
		vs := []*versionRec{f.Latest}
		nums := make([]int, 0, len(f.Versions))
		for k := range f.Versions {
			n, _ := strconv.Atoi(k)
			nums = append(nums, n)
		}
		sort.Ints(nums)
		for _, n := range nums {
			vs = append(vs, f.Versions[strconv.Itoa(n)])
		}
		start, end, next := pageIndex(len(vs), qs.Get("Marker"), qs.Get("MaxItems"), 50)
		out := []map[string]any{}
		for _, v := range vs[start:end] {
			qual := v.Version
			if qual == "$LATEST" {
				qual = "$LATEST"
			}
			out = append(out, c.configJSON(f, v, qual))
		}
		resp := map[string]any{"Versions": out}
		if next != "" {
			resp["NextMarker"] = next
		}
		q.lambdaJSON(http.StatusOK, resp)
	case "CreateAlias", "GetAlias", "UpdateAlias", "DeleteAlias", "ListAliases":
		c.lambdaAlias(q, op, f, args)
	case "AddPermission", "GetPolicy", "RemovePermission":
		c.lambdaPolicy(q, op, f, qual, args)
	default:
		q.lambdaError(http.StatusNotFound, "UnknownOperationException", "Unknown operation "+op)
	}
}

// applyLatest installs a new $LATEST configuration and starts the update window.
func (c *Cloud) applyLatest(f *functionRec, cfg fnConfig) {
	now := time.Now().UTC()
	f.Latest = &versionRec{Version: "$LATEST", Config: cfg, LastModified: now, RevisionID: newRequestID()}
	f.UpdateDoneAt = now.Add(c.delays.Update)
	c.exec.invalidate(f.Name, "$LATEST")
	c.gcZipsLocked()
}

// pageIndex pages a list by a numeric marker.
func pageIndex(n int, marker, maxItems string, def int) (start, end int, next string) {
	max, _ := strconv.Atoi(maxItems)
	if max <= 0 || max > def {
		max = def
	}
	if marker != "" {
		start, _ = strconv.Atoi(marker)
		if start < 0 || start > n {
			start = n
		}
	}
	end = min(start+max, n)
	if end < n {
		next = strconv.Itoa(end)
	}
	return start, end, next
}

func (c *Cloud) aliasJSON(f *functionRec, a *aliasRec) map[string]any {
	out := map[string]any{
		"AliasArn":        f.qualifiedARN(a.Name),
		"Name":            a.Name,
		"FunctionVersion": a.FunctionVersion,
		"Description":     a.Description,
		"RevisionId":      a.RevisionID,
	}
	if len(a.Weights) > 0 {
		out["RoutingConfig"] = map[string]any{"AdditionalVersionWeights": a.Weights}
	}
	return out
}

func (c *Cloud) lambdaAlias(q *request, op string, f *functionRec, args []string) {
	type aliasIn struct {
		Name            string
		FunctionVersion *string
		Description     *string
		RevisionId      string
		RoutingConfig   *struct {
			AdditionalVersionWeights map[string]float64
		}
	}
	var name string
	if len(args) > 0 {
		name = args[0]
	}
	getAlias := func() *aliasRec {
		a := f.Aliases[name]
		if a == nil {
			q.lambdaError(http.StatusNotFound, "ResourceNotFoundException", "Cannot find alias arn: "+f.qualifiedARN(name))
		}
		return a
	}
	checkVersion := func(v string) bool {
		if v != "$LATEST" && f.Versions[v] == nil {
			q.fnNotFound(f.qualifiedARN(v))
			return false
		}
		return true
	}
	switch op {
	case "CreateAlias":
		var in aliasIn
		if !q.decode(&in) {
			return
		}
		if !aliasNameRE.MatchString(in.Name) || regexp.MustCompile(`^[0-9]+$`).MatchString(in.Name) || in.Name == "$LATEST" {
			q.invalidParam("1 validation error detected: Value '" + in.Name + "' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)")
			return
		}
		if in.FunctionVersion == nil || !checkVersion(*in.FunctionVersion) {
			if in.FunctionVersion == nil {
				q.invalidParam("FunctionVersion is required")
			}
			return
		}
		if f.Aliases[in.Name] != nil {
			q.lambdaError(http.StatusConflict, "ResourceConflictException", "Alias already exists: "+f.qualifiedARN(in.Name))
			return
		}
		a := &aliasRec{Name: in.Name, FunctionVersion: *in.FunctionVersion, RevisionID: newRequestID()}
		if in.Description != nil {
			a.Description = *in.Description
		}
		if in.RoutingConfig != nil {
			a.Weights = in.RoutingConfig.AdditionalVersionWeights
		}
		f.Aliases[a.Name] = a
		c.commitLocked()
		q.lambdaJSON(http.StatusCreated, c.aliasJSON(f, a))
	case "GetAlias":
		if a := getAlias(); a != nil {
			q.lambdaJSON(http.StatusOK, c.aliasJSON(f, a))
		}
	case "UpdateAlias":
		a := getAlias()
		if a == nil {
			return
		}
		var in aliasIn
		if !q.decode(&in) || !c.checkRevision(q, in.RevisionId, a.RevisionID) {
			return
		}
		if in.FunctionVersion != nil {
			if !checkVersion(*in.FunctionVersion) {
				return
			}
			a.FunctionVersion = *in.FunctionVersion
		}
		if in.Description != nil {
			a.Description = *in.Description
		}
		if in.RoutingConfig != nil {
			a.Weights = in.RoutingConfig.AdditionalVersionWeights
		}
		a.RevisionID = newRequestID()
		c.commitLocked()
		q.lambdaJSON(http.StatusOK, c.aliasJSON(f, a))
	case "DeleteAlias":
		if f.Aliases[name] != nil {
			delete(f.Aliases, name)
			delete(f.Policies, name)
			c.commitLocked()
		}
		q.noContent(http.StatusNoContent)
	case "ListAliases":
		qs := q.r.URL.Query()
		var list []*aliasRec
		for _, k := range sortedKeys(f.Aliases) {
			a := f.Aliases[k]
			if fv := qs.Get("FunctionVersion"); fv == "" || fv == a.FunctionVersion {
				list = append(list, a)
			}
		}
		start, end, next := pageIndex(len(list), qs.Get("Marker"), qs.Get("MaxItems"), 50)
		out := []map[string]any{}
		for _, a := range list[start:end] {
			out = append(out, c.aliasJSON(f, a))
		}
		resp := map[string]any{"Aliases": out}
		if next != "" {
			resp["NextMarker"] = next
		}
		q.lambdaJSON(http.StatusOK, resp)
	}
}

func (s *statementRec) doc() map[string]any {
	var principal any = map[string]string{"Service": s.Principal}
	switch {
	case s.Principal == "*":
		principal = "*"
	case regexp.MustCompile(`^\d{12}$`).MatchString(s.Principal):
		principal = map[string]string{"AWS": "arn:aws:iam::" + s.Principal + ":root"}
	case strings.HasPrefix(s.Principal, "arn:"):
		principal = map[string]string{"AWS": s.Principal}
	}
	d := map[string]any{"Sid": s.Sid, "Effect": "Allow", "Principal": principal, "Action": s.Action, "Resource": s.Resource}
	cond := map[string]any{}
	if s.SourceArn != "" {
		cond["ArnLike"] = map[string]string{"AWS:SourceArn": s.SourceArn}
	}
	if s.SourceAccount != "" {
		cond["StringEquals"] = map[string]string{"AWS:SourceAccount": s.SourceAccount}
	}
	if len(cond) > 0 {
		d["Condition"] = cond
	}
	return d
}

func (c *Cloud) lambdaPolicy(q *request, op string, f *functionRec, qual string, args []string) {
	if qual != "" && qual != "$LATEST" && f.Versions[qual] == nil && f.Aliases[qual] == nil {
		q.fnNotFound(f.qualifiedARN(qual))
		return
	}
	if qual == "$LATEST" {
		qual = ""
	}
	switch op {
	case "AddPermission":
		var in struct {
			StatementId, Action, Principal, SourceArn, SourceAccount, RevisionId string
		}
		if !q.decode(&in) {
			return
		}
		if !regexp.MustCompile(`^[a-zA-Z0-9-_.]{1,100}$`).MatchString(in.StatementId) {
			q.invalidParam("1 validation error detected: Value '" + in.StatementId + "' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_.]+)")
			return
		}
		if in.Action == "" || in.Principal == "" {
			q.invalidParam("Action and Principal are required")
			return
		}
		if !c.checkRevision(q, in.RevisionId, f.PolicyRevs[qual]) {
			return
		}
		for _, s := range f.Policies[qual] {
			if s.Sid == in.StatementId {
				q.lambdaError(http.StatusConflict, "ResourceConflictException", "The statement id ("+in.StatementId+") provided already exists. Please provide a new statement id, or remove the existing statement.")
				return
			}
		}
		s := &statementRec{Sid: in.StatementId, Action: in.Action, Principal: in.Principal, SourceArn: in.SourceArn, SourceAccount: in.SourceAccount, Resource: f.qualifiedARN(qual)}
		f.Policies[qual] = append(f.Policies[qual], s)
		f.PolicyRevs[qual] = newRequestID()
		c.commitLocked()
		b, _ := json.Marshal(s.doc())
		q.lambdaJSON(http.StatusCreated, map[string]string{"Statement": string(b)})
	case "GetPolicy":
		stmts := f.Policies[qual]
		if len(stmts) == 0 {
			q.lambdaError(http.StatusNotFound, "ResourceNotFoundException", "The resource you requested does not exist.")
			return
		}
		docs := make([]any, 0, len(stmts))
		for _, s := range stmts {
			docs = append(docs, s.doc())
		}
		b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Id": "default", "Statement": docs})
		q.lambdaJSON(http.StatusOK, map[string]string{"Policy": string(b), "RevisionId": f.PolicyRevs[qual]})
	case "RemovePermission":
		sid := ""
		if len(args) > 0 {
			sid = args[0]
		}
		if !c.checkRevision(q, q.r.URL.Query().Get("RevisionId"), f.PolicyRevs[qual]) {
			return
		}
		stmts := f.Policies[qual]
		for i, s := range stmts {
			if s.Sid == sid {
				f.Policies[qual] = append(stmts[:i:i], stmts[i+1:]...)
				if len(f.Policies[qual]) == 0 {
					delete(f.Policies, qual)
				}
				f.PolicyRevs[qual] = newRequestID()
				c.commitLocked()
				q.noContent(http.StatusNoContent)
				return
			}
		}
		q.lambdaError(http.StatusNotFound, "ResourceNotFoundException", "Statement "+sid+" is not found in resource policy.")
	}
}

// gcZipsLocked removes stored zips no function version refers to.
func (c *Cloud) gcZipsLocked() {
	keep := map[string]bool{}
	for _, f := range c.st.Functions {
		keep[shaHex(f.Latest.Config.CodeSha256)] = true
		for _, v := range f.Versions {
			keep[shaHex(v.Config.CodeSha256)] = true
		}
	}
	ents, _ := os.ReadDir(filepath.Join(c.stateDir, "code"))
	for _, e := range ents {
		h := strings.TrimSuffix(e.Name(), ".zip")
		if strings.HasSuffix(e.Name(), ".zip") && !keep[h] {
			_ = os.Remove(filepath.Join(c.stateDir, "code", e.Name()))
			c.exec.dropTask(h)
		}
	}
}
