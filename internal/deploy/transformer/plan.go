package transformer

import (
	"encoding/json"
	"fmt"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/stack"
	"sort"
	"strconv"
	"strings"
)

// Action is one kind of mutating call (or short sequence of calls) the apply step makes.
type Action = engine.Action

const (
	CreateRole        Action = "CreateRole"
	UpdateTrust       Action = "UpdateAssumeRolePolicy"
	TagRole           Action = "TagRole"
	PutRolePolicy     Action = "PutRolePolicy"
	CreateLogGroup    Action = "CreateLogGroup"
	TagLogGroup       Action = "TagLogGroup"
	PutRetention      Action = "PutRetentionPolicy"
	CreateFunction    Action = "CreateFunction"
	TagFunction       Action = "TagFunction"
	UpdateCode        Action = "UpdateFunctionCode"
	UpdateConfig      Action = "UpdateFunctionConfiguration"
	PublishVersion    Action = "PublishVersion"
	CreateAlias       Action = "CreateAlias"
	UpdateAlias       Action = "UpdateAlias"
	CreateAPI         Action = "CreateApi"
	CreateIntegration Action = "CreateIntegration"
	UpdateIntegration Action = "UpdateIntegration"
	CreateRoute       Action = "CreateRoute"
	UpdateRoute       Action = "UpdateRoute"
	CreateStage       Action = "CreateStage"
	UpdateStage       Action = "UpdateStage"
	AddPermission     Action = "AddPermission"
	RemovePermission  Action = "RemovePermission"
	DeleteRoute       Action = "DeleteRoute"
	DeleteIntegration Action = "DeleteIntegration"
	DeleteStage       Action = "DeleteStage"
	DeleteAPI         Action = "DeleteApi"
	DeleteAlias       Action = "DeleteAlias"
	DeleteVersion     Action = "DeleteVersion"
	DeleteFunction    Action = "DeleteFunction"
	DeleteLogGroup    Action = "DeleteLogGroup"
	DeleteRolePolicy  Action = "DeleteRolePolicy"
	DeleteRole        Action = "DeleteRole"
	CreateBucket      Action = "CreateBucket"
	TagBucket         Action = "PutBucketTagging"
	UploadCode        Action = "PutObject"
	DeleteObject      Action = "DeleteObject"
	DeleteBucket      Action = "DeleteBucket"
)

// Change is one step of a plan (engine.Change).
type Change = engine.Change

// The actions whose names do not say what they do to the resource.
func init() {
	engine.RegisterVerb(PublishVersion, engine.Create)
	engine.RegisterVerb(AddPermission, engine.Create)
	engine.RegisterVerb(UploadCode, engine.Create)
	engine.RegisterVerb(RemovePermission, engine.Delete)
}

// StackError is a refusal found while planning (stack.Error).
type StackError = stack.Error

