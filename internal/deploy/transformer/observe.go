package transformer

import (
	"context"
	"encoding/json"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rudderctl/rudderctl/internal/awsapi"
)

// Observe reads what exists for the stack, with read-only calls only.
func Observe(ctx context.Context, c *awsapi.Clients, n Names) (*Observed, error) {
	o := &Observed{}
	acct, err := c.AccountID(ctx)
	if err != nil {
		return nil, err
	}
	o.Account = acct
	if err := observeRole(ctx, c, n, o); err != nil {
		return nil, err
	}
	if err := observeLogs(ctx, c, n, o); err != nil {
		return nil, err
	}
	if err := observeFunction(ctx, c, n, o); err != nil {
		return nil, err
	}
	if err := observeAPI(ctx, c, n, o); err != nil {
		return nil, err
	}
	if err := observeBucket(ctx, c, n, o); err != nil {
		return nil, err
	}
	return o, nil
}

// observeBucket reads the stack's artifacts bucket: whether it exists, its tags and its keys.
// A refused HeadBucket (403, redirect) is noted, not an error: a stack deployed with small
// zips needs no bucket, nor S3 permissions.
func observeBucket(ctx context.Context, c *awsapi.Clients, n Names, o *Observed) error {
	name := BucketName(n.Stack, o.Account, c.Region)
	_, err := c.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)})
	switch {
	case awsapi.IsNotFound(err):
		return nil
	case awsapi.IsCode(err, "Forbidden", "AccessDenied", "MovedPermanently", "PermanentRedirect", "Redirect"):
		o.Bucket = &Bucket{Name: name, Foreign: true}
		return nil
	case err != nil:
		return awsapi.Explain("read S3 bucket "+name, err)
	}
	b := &Bucket{Name: name, Tags: map[string]string{}}
	tags, err := c.S3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(name)})
	if err != nil && !awsapi.IsCode(err, "NoSuchTagSet") {
		return awsapi.Explain("read the tags of S3 bucket "+name, err)
	}
	if err == nil {
		for _, t := range tags.TagSet {
			b.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	b.Tagged, b.OtherStack = tagState(b.Tags, n.Stack)
	o.Bucket = b
	if b.OtherStack != "" {
		return nil // not ours: look no further
	}
	var token *string
	for {
		out, err := c.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(name), ContinuationToken: token})
		if err != nil {
			return awsapi.Explain("list the objects of S3 bucket "+name, err)
		}
		for _, obj := range out.Contents {
			b.Keys = append(b.Keys, aws.ToString(obj.Key))
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			return nil
		}
		token = out.NextContinuationToken
	}
}

func observeRole(ctx context.Context, c *awsapi.Clients, n Names, o *Observed) error {
	out, err := c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(n.Role)})
	if awsapi.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return awsapi.Explain("read IAM role "+n.Role, err)
	}
	r := &Role{ARN: aws.ToString(out.Role.Arn), Trust: aws.ToString(out.Role.AssumeRolePolicyDocument)}
	tags := map[string]string{}
	for _, t := range out.Role.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if len(out.Role.Tags) == 0 {
		lt, err := c.IAM.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String(n.Role)})
		if err != nil {
			return awsapi.Explain("read the tags of IAM role "+n.Role, err)
		}
		for _, t := range lt.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	r.Tagged, r.OtherStack = tagState(tags, n.Stack)
	var marker *string
	for {
		lp, err := c.IAM.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(n.Role), Marker: marker})
		if err != nil {
			return awsapi.Explain("list the policies of IAM role "+n.Role, err)
		}
		r.PolicyNames = append(r.PolicyNames, lp.PolicyNames...)
		if !lp.IsTruncated || lp.Marker == nil {
			break
		}
		marker = lp.Marker
	}
	for _, p := range r.PolicyNames {
		if p != PolicyName {
			continue
		}
		gp, err := c.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(n.Role), PolicyName: aws.String(PolicyName)})
		if err != nil && !awsapi.IsNotFound(err) {
			return awsapi.Explain("read the policy of IAM role "+n.Role, err)
		}
		if err == nil {
			r.Policy = aws.ToString(gp.PolicyDocument)
		}
	}
	o.Role = r
	return nil
}

