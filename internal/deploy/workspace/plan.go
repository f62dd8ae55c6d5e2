package workspace

import (
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
	"github.com/rudderctl/rudderctl/internal/stack"
	"github.com/rudderctl/rudderctl/internal/workspace/serve"
)

// The actions of the workspace's own changes (the AWS calls they make); the role and the
// log group are the shared kinds' (internal/deploy/kinds).
const (
	CreateFunction    engine.Action = "CreateFunction"
	TagFunction       engine.Action = "TagFunction"
	UpdateCode        engine.Action = "UpdateFunctionCode"
	UpdateConfig      engine.Action = "UpdateFunctionConfiguration"
	PublishVersion    engine.Action = "PublishVersion"
	CreateAlias       engine.Action = "CreateAlias"
	UpdateAlias       engine.Action = "UpdateAlias"
	AddPermission     engine.Action = "AddPermission"
	RemovePermission  engine.Action = "RemovePermission"
	CreateIntegration engine.Action = "CreateIntegration"
	UpdateIntegration engine.Action = "UpdateIntegration"
	CreateRoute       engine.Action = "CreateRoute"
	UpdateRoute       engine.Action = "UpdateRoute"
	DeleteRoute       engine.Action = "DeleteRoute"
	DeleteIntegration engine.Action = "DeleteIntegration"
	DeleteFunction    engine.Action = "DeleteFunction"
)

func init() {
	engine.RegisterVerb(PublishVersion, engine.Create)
	engine.RegisterVerb(AddPermission, engine.Create)
	engine.RegisterVerb(RemovePermission, engine.Delete)
}

// desired is what the stack should have.
type desired struct {
	Names
	Region, Account string
	Config          fnConfig
	Zip             []byte
	CodeSha256      string
	Retention       int32
	Secret          string
	Token           string
	// Description of a published version: the workspace id and the bundle's hash, what
	// `status` shows as the workspace's version.
	Description string
	APIID       string
}

func (d *desired) aliasARN(fnARN string) string { return fnARN + ":" + AliasName }

// ErrNoTransformer is the refusal when the stack has no transformer API to route on.
type ErrNoTransformer struct{ Stack string }

func (e *ErrNoTransformer) Error() string {
	return fmt.Sprintf("stack %q has no transformer yet: the workspace is served on the transformer's HTTP API, under its secret path prefix; deploy the transformer first (rudderctl deploy transformer --lambda --stack %s ...), then the workspace", e.Stack, e.Stack)
}

// environment is the function's environment: the token and the generated write keys kept
// from what the function has (generated once per stack), new ones for the rest.
func environment(o *observed, secret string, generated []string) (env map[string]string, err error) {
	var old map[string]string
	if o.Func != nil {
		old = o.Func.Config.Env
	}
	token := old[serve.EnvToken]
	if token == "" {
		if token, err = newSecretValue("workspace token"); err != nil {
			return nil, err
		}
	}
	env = map[string]string{serve.EnvToken: token, serve.EnvPathPrefix: "/" + secret}
	if len(generated) > 0 {
		keys := map[string]string{}
		var kept map[string]string
		_ = json.Unmarshal([]byte(old[serve.EnvWriteKeys]), &kept)
		for _, s := range generated {
			if k := kept[s]; k != "" {
				keys[s] = k
				continue
			}
			if keys[s], err = newWriteKey(); err != nil {
				return nil, err
			}
		}
		b, _ := json.Marshal(keys) // map keys sorted: same keys, same bytes
		env[serve.EnvWriteKeys] = string(b)
	}
	size := 0
	for k, v := range env {
		size += len(k) + len(v)
	}
	if size > EnvLimit {
		return nil, fmt.Errorf("the workspace's generated write keys do not fit the function's environment (%d bytes, Lambda allows %d): give some sources a writeKey in the file (writeKey: !env NAME keeps it out of git)", size, EnvLimit)
	}
	return env, nil
}