// Plan compares observed and desired and returns the ordered changes. It does no I/O.
func Plan(o *Observed, d *Desired) ([]Change, error) {
	var cs []Change
	add := func(c Change) { cs = append(cs, c) }

	// 1. IAM role and its inline policy.
	policy := LogsPolicy(d.Region, d.Account, d.LogGroup)
	if o.Role == nil {
		add(Change{Action: CreateRole, Resource: "IAM role", Name: d.Role, Reason: "missing"})
		add(Change{Action: PutRolePolicy, Resource: "IAM role policy", Name: d.Role + "/" + PolicyName, Reason: "missing"})
	} else {
		if o.Role.OtherStack != "" {
			return nil, &StackError{Msg: fmt.Sprintf("IAM role %s belongs to stack %q: it is tagged %s=%s; pick another --stack or destroy that stack", d.Role, o.Role.OtherStack, TagKey, o.Role.OtherStack)}
		}
		if r := roleRegion(o.Role.Policy); r != "" && r != d.Region {
			return nil, &StackError{Msg: fmt.Sprintf("stack %q already lives in region %s: its IAM role %s (IAM is global) serves the function there; deploy with --region %s, or use another --stack for %s", d.Stack, r, d.Role, r, d.Region)}
		}
		if !o.Role.Tagged {
			add(Change{Action: TagRole, Resource: "IAM role", Name: d.Role, Reason: "stack tag missing"})
		}
		if !policyEqual(o.Role.Trust, TrustPolicy) {
			add(Change{Action: UpdateTrust, Resource: "IAM role", Name: d.Role, Reason: "trust policy differs"})
		}
		if !policyEqual(o.Role.Policy, policy) {
			reason := "differs"
			if o.Role.Policy == "" {
				reason = "missing"
			}
			add(Change{Action: PutRolePolicy, Resource: "IAM role policy", Name: d.Role + "/" + PolicyName, Reason: reason})
		}
	}

	// 2. Log group.
	if o.Logs == nil {
		add(Change{Action: CreateLogGroup, Resource: "log group", Name: d.LogGroup, Reason: "missing"})
		if d.LogRetention > 0 {
			add(Change{Action: PutRetention, Resource: "log group", Name: d.LogGroup, Reason: fmt.Sprintf("retention %d days", d.LogRetention)})
		}
	} else {
		if !o.Logs.Tagged {
			add(Change{Action: TagLogGroup, Resource: "log group", Name: d.LogGroup, Reason: "stack tag missing"})
		}
		if o.Logs.Retention != d.LogRetention && d.LogRetention > 0 {
			add(Change{Action: PutRetention, Resource: "log group", Name: d.LogGroup, Reason: fmt.Sprintf("retention %d -> %d days", o.Logs.Retention, d.LogRetention)})
		}
	}

	// 3. Code too large for a direct upload: the artifacts bucket and the object, before
	// the function takes it. Only when the code is to be uploaded at all.
	uploads := o.Func == nil || (o.Func.OtherStack == "" && (o.Func.CodeSha256 != d.CodeSha256 || o.Func.Config.Arch != d.Config.Arch))
	if uploads && d.ViaS3() {
		key := CodeKey(d.CodeSha256)
		b := o.Bucket
		switch {
		case b == nil:
			add(Change{Action: CreateBucket, Resource: "S3 bucket", Name: d.Bucket, Reason: "missing"})
		case b.Foreign:
			return nil, &StackError{Msg: fmt.Sprintf("S3 bucket %s cannot be used: S3 refused to show it (it belongs to another account, or the credentials lack s3:ListBucket on it); the zip is %d MB, above Lambda's 50 MB direct-upload limit, so it must go through that bucket: grant the S3 permissions in docs/DEPLOY.md, or shrink the package under 50 MB", d.Bucket, d.ZipBytes>>20)}
		case b.OtherStack != "":
			return nil, &StackError{Msg: fmt.Sprintf("S3 bucket %s belongs to stack %q: it is tagged %s=%s; pick another --stack or destroy that stack", d.Bucket, b.OtherStack, TagKey, b.OtherStack)}
		case !b.Tagged:
			add(Change{Action: TagBucket, Resource: "S3 bucket", Name: d.Bucket, Reason: "stack tag missing"})
		}
		if b == nil || b.Foreign || !b.Has(key) {
			add(Change{Action: UploadCode, Resource: "S3 object", Name: d.Bucket + "/" + key, Reason: fmt.Sprintf("%d MB, over the 50 MB direct-upload limit", d.ZipBytes>>20), Target: key})
		}
	}

	// 4. Function.
	if o.Func == nil {
		add(Change{Action: CreateFunction, Resource: "Lambda function", Name: d.Function, Reason: "missing"})
	} else {
		if o.Func.OtherStack != "" {
			return nil, &StackError{Msg: fmt.Sprintf("Lambda function %s belongs to stack %q: it is tagged %s=%s; pick another --stack or destroy that stack", d.Function, o.Func.OtherStack, TagKey, o.Func.OtherStack)}
		}
		if !o.Func.Tagged {
			add(Change{Action: TagFunction, Resource: "Lambda function", Name: d.Function, Reason: "stack tag missing"})
		}
		// The architecture goes with the code (UpdateFunctionCode), the rest with the configuration.
		switch {
		case o.Func.CodeSha256 != d.CodeSha256:
			add(Change{Action: UpdateCode, Resource: "Lambda function", Name: d.Function, Reason: "code changed"})
		case o.Func.Config.Arch != d.Config.Arch:
			add(Change{Action: UpdateCode, Resource: "Lambda function", Name: d.Function, Reason: "architecture " + o.Func.Config.Arch + " -> " + d.Config.Arch})
		}
		cur := o.Func.Config
		cur.Arch = d.Config.Arch
		if diff := cur.Diff(d.Config); len(diff) > 0 {
			add(Change{Action: UpdateConfig, Resource: "Lambda function", Name: d.Function, Reason: strings.Join(diff, ", ")})
		}
	}

	// 5. Version and alias.
	var latest *Version
	if n := len(o.Versions); n > 0 {
		latest = &o.Versions[n-1]
	}
	publish := latest == nil || latest.CodeSha256 != d.CodeSha256 || !latest.Config.Equal(d.Config)
	if publish {
		reason := "code or configuration changed"
		if latest == nil {
			reason = "no version published"
		}
		add(Change{Action: PublishVersion, Resource: "Lambda version", Name: d.Function, Reason: reason})
	}
	switch {
	case o.Alias == nil:
		add(Change{Action: CreateAlias, Resource: "Lambda alias", Name: d.Function + ":" + AliasName, Reason: "missing"})
	case publish:
		add(Change{Action: UpdateAlias, Resource: "Lambda alias", Name: d.Function + ":" + AliasName, Reason: "to the new version"})
	case o.Alias.Version != latest.Number:
		add(Change{Action: UpdateAlias, Resource: "Lambda alias", Name: d.Function + ":" + AliasName, Reason: "version " + o.Alias.Version + " -> " + latest.Number})
	}

	// 6. HTTP API: the oldest API wins, the others are leftovers of an interrupted deploy.
	apis := append([]API(nil), o.APIs...)
	sort.SliceStable(apis, func(i, j int) bool {
		if !apis[i].Created.Equal(apis[j].Created) {
			return apis[i].Created.Before(apis[j].Created)
		}
		return apis[i].ID < apis[j].ID
	})
	var apiID string
	var later []Change
	if len(apis) == 0 {
		add(Change{Action: CreateAPI, Resource: "HTTP API", Name: d.API, Reason: "missing"})
	} else {
		apiID = apis[0].ID
		if len(o.APIs) > 0 && o.APIs[0].ID != apiID {
			return nil, fmt.Errorf("internal: observed integrations belong to API %s, not the oldest API %s", o.APIs[0].ID, apiID)
		}
		for _, extra := range apis[1:] {
			later = append(later, Change{Action: DeleteAPI, Resource: "HTTP API", Name: d.API + " (" + extra.ID + ")", Reason: "duplicate", Target: extra.ID, API: extra.ID})
		}
	}
	aliasARN := ""
	if o.Func != nil {
		aliasARN = o.Func.ARN + ":" + AliasName
	}
	// Integration: one AWS_PROXY to the alias, payload 2.0.
	integrationID := ""
	for _, in := range o.Integrations {
		if in.Type == "AWS_PROXY" && in.URI == aliasARN && aliasARN != "" && in.PayloadFormatVersion == "2.0" {
			integrationID = in.ID
			break
		}
	}
	if integrationID == "" {
		if len(o.Integrations) > 0 && apiID != "" {
			integrationID = o.Integrations[0].ID
			add(Change{Action: UpdateIntegration, Resource: "API integration", Name: d.API + " -> " + AliasName, Reason: "target differs", Target: integrationID, API: apiID})
		} else {
			add(Change{Action: CreateIntegration, Resource: "API integration", Name: d.API + " -> " + AliasName, Reason: "missing", API: apiID})
		}
	}
	for _, in := range o.Integrations {
		if in.ID != integrationID {
			later = append(later, Change{Action: DeleteIntegration, Resource: "API integration", Name: in.ID, Reason: "not used", Target: in.ID, API: apiID})
		}
	}
	// Routes: exactly the two secret-prefixed ones.
	wantTarget := "integrations/" + integrationID
	seen := map[string]bool{}
	for _, key := range RouteKeys(d.Secret) {
		shown := redact(key, d.Secret)
		var found *Route
		for i := range o.Routes {
			if o.Routes[i].Key == key && !seen[o.Routes[i].ID] {
				found = &o.Routes[i]
				break
			}
		}
		if found == nil {
			add(Change{Action: CreateRoute, Resource: "API route", Name: shown, Reason: "missing", Target: key, API: apiID})
			continue
		}
		seen[found.ID] = true
		if integrationID == "" || found.Target != wantTarget {
			add(Change{Action: UpdateRoute, Resource: "API route", Name: shown, Reason: "target differs", Target: found.ID, API: apiID})
		}
	}
	var deletes []Change
	for _, r := range o.Routes {
		if !seen[r.ID] {
			deletes = append(deletes, Change{Action: DeleteRoute, Resource: "API route", Name: redact(r.Key, d.Secret), Reason: "not a stack route", Target: r.ID, API: apiID})
		}
	}
	later = append(deletes, later...)
	// Stage $default with auto-deploy.
	var stage *Stage
	for i := range o.Stages {
		if o.Stages[i].Name == StageName {
			stage = &o.Stages[i]
		}
	}
	switch {
	case stage == nil:
		add(Change{Action: CreateStage, Resource: "API stage", Name: StageName, Reason: "missing", API: apiID})
	case !stage.AutoDeploy:
		add(Change{Action: UpdateStage, Resource: "API stage", Name: StageName, Reason: "auto-deploy off", API: apiID})
	}
	// Permission for API Gateway to invoke the alias.
	wantPerm := Permission{Principal: "apigateway.amazonaws.com", Action: "lambda:InvokeFunction", Resource: aliasARN, SourceARN: SourceARN(d.Region, d.Account, apiID)}
	switch {
	case o.Permission == nil || o.Alias == nil:
		add(Change{Action: AddPermission, Resource: "Lambda permission", Name: StatementID, Reason: "missing"})
	case apiID == "" || aliasARN == "" || *o.Permission != wantPerm:
		add(Change{Action: RemovePermission, Resource: "Lambda permission", Name: StatementID, Reason: "differs"})
		add(Change{Action: AddPermission, Resource: "Lambda permission", Name: StatementID, Reason: "differs"})
	}
	cs = append(cs, later...)
	return cs, nil
}

