package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"sort"
	"strconv"
	"strings"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/lambdaapi"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
	"github.com/rudderctl/rudderctl/internal/deploy/transformer"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// fnConfig is the part of the function's configuration the component manages.
type fnConfig struct {
	Arch string
	Role string
	Env  map[string]string // holds the token and write keys: never printed
	// The fixed ones, compared so a change made by hand is put back.
	Runtime, Handler string
	Memory, Timeout  int32
}

func (c fnConfig) equal(o fnConfig) bool {
	return c.Arch == o.Arch && c.Role == o.Role && c.Runtime == o.Runtime && c.Handler == o.Handler &&
		c.Memory == o.Memory && c.Timeout == o.Timeout && maps.Equal(c.Env, o.Env)
}

type version struct {
	Number     string
	CodeSha256 string
	Config     fnConfig
}

// observed is what exists (read-only calls only).
type observed struct {
	Account string

	Role *kinds.Role     // nil = none
	Log  *kinds.LogGroup // nil = none

	Func       *function
	Versions   []version
	AliasVer   string // "" = no alias
	Permission string // the SourceArn of our statement, "" = none

	// The transformer's part of the stack: its secret and its API.
	Secret      string
	APIID       string
	APIEndpoint string
	Integration string            // our integration's id ("" = none)
	Routes      map[string]route  // by key, the routes under the secret
	OtherRoutes map[string]string // route id -> key: everything else on the API (not ours)
	Bucket      *kinds.Bucket     // the stack's bucket (the stack lock), nil = none
}

type function struct {
	ARN        string
	Config     fnConfig
	CodeSha256 string
	State      string
	LastUpdate string
	Tagged     bool
	Other      string
}

type route struct{ ID, Target string }

func observe(ctx context.Context, c *awsapi.Session, n Names) (*observed, error) {
	o := &observed{Routes: map[string]route{}, OtherRoutes: map[string]string{}}
	var err error
	if o.Account, err = c.AccountID(ctx); err != nil {
		return nil, err
	}
	if o.Role, err = kinds.ObserveRole(ctx, c, n.Role, n.Stack, PolicyName); err != nil {
		return nil, err
	}
	if o.Log, err = kinds.ObserveLogGroup(ctx, c, n.LogGroup, n.Stack); err != nil {
		return nil, err
	}
	if o.Bucket, err = kinds.ObserveBucket(ctx, c, stack.BucketName(n.Stack, o.Account, c.Region), n.Stack); err != nil {
		return nil, err
	}
	steps := []func(context.Context, *awsapi.Session, Names, *observed) error{observeFunction, observeTransformer}
	for _, step := range steps {
		if err := step(ctx, c, n, o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func configOf(c lambdaapi.Config) fnConfig {
	return fnConfig{Arch: c.Arch, Role: c.Role, Env: c.Env, Runtime: c.Runtime, Handler: c.Handler, Memory: c.Memory, Timeout: c.Timeout}
}

func observeFunction(ctx context.Context, c *awsapi.Session, n Names, o *observed) error {
	fn := c.Lambda()
	found, err := fn.FindFunction(ctx, n.Function)
	if errors.Is(err, awsapi.ErrNotFound) {
		return nil
	}
	if err != nil {
		return awsapi.Explain("read Lambda function "+n.Function, err)
	}
	f := &function{ARN: strings.TrimSuffix(found.ARN, ":$LATEST"), Config: configOf(found.Config),
		CodeSha256: found.CodeSha256, State: found.State, LastUpdate: found.LastUpdate}
	f.Tagged, f.Other = stack.TagState(found.Tags, n.Stack)
	o.Func = f
	if f.Other != "" {
		return nil
	}
	versions, err := fn.PublishedVersions(ctx, n.Function)
	if err != nil {
		return awsapi.Explain("list the versions of "+n.Function, err)
	}
	for _, v := range versions {
		if versionNumber(v.Number) > 0 {
			o.Versions = append(o.Versions, version{Number: v.Number, CodeSha256: v.CodeSha256, Config: configOf(v.Config)})
		}
	}
	sort.Slice(o.Versions, func(i, j int) bool { return versionNumber(o.Versions[i].Number) < versionNumber(o.Versions[j].Number) })
	al, err := fn.FindAlias(ctx, n.Function, AliasName)
	if errors.Is(err, awsapi.ErrNotFound) {
		return nil
	}
	if err != nil {
		return awsapi.Explain("read alias "+AliasName+" of "+n.Function, err)
	}
	o.AliasVer = al.Version
	pol, err := fn.ResourcePolicy(ctx, n.Function, AliasName)
	if errors.Is(err, awsapi.ErrNotFound) {
		return nil
	}
	if err != nil {
		return awsapi.Explain("read the resource policy of "+n.Function+":"+AliasName, err)
	}
	o.Permission = statementSourceARN(pol, StatementID)
	return nil
}

func versionNumber(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// statementSourceARN is the AWS:SourceArn condition of statement sid ("" when absent).
func statementSourceARN(doc, sid string) string {
	var p struct {
		Statement []struct {
			Sid       string
			Condition map[string]map[string]any
		}
	}
	if json.Unmarshal([]byte(doc), &p) != nil {
		return ""
	}
	for _, s := range p.Statement {
		if s.Sid != sid {
			continue
		}
		for _, cond := range s.Condition {
			for k, v := range cond {
				if s, ok := v.(string); ok && strings.EqualFold(k, "AWS:SourceArn") {
					return s
				}
			}
		}
		return "present"
	}
	return ""
}

// observeTransformer reads what the workspace shares with the transformer: the secret (in
// its function's environment) and its HTTP API with the routes and integrations on it.
func observeTransformer(ctx context.Context, c *awsapi.Session, n Names, o *observed) error {
	tn := n.Transformer
	cfg, err := c.Lambda().FindConfiguration(ctx, tn.Function, "")
	switch {
	case errors.Is(err, awsapi.ErrNotFound):
		return nil
	case err != nil:
		return awsapi.Explain("read Lambda function "+tn.Function, err)
	}
	o.Secret, _ = transformer.SecretFromPrefix(cfg.Config.Env[transformer.PrefixEnv])
	apigw := c.APIGateway()
	// The transformer's API is the oldest of its name and tag (the others are leftovers its
	// next deploy deletes).
	apis, err := apigw.FindAPIsByTag(ctx, stack.TagKey, n.Stack, tn.API)
	if err != nil {
		return awsapi.Explain("list HTTP APIs", err)
	}
	if len(apis) == 0 {
		return nil
	}
	o.APIID, o.APIEndpoint = apis[0].ID, apis[0].Endpoint
	aliasARN := ""
	if o.Func != nil {
		aliasARN = o.Func.ARN + ":" + AliasName
	}
	ins, err := apigw.Integrations(ctx, o.APIID)
	if err != nil {
		return awsapi.Explain("list the integrations of API "+o.APIID, err)
	}
	for _, in := range ins {
		if aliasARN != "" && in.URI == aliasARN && in.PayloadFormatVersion == "2.0" {
			o.Integration = in.ID
			break
		}
	}
	ours := map[string]bool{}
	if o.Secret != "" {
		for _, k := range RouteKeys(o.Secret) {
			ours[k] = true
		}
	}
	routes, err := apigw.Routes(ctx, o.APIID)
	if err != nil {
		return awsapi.Explain("list the routes of API "+o.APIID, err)
	}
	for _, r := range routes {
		if ours[r.Key] {
			o.Routes[r.Key] = route{ID: r.ID, Target: r.Target}
		} else {
			o.OtherRoutes[r.ID] = r.Key
		}
	}
	return nil
}