// plan compares what exists with what is wanted: the changes, in order. Pure.
func plan(o *observed, d *desired) ([]engine.Change, error) {
	if o.Secret == "" || o.APIID == "" {
		return nil, &ErrNoTransformer{Stack: d.Stack}
	}
	if o.Log != nil && o.Log.OtherStack != "" {
		return nil, stack.OwnedByOther("log group", d.LogGroup, o.Log.OtherStack)
	}
	if f := o.Func; f != nil && f.Other != "" {
		return nil, stack.OwnedByOther("Lambda function", d.Function, f.Other)
	}
	out, err := kinds.DiffRole(o.Role, roleSpec(d))
	if err != nil {
		return nil, err
	}
	out = append(out, kinds.DiffLogGroup(o.Log, logGroupSpec(d))...)
	add := func(a engine.Action, resource, name, reason string) {
		out = append(out, engine.Change{Action: a, Resource: resource, Name: name, Reason: reason})
	}
	// Function: code, configuration, a version with both, alias live on it.
	if o.Func == nil {
		add(CreateFunction, "Lambda function", d.Function, "missing")
	} else {
		if !o.Func.Tagged {
			add(TagFunction, "Lambda function", d.Function, "untagged")
		}
		if o.Func.CodeSha256 != d.CodeSha256 {
			add(UpdateCode, "Lambda function", d.Function, "workspace changed")
		}
		if !o.Func.Config.equal(d.Config) {
			add(UpdateConfig, "Lambda function", d.Function, "configuration differs: "+strings.Join(configDiff(o.Func.Config, d.Config), ", "))
		}
	}
	aliasOK, reuse := false, ""
	for _, v := range o.Versions {
		if v.CodeSha256 == d.CodeSha256 && v.Config.equal(d.Config) {
			reuse = v.Number // the newest matching one wins (sorted ascending)
			if v.Number == o.AliasVer {
				aliasOK = true
			}
		}
	}
	switch {
	case aliasOK:
	case reuse != "":
		out = append(out, engine.Change{Action: aliasAction(o), Resource: "Lambda alias", Name: d.Function + ":" + AliasName, Reason: "-> version " + reuse, Target: reuse})
	default:
		add(PublishVersion, "Lambda version", d.Function, "new workspace version")
		out = append(out, engine.Change{Action: aliasAction(o), Resource: "Lambda alias", Name: d.Function + ":" + AliasName, Reason: "-> the new version"})
	}
	// Routing on the transformer's API.
	wantSource := sourceARN(d.Region, d.Account, d.APIID)
	switch {
	case o.Permission == "":
		add(AddPermission, "Lambda permission", d.Function+":"+AliasName, "missing")
	case o.Permission != wantSource:
		add(RemovePermission, "Lambda permission", d.Function+":"+AliasName, "source differs")
		add(AddPermission, "Lambda permission", d.Function+":"+AliasName, "source differs")
	}
	if o.Integration == "" {
		add(CreateIntegration, "API integration", d.Transformer.API+" -> "+d.Function+":"+AliasName, "missing")
	}
	for _, key := range RouteKeys(d.Secret) {
		shown := engine.Redact(key, d.Secret)
		r, ok := o.Routes[key]
		switch {
		case !ok:
			out = append(out, engine.Change{Action: CreateRoute, Resource: "API route", Name: shown, Reason: "missing", Target: key})
		case o.Integration == "" || r.Target != "integrations/"+o.Integration:
			out = append(out, engine.Change{Action: UpdateRoute, Resource: "API route", Name: shown, Reason: "target differs", Target: r.ID})
		}
	}
	return out, nil
}

// roleSpec is the function's execution role: Lambda may assume it, and it may write to
// the function's own log group only.
func roleSpec(d *desired) kinds.RoleSpec {
	return kinds.RoleSpec{Name: d.Role, Path: RolePath, Stack: d.Stack,
		Description: "rudderctl: execution role of the workspace server of stack " + d.Stack,
		Trust:       trustPolicy, PolicyName: PolicyName, Policy: logsPolicy(d.Region, d.Account, d.LogGroup)}
}

func logGroupSpec(d *desired) kinds.LogGroupSpec {
	return kinds.LogGroupSpec{Name: d.LogGroup, Stack: d.Stack, Retention: d.Retention}
}

func aliasAction(o *observed) engine.Action {
	if o.AliasVer == "" {
		return CreateAlias
	}
	return UpdateAlias
}

// configDiff names what differs, never an environment value.
func configDiff(a, b fnConfig) []string {
	var d []string
	if a.Arch != b.Arch {
		d = append(d, "architecture "+a.Arch+" -> "+b.Arch)
	}
	if a.Role != b.Role {
		d = append(d, "role")
	}
	if a.Runtime != b.Runtime || a.Handler != b.Handler || a.Memory != b.Memory || a.Timeout != b.Timeout {
		d = append(d, "runtime settings")
	}
	if !maps.Equal(a.Env, b.Env) {
		var keys []string
		for k := range b.Env {
			if a.Env[k] != b.Env[k] {
				keys = append(keys, k)
			}
		}
		for k := range a.Env {
			if _, ok := b.Env[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		d = append(d, "environment ("+strings.Join(keys, ", ")+")")
	}
	return d
}

// planDestroy lists the deletions of what the component owns, routes first.
func planDestroy(o *observed, n Names) []engine.Change {
	var out []engine.Change
	add := func(a engine.Action, resource, name, target string) {
		out = append(out, engine.Change{Action: a, Resource: resource, Name: name, Target: target})
	}
	keys := make([]string, 0, len(o.Routes))
	for k := range o.Routes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		add(DeleteRoute, "API route", engine.Redact(k, o.Secret), o.Routes[k].ID)
	}
	if o.Integration != "" {
		add(DeleteIntegration, "API integration", o.Integration, o.Integration)
	}
	if o.Func != nil && o.Func.Other == "" {
		add(DeleteFunction, "Lambda function", n.Function, "")
	}
	if o.Log != nil && o.Log.OtherStack == "" {
		add(kinds.DeleteLogGroup, "log group", n.LogGroup, "")
	}
	if o.Role != nil && o.Role.OtherStack == "" {
		out = append(out, kinds.DeleteRoleChanges(o.Role, n.Role)...)
	}
	return out
}