// roleRegion is the region of the log group the role's policy names ("" if none).
func roleRegion(policy string) string {
	doc, ok := parsePolicy(policy)
	if !ok {
		return ""
	}
	b, _ := json.Marshal(doc)
	s := string(b)
	i := strings.Index(s, "arn:aws:logs:")
	if i < 0 {
		return ""
	}
	rest := s[i+len("arn:aws:logs:"):]
	if j := strings.IndexByte(rest, ':'); j > 0 {
		return rest[:j]
	}
	return ""
}

// PlanDestroy lists the deletions for everything the stack owns in region, in reverse
// order of creation. The role (IAM is global) is kept when it serves another region.
func PlanDestroy(o *Observed, n Names, region string) []Change {
	var cs []Change
	add := func(c Change) { cs = append(cs, c) }
	// Ours = tagged with this stack, or carrying our fixed name and no other stack's tag: a
	// run killed between a create and its tagging must not leave something destroy skips.
	funcOurs := o.Func != nil && o.Func.OtherStack == ""
	if funcOurs && o.Permission != nil {
		add(Change{Action: RemovePermission, Resource: "Lambda permission", Name: StatementID})
	}
	for i, api := range o.APIs {
		if i == 0 {
			for _, s := range o.Stages {
				add(Change{Action: DeleteStage, Resource: "API stage", Name: s.Name, Target: s.Name, API: api.ID})
			}
			for _, r := range o.Routes {
				add(Change{Action: DeleteRoute, Resource: "API route", Name: r.ID, Target: r.ID, API: api.ID})
			}
			for _, in := range o.Integrations {
				add(Change{Action: DeleteIntegration, Resource: "API integration", Name: in.ID, Target: in.ID, API: api.ID})
			}
		}
		add(Change{Action: DeleteAPI, Resource: "HTTP API", Name: n.API + " (" + api.ID + ")", Target: api.ID, API: api.ID})
	}
	if funcOurs {
		if o.Alias != nil {
			add(Change{Action: DeleteAlias, Resource: "Lambda alias", Name: n.Function + ":" + AliasName})
		}
		for i := len(o.Versions) - 1; i >= 0; i-- {
			v := o.Versions[i].Number
			add(Change{Action: DeleteVersion, Resource: "Lambda version", Name: n.Function + ":" + v, Target: v})
		}
		add(Change{Action: DeleteFunction, Resource: "Lambda function", Name: n.Function})
	}
	if o.Logs != nil && o.Logs.OtherStack == "" {
		add(Change{Action: DeleteLogGroup, Resource: "log group", Name: n.LogGroup})
	}
	if o.Role != nil && o.Role.OtherStack == "" && (roleRegion(o.Role.Policy) == "" || roleRegion(o.Role.Policy) == region) {
		for _, p := range o.Role.PolicyNames {
			add(Change{Action: DeleteRolePolicy, Resource: "IAM role policy", Name: n.Role + "/" + p, Target: p})
		}
		add(Change{Action: DeleteRole, Resource: "IAM role", Name: n.Role})
	}
	// The bucket last: it holds the stack lock destroy works under.
	if b := o.Bucket; b != nil && !b.Foreign && b.OtherStack == "" {
		for _, k := range b.Keys {
			if k != LockKey {
				add(Change{Action: DeleteObject, Resource: "S3 object", Name: b.Name + "/" + k, Target: k})
			}
		}
		reason := ""
		if !b.Tagged {
			reason = "untagged, found by its name"
		}
		add(Change{Action: DeleteBucket, Resource: "S3 bucket", Name: b.Name, Reason: reason})
	}
	return cs
}

// versionNumber sorts "1" < "2" < "10".
func versionNumber(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}