func tagState(tags map[string]string, stack string) (ours bool, other string) {
	v, ok := tags[TagKey]
	switch {
	case ok && v == stack:
		return true, ""
	case ok:
		return false, v
	}
	return false, ""
}

func observeLogs(ctx context.Context, c *awsapi.Clients, n Names, o *Observed) error {
	var token *string
	for {
		out, err := c.Logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(n.LogGroup), NextToken: token})
		if err != nil {
			return awsapi.Explain("read log group "+n.LogGroup, err)
		}
		for _, g := range out.LogGroups {
			if aws.ToString(g.LogGroupName) != n.LogGroup {
				continue
			}
			arn := aws.ToString(g.LogGroupArn)
			if arn == "" {
				arn = strings.TrimSuffix(aws.ToString(g.Arn), ":*")
			}
			lg := &LogGroup{ARN: arn, Retention: aws.ToInt32(g.RetentionInDays)}
			tags, err := c.Logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
			if err != nil {
				return awsapi.Explain("read the tags of log group "+n.LogGroup, err)
			}
			lg.Tagged, lg.OtherStack = tagState(tags.Tags, n.Stack)
			o.Logs = lg
			return nil
		}
		if out.NextToken == nil {
			return nil
		}
		token = out.NextToken
	}
}

func configOf(fc *ltypes.FunctionConfiguration) FunctionConfig {
	cfg := FunctionConfig{
		Runtime: string(fc.Runtime),
		Handler: aws.ToString(fc.Handler),
		Role:    aws.ToString(fc.Role),
		Memory:  aws.ToInt32(fc.MemorySize),
		Timeout: aws.ToInt32(fc.Timeout),
		Arch:    "x86_64",
	}
	if len(fc.Architectures) > 0 {
		cfg.Arch = string(fc.Architectures[0])
	}
	if fc.Environment != nil && len(fc.Environment.Variables) > 0 {
		cfg.Env = fc.Environment.Variables
	}
	return cfg
}

func observeFunction(ctx context.Context, c *awsapi.Clients, n Names, o *Observed) error {
	out, err := c.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(n.Function)})
	if awsapi.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return awsapi.Explain("read Lambda function "+n.Function, err)
	}
	fc := out.Configuration
	f := &Function{
		ARN:        strings.TrimSuffix(aws.ToString(fc.FunctionArn), ":$LATEST"),
		Config:     configOf(fc),
		CodeSha256: aws.ToString(fc.CodeSha256),
		State:      string(fc.State),
		LastUpdate: string(fc.LastUpdateStatus),
	}
	f.Tagged, f.OtherStack = tagState(out.Tags, n.Stack)
	o.Func = f
	if f.OtherStack != "" {
		return nil // not ours: look no further
	}
	var marker *string
	for {
		lv, err := c.Lambda.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(n.Function), Marker: marker})
		if err != nil {
			return awsapi.Explain("list the versions of "+n.Function, err)
		}
		for i := range lv.Versions {
			v := &lv.Versions[i]
			num := aws.ToString(v.Version)
			if num == "$LATEST" || versionNumber(num) < 0 {
				continue
			}
			o.Versions = append(o.Versions, Version{Number: num, Config: configOf(v), CodeSha256: aws.ToString(v.CodeSha256)})
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
	o.Alias = &Alias{Version: aws.ToString(al.FunctionVersion), ARN: aws.ToString(al.AliasArn)}

	pol, err := c.Lambda.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(n.Function), Qualifier: aws.String(AliasName)})
	if awsapi.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return awsapi.Explain("read the resource policy of "+n.Function+":"+AliasName, err)
	}
	o.Permission = findStatement(aws.ToString(pol.Policy), StatementID)
	return nil
}

