package lambda

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/localcloud/arns"
	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// Ops is Lambda's operation table.
func (r *Room) Ops() []core.Op {
	return []core.Op{
		core.Write("CreateFunction", r.locked(r.createFunction)),
		core.Read("ListFunctions", r.locked(r.listFunctions)),
		core.Read("GetFunction", r.onFunction(r.getFunction)),
		core.Read("GetFunctionConfiguration", r.onFunction(r.getFunctionConfiguration)),
		core.Write("DeleteFunction", r.onFunction(r.deleteFunction)),
		core.Write("UpdateFunctionCode", r.onFunction(r.updateFunctionCode)),
		core.Write("UpdateFunctionConfiguration", r.onFunction(r.updateFunctionConfiguration)),
		core.Write("PublishVersion", r.onFunction(r.publishVersion)),
		core.Read("ListVersionsByFunction", r.onFunction(r.listVersionsByFunction)),
		core.Write("CreateAlias", r.onFunction(r.createAlias)),
		core.Read("ListAliases", r.onFunction(r.listAliases)),
		core.Read("GetAlias", r.onAlias(getAlias)),
		core.Write("UpdateAlias", r.onAlias(r.updateAlias)),
		core.Write("DeleteAlias", r.onFunction(r.deleteAlias)),
		core.Write("AddPermission", r.onPolicy(r.addPermission)),
		core.Read("GetPolicy", r.onPolicy(getPolicy)),
		core.Write("RemovePermission", r.onPolicy(r.removePermission)),
		core.Write("TagResource", r.onTagged(r.tagResource)),
		core.Write("UntagResource", r.onTagged(r.untagResource)),
		core.Read("ListTags", r.onTagged(listTags)),
		core.Read("Invoke", r.invoke),
	}
}

// locked runs h under the room's lock.
func (r *Room) locked(h func(q *core.Request)) func(*core.Request) {
	return func(q *core.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		h(q)
	}
}

// onFunction runs h under the lock on the function the path names, with the qualifier of the
// name or the Qualifier parameter.
func (r *Room) onFunction(h func(q *core.Request, f *functionRec, qual string)) func(*core.Request) {
	return r.locked(func(q *core.Request) {
		name, qual, ok := arns.ParseFunctionRef(q.Args[0])
		if !ok {
			invalidParam(q, "1 validation error detected: Value '"+q.Args[0]+"' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern")
			return
		}
		if qq := q.R.URL.Query().Get("Qualifier"); qq != "" {
			if qual != "" && qual != qq {
				invalidParam(q, "The derived qualifier from the function name does not match the specified qualifier.")
				return
			}
			qual = qq
		}
		f := r.st.Functions[name]
		if f == nil {
			fnNotFound(q, "arn:aws:lambda:"+q.Region+":"+core.AccountID+":function:"+name)
			return
		}
		h(q, f, qual)
	})
}

// pathArg is the path's second argument (an alias name, a statement id), "" when absent.
func pathArg(q *core.Request) string {
	if len(q.Args) > 1 {
		return q.Args[1]
	}
	return ""
}

// onAlias is onFunction on the alias the path names.
func (r *Room) onAlias(h func(q *core.Request, f *functionRec, a *aliasRec)) func(*core.Request) {
	return r.onFunction(func(q *core.Request, f *functionRec, _ string) {
		name := pathArg(q)
		a := f.Aliases[name]
		if a == nil {
			lambdaError(q, http.StatusNotFound, "ResourceNotFoundException", "Cannot find alias arn: "+f.qualifiedARN(name))
			return
		}
		h(q, f, a)
	})
}

// onPolicy is onFunction for the resource policy of a qualifier ("" = the function's).
func (r *Room) onPolicy(h func(q *core.Request, f *functionRec, qual string)) func(*core.Request) {
	return r.onFunction(func(q *core.Request, f *functionRec, qual string) {
		if qual != "" && qual != "$LATEST" && f.Versions[qual] == nil && f.Aliases[qual] == nil {
			fnNotFound(q, f.qualifiedARN(qual))
			return
		}
		if qual == "$LATEST" {
			qual = ""
		}
		h(q, f, qual)
	})
}

