package workspace

import (
	"context"
	"encoding/json"
	"maps"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/rudderctl/rudderctl/internal/awsapi"
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

func observe(ctx context.Context, c *awsapi.Clients, n Names) (*observed, error) {
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
	steps := []func(context.Context, *awsapi.Clients, Names, *observed) error{observeFunction, observeTransformer}
	for _, step := range steps {
		if err := step(ctx, c, n, o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func configOf(fc *ltypes.FunctionConfiguration) fnConfig {
	cfg := fnConfig{Runtime: string(fc.Runtime), Handler: aws.ToString(fc.Handler), Role: aws.ToString(fc.Role),
		Memory: aws.ToInt32(fc.MemorySize), Timeout: aws.ToInt32(fc.Timeout), Arch: "x86_64"}
	if len(fc.Architectures) > 0 {
		cfg.Arch = string(fc.Architectures[0])
	}
	if fc.Environment != nil && len(fc.Environment.Variables) > 0 {
		cfg.Env = fc.Environment.Variables
	}
	return cfg
}

func observeFunction(ctx context.Context, c *awsapi.Clients, n Names, o *observed) error {
	out, err := c.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(n.Function)})
	if awsapi.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return awsapi.Explain("read Lambda function "+n.Function, err)
	}
	fc := out.Configuration
	f := &function{ARN: strings.TrimSuffix(aws.ToString(fc.FunctionArn), ":$LATEST"), Config: configOf(fc),
		CodeSha256: aws.ToString(fc.CodeSha256), State: string(fc.State), LastUpdate: string(fc.LastUpdateStatus)}
	f.Tagged, f.Other = stack.TagState(out.Tags, n.Stack)
	o.Func = f
	if f.Other != "" {
		return nil
	}
	var marker *string
	for {
		lv, err := c.Lambda.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(n.Function), Marker: marker})
		if err != nil {
			return awsapi.Explain("list the versions of "+n.Function, err)
		}
		for i := range lv.Versions {
			v := &lv.Versions[i]
			if num := aws.ToString(v.Version); versionNumber(num) > 0 {
				o.Versions = append(o.Versions, version{Number: num, CodeSha256: aws.ToString(v.CodeSha256), Config: configOf(v)})
			}
		}
		if lv.NextMarker == nil {
			break
		}
		marker = lv.NextMarker
	}
	sort.Slice(o.Versions, func(i, j int) bool { return versionNumber(o.Versions[i].Number) < versionNumber(o.Versions[j].Number) })
	al, err := c.Lambda.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(n.Function), Name: aws.String(AliasName)})
	if awsapi.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return awsapi.Explain("read alias "+AliasName+" of "+n.Function, err)
	}
	o.AliasVer = aws.ToString(al.FunctionVersion)
	pol, err := c.Lambda.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(n.Function), Qualifier: aws.String(AliasName)})
	if awsapi.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return awsapi.Explain("read the resource policy of "+n.Function+":"+AliasName, err)
	}
	o.Permission = statementSourceARN(aws.ToString(pol.Policy), StatementID)
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
func observeTransformer(ctx context.Context, c *awsapi.Clients, n Names, o *observed) error {
	tn := n.Transformer
	out, err := c.Lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(tn.Function)})
	switch {
	case awsapi.IsNotFound(err):
		return nil
	case err != nil:
		return awsapi.Explain("read Lambda function "+tn.Function, err)
	}
	if out.Environment != nil {
		o.Secret, _ = transformer.SecretFromPrefix(out.Environment.Variables[transformer.PrefixEnv])
	}
	var token *string
	for {
		apis, err := c.APIGateway.GetApis(ctx, &apigatewayv2.GetApisInput{NextToken: token})
		if err != nil {
			return awsapi.Explain("list HTTP APIs", err)
		}
		for _, a := range apis.Items {
			if a.Tags[stack.TagKey] == n.Stack && aws.ToString(a.Name) == tn.API && o.APIID == "" {
				o.APIID, o.APIEndpoint = aws.ToString(a.ApiId), aws.ToString(a.ApiEndpoint)
			}
		}
		if aws.ToString(apis.NextToken) == "" {
			break
		}
		token = apis.NextToken
	}
	if o.APIID == "" {
		return nil
	}
	aliasARN := ""
	if o.Func != nil {
		aliasARN = o.Func.ARN + ":" + AliasName
	}
	token = nil
	for {
		ins, err := c.APIGateway.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: aws.String(o.APIID), NextToken: token})
		if err != nil {
			return awsapi.Explain("list the integrations of API "+o.APIID, err)
		}
		for _, in := range ins.Items {
			if aliasARN != "" && aws.ToString(in.IntegrationUri) == aliasARN && aws.ToString(in.PayloadFormatVersion) == "2.0" && o.Integration == "" {
				o.Integration = aws.ToString(in.IntegrationId)
			}
		}
		if aws.ToString(ins.NextToken) == "" {
			break
		}
		token = ins.NextToken
	}
	ours := map[string]bool{}
	if o.Secret != "" {
		for _, k := range RouteKeys(o.Secret) {
			ours[k] = true
		}
	}
	token = nil
	for {
		rs, err := c.APIGateway.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: aws.String(o.APIID), NextToken: token})
		if err != nil {
			return awsapi.Explain("list the routes of API "+o.APIID, err)
		}
		for _, r := range rs.Items {
			key := aws.ToString(r.RouteKey)
			if ours[key] {
				o.Routes[key] = route{ID: aws.ToString(r.RouteId), Target: aws.ToString(r.Target)}
			} else {
				o.OtherRoutes[aws.ToString(r.RouteId)] = key
			}
		}
		if aws.ToString(rs.NextToken) == "" {
			break
		}
		token = rs.NextToken
	}
	return nil
}