// findStatement extracts one statement of a Lambda resource policy.
func findStatement(doc, sid string) *Permission {
	var p struct {
		Statement []struct {
			Sid       string
			Principal any
			Action    any
			Resource  any
			Condition map[string]map[string]any
		}
	}
	if json.Unmarshal([]byte(doc), &p) != nil {
		return nil
	}
	str := func(v any) string {
		switch t := v.(type) {
		case string:
			return t
		case []any:
			if len(t) == 1 {
				s, _ := t[0].(string)
				return s
			}
		case map[string]any:
			if s, ok := t["Service"]; ok {
				if x, ok := s.(string); ok {
					return x
				}
			}
		}
		return ""
	}
	for _, s := range p.Statement {
		if s.Sid != sid {
			continue
		}
		perm := &Permission{Principal: str(s.Principal), Action: str(s.Action), Resource: str(s.Resource)}
		for _, cond := range s.Condition {
			for k, v := range cond {
				if strings.EqualFold(k, "AWS:SourceArn") {
					perm.SourceARN = str(v)
				}
			}
		}
		return perm
	}
	return nil
}

func observeAPI(ctx context.Context, c *awsapi.Clients, n Names, o *Observed) error {
	var token *string
	for {
		out, err := c.APIGateway.GetApis(ctx, &apigatewayv2.GetApisInput{NextToken: token})
		if err != nil {
			return awsapi.Explain("list HTTP APIs", err)
		}
		for _, a := range out.Items {
			if a.Tags[TagKey] != n.Stack || aws.ToString(a.Name) != n.API {
				continue
			}
			o.APIs = append(o.APIs, API{ID: aws.ToString(a.ApiId), Endpoint: aws.ToString(a.ApiEndpoint), Created: aws.ToTime(a.CreatedDate)})
		}
		if out.NextToken == nil || aws.ToString(out.NextToken) == "" {
			break
		}
		token = out.NextToken
	}
	if len(o.APIs) == 0 {
		return nil
	}
	sort.SliceStable(o.APIs, func(i, j int) bool {
		if !o.APIs[i].Created.Equal(o.APIs[j].Created) {
			return o.APIs[i].Created.Before(o.APIs[j].Created)
		}
		return o.APIs[i].ID < o.APIs[j].ID
	})
	id := aws.String(o.APIs[0].ID)
	token = nil
	for {
		out, err := c.APIGateway.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: id, NextToken: token})
		if err != nil {
			return awsapi.Explain("list the integrations of API "+*id, err)
		}
		for _, in := range out.Items {
			o.Integrations = append(o.Integrations, Integration{ID: aws.ToString(in.IntegrationId), Type: string(in.IntegrationType), URI: aws.ToString(in.IntegrationUri), PayloadFormatVersion: aws.ToString(in.PayloadFormatVersion)})
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		token = out.NextToken
	}
	token = nil
	for {
		out, err := c.APIGateway.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: id, NextToken: token})
		if err != nil {
			return awsapi.Explain("list the routes of API "+*id, err)
		}
		for _, r := range out.Items {
			o.Routes = append(o.Routes, Route{ID: aws.ToString(r.RouteId), Key: aws.ToString(r.RouteKey), Target: aws.ToString(r.Target)})
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		token = out.NextToken
	}
	dropOtherComponents(o, n)
	token = nil
	for {
		out, err := c.APIGateway.GetStages(ctx, &apigatewayv2.GetStagesInput{ApiId: id, NextToken: token})
		if err != nil {
			return awsapi.Explain("list the stages of API "+*id, err)
		}
		for _, s := range out.Items {
			o.Stages = append(o.Stages, Stage{Name: aws.ToString(s.StageName), AutoDeploy: aws.ToBool(s.AutoDeploy)})
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		token = out.NextToken
	}
	return nil
}

// dropOtherComponents leaves out the integrations (and the routes to them) that another
// component of the stack put on the shared API (the workspace server: rudderctl deploy
// workspace): they are not the transformer's to keep in shape or delete.
func dropOtherComponents(o *Observed, n Names) {
	stackFn := ":function:rudderctl-" + n.Stack + "-"
	own := ":function:" + n.Function
	other := map[string]bool{}
	kept := o.Integrations[:0]
	for _, in := range o.Integrations {
		if strings.Contains(in.URI, stackFn) && !strings.HasSuffix(in.URI, own) && !strings.Contains(in.URI, own+":") {
			other["integrations/"+in.ID] = true
			continue
		}
		kept = append(kept, in)
	}
	o.Integrations = kept
	routes := o.Routes[:0]
	for _, r := range o.Routes {
		if !other[r.Target] {
			routes = append(routes, r)
		}
	}
	o.Routes = routes
}