// onTagged runs h under the lock on the function a tagging call's ARN names.
func (r *Room) onTagged(h func(q *core.Request, f *functionRec)) func(*core.Request) {
	return r.locked(func(q *core.Request) {
		arn := q.Args[0]
		name, qual, ok := arns.ParseFunctionRef(arn)
		if !ok || !strings.HasPrefix(arn, "arn:") {
			invalidParam(q, "Invalid resource ARN: "+arn)
			return
		}
		if qual != "" {
			invalidParam(q, "Tags are not supported on function versions or aliases: "+arn)
			return
		}
		f := r.st.Functions[name]
		if f == nil {
			fnNotFound(q, arn)
			return
		}
		h(q, f)
	})
}

func listTags(q *core.Request, f *functionRec) {
	q.RestJSON(http.StatusOK, map[string]any{"Tags": f.Tags})
}

func (r *Room) tagResource(q *core.Request, f *functionRec) {
	var in struct{ Tags map[string]string }
	if !decode(q, &in) {
		return
	}
	for k, v := range in.Tags {
		f.Tags[k] = v
	}
	r.commitLocked()
	q.NoContent(http.StatusNoContent)
}

func (r *Room) untagResource(q *core.Request, f *functionRec) {
	for _, k := range q.R.URL.Query()["tagKeys"] {
		delete(f.Tags, k)
	}
	r.commitLocked()
	q.NoContent(http.StatusNoContent)
}

// resolved is the version a Get call's qualifier names, and the qualifier its ARN shows.
func resolved(q *core.Request, f *functionRec, qual string) (*versionRec, string, bool) {
	v, ok := f.resolve(qual)
	if !ok {
		fnNotFound(q, f.qualifiedARN(qual))
		return nil, "", false
	}
	if qual == "$LATEST" {
		qual = ""
	}
	return v, qual, true
}

func (r *Room) getFunctionConfiguration(q *core.Request, f *functionRec, qual string) {
	if v, qual, ok := resolved(q, f, qual); ok {
		q.RestJSON(http.StatusOK, r.configJSON(f, v, qual))
	}
}

func (r *Room) getFunction(q *core.Request, f *functionRec, qual string) {
	v, qual, ok := resolved(q, f, qual)
	if !ok {
		return
	}
	q.RestJSON(http.StatusOK, map[string]any{
		"Configuration": r.configJSON(f, v, qual),
		"Code": map[string]string{
			"RepositoryType": "S3",
			"Location":       r.cloud.Endpoint() + "/_localcloud/code/" + shaHex(v.Config.CodeSha256) + ".zip",
		},
		"Tags": f.Tags,
	})
}

func (r *Room) deleteFunction(q *core.Request, f *functionRec, qual string) {
	if qual == "" {
		delete(r.st.Functions, f.Name)
		r.exec.invalidate(f.Name, "")
		r.gcZipsLocked()
		r.commitLocked()
		q.NoContent(http.StatusNoContent)
		return
	}
	if qual == "$LATEST" {
		invalidParam(q, "$LATEST version cannot be deleted without deleting the function.")
		return
	}
	if f.Versions[qual] == nil {
		if f.Aliases[qual] != nil {
			invalidParam(q, "Deletion of aliases is not supported by DeleteFunction; use DeleteAlias.")
			return
		}
		fnNotFound(q, f.qualifiedARN(qual))
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
		lambdaError(q, http.StatusConflict, "ResourceConflictException", "Unable to delete version because the following aliases reference it: ["+strings.Join(refs, ", ")+"]")
		return
	}
	delete(f.Versions, qual)
	delete(f.Policies, qual)
	r.exec.invalidate(f.Name, qual)
	r.gcZipsLocked()
	r.commitLocked()
	q.NoContent(http.StatusNoContent)
}

func (r *Room) updateFunctionCode(q *core.Request, f *functionRec, _ string) {
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
	if !decode(q, &in) {
		return
	}
	if !checkRevision(q, in.RevisionId, f.Latest.RevisionID) || conflictIfBusy(q, f) {
		return
	}
	cfg := f.Latest.Config
	if len(in.Architectures) > 0 {
		cfg.Architectures = in.Architectures
		if len(cfg.Architectures) != 1 || (cfg.Architectures[0] != "x86_64" && cfg.Architectures[0] != "arm64") {
			invalidParam(q, "Architectures must be one of [x86_64] or [arm64]")
			return
		}
	}
	code, direct, ok := r.codeSource(q, in.ZipFile, in.S3Bucket, in.S3Key, in.ImageUri)
	if !ok {
		return
	}
	sha, size, ok := r.storeZip(q, code, direct)
	if !ok {
		return
	}
	if in.DryRun {
		out := r.configJSON(f, f.Latest, "")
		out["CodeSha256"], out["CodeSize"] = sha, size
		q.RestJSON(http.StatusOK, out)
		return
	}
	cfg.CodeSha256, cfg.CodeSize = sha, size
	r.applyLatest(f, cfg)
	if in.Publish {
		publishLocked(f)
	}
	r.commitLocked()
	q.RestJSON(http.StatusOK, r.configJSON(f, f.Latest, ""))
}

func (r *Room) updateFunctionConfiguration(q *core.Request, f *functionRec, _ string) {
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
	if !decode(q, &in) {
		return
	}
	if !checkRevision(q, in.RevisionId, f.Latest.RevisionID) || conflictIfBusy(q, f) {
		return
	}
	cfg := f.Latest.Config
	cfg.Env = core.CopyMap(cfg.Env)
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
	if !r.checkConfig(q, &cfg, in.Role != nil) {
		return
	}
	r.applyLatest(f, cfg)
	r.commitLocked()
	q.RestJSON(http.StatusOK, r.configJSON(f, f.Latest, ""))
}

func (r *Room) publishVersion(q *core.Request, f *functionRec, _ string) {
	var in struct {
		CodeSha256  string
		Description string
		RevisionId  string
	}
	if !decode(q, &in) {
		return
	}
	if !checkRevision(q, in.RevisionId, f.Latest.RevisionID) || conflictIfBusy(q, f) {
		return
	}
	if in.CodeSha256 != "" && in.CodeSha256 != f.Latest.Config.CodeSha256 {
		lambdaError(q, http.StatusPreconditionFailed, "PreconditionFailedException", "CodeSHA256 ("+in.CodeSha256+") is different from current CodeSHA256 in $LATEST ("+f.Latest.Config.CodeSha256+"). Please try again with the CodeSHA256 in $LATEST.")
		return
	}
	// Unchanged code and configuration return the newest version (whatever the
	// Description), as Lambda does; r.mu makes concurrent calls see each other.
	before := f.NextVersion
	v := publishLocked(f)
	if f.NextVersion != before {
		v.PublishedDescription = in.Description
		r.commitLocked()
	}
	q.RestJSON(http.StatusCreated, r.configJSON(f, v, v.Version))
}

func (r *Room) listVersionsByFunction(q *core.Request, f *functionRec, _ string) {
	qs := q.R.URL.Query()
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
	start, end, next := core.PageIndex(len(vs), qs.Get("Marker"), qs.Get("MaxItems"), 50)
	out := []map[string]any{}
	for _, v := range vs[start:end] {
		qual := v.Version
		if qual == "$LATEST" {
			qual = "$LATEST"
		}
		out = append(out, r.configJSON(f, v, qual))
	}
	resp := map[string]any{"Versions": out}
	if next != "" {
		resp["NextMarker"] = next
	}
	q.RestJSON(http.StatusOK, resp)
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
func (r *Room) checkConfig(q *core.Request, cfg *fnConfig, checkRole bool) bool {
	if cfg.Runtime != "" && !allowedRuntimes[cfg.Runtime] {
		if deprecatedRuntimes[cfg.Runtime] {
			invalidParam(q, "The runtime parameter of "+cfg.Runtime+" is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.")
		} else {
			invalidParam(q, "Value "+cfg.Runtime+" at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: "+strings.Join(core.SortedKeys(allowedRuntimes), ", ")+" or be a valid ARN")
		}
		return false
	}
	if cfg.MemorySize < 128 || cfg.MemorySize > 10240 {
		invalidParam(q, fmt.Sprintf("'%d' at 'memorySize' failed to satisfy constraint: Member must have value between 128 and 10240, inclusive", cfg.MemorySize))
		return false
	}
	if cfg.Timeout < 1 || cfg.Timeout > 900 {
		invalidParam(q, fmt.Sprintf("'%d' at 'timeout' failed to satisfy constraint: Member must have value between 1 and 900, inclusive", cfg.Timeout))
		return false
	}
	if len(cfg.Architectures) != 1 || (cfg.Architectures[0] != "x86_64" && cfg.Architectures[0] != "arm64") {
		invalidParam(q, "1 validation error detected: Value at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1, and Member must satisfy enum value set: [x86_64, arm64]")
		return false
	}
	if len(cfg.Description) > 256 {
		invalidParam(q, "'description' must be at most 256 characters")
		return false
	}
	envSize := 0
	for k, v := range cfg.Env {
		envSize += len(k) + len(v)
		if awsapi.IsLambdaReservedEnv(k) {
			invalidParam(q, "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: "+k)
			return false
		}
	}
	if envSize > 4096 {
		invalidParam(q, "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit.")
		return false
	}
	if checkRole && (r.roles == nil || !r.roles.RoleUsable(cfg.Role)) {
		invalidParam(q, "The role defined for the function cannot be assumed by Lambda.")
		return false
	}
	return true
}

func (r *Room) createFunction(q *core.Request) {
	var in createIn
	if !decode(q, &in) {
		return
	}
	if !arns.ValidFunctionName(in.FunctionName) {
		invalidParam(q, "1 validation error detected: Value '"+in.FunctionName+"' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?")
		return
	}
	if in.PackageType != "" && in.PackageType != "Zip" {
		invalidParam(q, "localcloud supports PackageType Zip only")
		return
	}
	if r.st.Functions[in.FunctionName] != nil {
		lambdaError(q, http.StatusConflict, "ResourceConflictException", "Function already exist: "+in.FunctionName)
		return
	}
	if in.Runtime == "" || in.Handler == "" {
		invalidParam(q, "Runtime and Handler are mandatory parameters for functions created with Zip packages.")
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
	if !r.checkConfig(q, &cfg, true) {
		return
	}
	code, direct, ok := r.codeSource(q, in.Code.ZipFile, in.Code.S3Bucket, in.Code.S3Key, in.Code.ImageUri)
	if !ok {
		return
	}
	sha, size, ok := r.storeZip(q, code, direct)
	if !ok {
		return
	}
	cfg.CodeSha256, cfg.CodeSize = sha, size
	now := time.Now().UTC()
	f := &functionRec{
		Name: in.FunctionName, Region: q.Region,
		Latest:       &versionRec{Version: "$LATEST", Config: cfg, LastModified: now, RevisionID: core.NewRequestID()},
		ActiveAt:     now.Add(r.cloud.Delays().Active),
		UpdateDoneAt: now.Add(r.cloud.Delays().Active),
		Tags:         in.Tags,
	}
	f.fixup()
	r.st.Functions[f.Name] = f
	if in.Publish {
		publishLocked(f)
	}
	r.commitLocked()
	q.RestJSON(http.StatusCreated, r.configJSON(f, f.Latest, ""))
}

func (r *Room) listFunctions(q *core.Request) {
	qs := q.R.URL.Query()
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
	for _, f := range r.st.Functions {
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
		out = append(out, r.configJSON(it.f, it.v, qual))
	}
	resp := map[string]any{"Functions": out}
	if end < len(items) {
		resp["NextMarker"] = strconv.Itoa(end)
	}
	q.RestJSON(http.StatusOK, resp)
}
