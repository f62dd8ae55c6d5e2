package transformer

import (
	"encoding/json"
	"fmt"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
	"github.com/rudderctl/rudderctl/internal/stack"
	"strconv"
	"strings"
)

// Action is one kind of mutating call (or short sequence of calls) the apply step makes.
type Action = engine.Action

const (
	CreateRole        Action = kinds.CreateRole
	UpdateTrust       Action = kinds.UpdateTrust
	TagRole           Action = kinds.TagRole
	PutRolePolicy     Action = kinds.PutRolePolicy
	CreateLogGroup    Action = kinds.CreateLogGroup
	TagLogGroup       Action = kinds.TagLogGroup
	PutRetention      Action = kinds.PutRetention
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
	DeleteLogGroup    Action = kinds.DeleteLogGroup
	DeleteRolePolicy  Action = kinds.DeleteRolePolicy
	DeleteRole        Action = kinds.DeleteRole
	CreateBucket      Action = kinds.CreateBucket
	TagBucket         Action = kinds.TagBucket
	UploadCode        Action = kinds.UploadObject
	DeleteObject      Action = kinds.DeleteObject
	DeleteBucket      Action = kinds.DeleteBucket
)

// Change is one step of a plan (engine.Change).
type Change = engine.Change

// The actions whose names do not say what they do to the resource.
func init() {
	engine.RegisterVerb(PublishVersion, engine.Create)
	engine.RegisterVerb(AddPermission, engine.Create)
	engine.RegisterVerb(RemovePermission, engine.Delete)
}

// StackError is a refusal found while planning (stack.Error).
type StackError = stack.Error

// Plan compares observed and desired and returns the ordered changes. It does no I/O.
// Each resource's part is in its kind's file; the order here is the order of the calls.
func Plan(o *Observed, d *Desired) ([]Change, error) {
	var cs []Change
	steps := []func() ([]Change, error){
		func() ([]Change, error) { return planRole(o, d) },
		func() ([]Change, error) { return kinds.DiffLogGroup(o.Logs, logGroupSpec(d)), nil },
		func() ([]Change, error) { return planCode(o, d) },
		func() ([]Change, error) { return planFunction(o, d) },
		func() ([]Change, error) {
			publish, v := planVersion(o, d)
			return append(v, planAlias(o, d, publish)...), nil
		},
		func() ([]Change, error) { return planAPI(o, d) },
	}
	for _, step := range steps {
		more, err := step()
		if err != nil {
			return nil, err
		}
		cs = append(cs, more...)
	}
	return cs, nil
}

// roleSpec is the function's execution role: Lambda may assume it, and it may write to
// the function's own log group only.
func roleSpec(d *Desired) kinds.RoleSpec {
	return kinds.RoleSpec{
		Name: d.Role, Path: RolePath, Stack: d.Stack,
		Description: "rudderctl: execution role of the transformer of stack " + d.Stack,
		Trust:       TrustPolicy,
		PolicyName:  PolicyName, Policy: LogsPolicy(d.Region, d.Account, d.LogGroup),
	}
}

func logGroupSpec(d *Desired) kinds.LogGroupSpec {
	return kinds.LogGroupSpec{Name: d.LogGroup, Stack: d.Stack, Retention: d.LogRetention}
}

// planRole plans the role; a role serving the stack in another region (IAM is global)
// is refused.
func planRole(o *Observed, d *Desired) ([]Change, error) {
	cs, err := kinds.DiffRole(o.Role, roleSpec(d))
	if err != nil {
		return nil, err
	}
	if o.Role != nil {
		if r := roleRegion(o.Role.Policy); r != "" && r != d.Region {
			return nil, &StackError{Msg: fmt.Sprintf("stack %q already lives in region %s: its IAM role %s (IAM is global) serves the function there; deploy with --region %s, or use another --stack for %s", d.Stack, r, d.Role, r, d.Region)}
		}
	}
	return cs, nil
}

// bucketSpec is the stack's bucket as the transformer uses it: the stack lock, and zips
// over MaxDirectUpload.
func bucketSpec(d *Desired) kinds.BucketSpec {
	return kinds.BucketSpec{Name: d.Bucket, Stack: d.Stack, Region: d.Region,
		Refused: fmt.Sprintf("S3 bucket %s cannot be used: S3 refused to show it (it belongs to another account, or the credentials lack s3:ListBucket on it); the zip is %d MB, above Lambda's 50 MB direct-upload limit, so it must go through that bucket: grant the S3 permissions in docs/DEPLOY.md, or shrink the package under 50 MB", d.Bucket, d.ZipBytes>>20),
		Taken:   "the zip is over 50 MB and must go through S3: shrink it under 50 MB, or deploy under another --stack",
	}
}

func codeObject(d *Desired) kinds.ObjectSpec {
	return kinds.ObjectSpec{Bucket: d.Bucket, Key: CodeKey(d.CodeSha256), File: d.Zip, FileHint: "check the --zip path", Bytes: d.ZipBytes, SHA256: d.CodeSha256, ContentType: "application/zip"}
}

// planCode plans, for code too large for a direct upload, the bucket and the object,
// before the function takes it. Only when the code is to be uploaded at all.
func planCode(o *Observed, d *Desired) ([]Change, error) {
	uploads := o.Func == nil || (o.Func.OtherStack == "" && (o.Func.CodeSha256 != d.CodeSha256 || o.Func.Config.Arch != d.Config.Arch))
	if !uploads || !d.ViaS3() {
		return nil, nil
	}
	cs, err := kinds.DiffBucket(o.Bucket, bucketSpec(d))
	if err != nil {
		return nil, err
	}
	key := CodeKey(d.CodeSha256)
	if b := o.Bucket; b == nil || b.Foreign || !b.Has(key) {
		cs = append(cs, Change{Action: UploadCode, Resource: "S3 object", Name: d.Bucket + "/" + key, Reason: fmt.Sprintf("%d MB, over the 50 MB direct-upload limit", d.ZipBytes>>20), Target: key})
	}
	return cs, nil
}

// roleRegion is the region of the log group the role's policy names ("" if none).
func roleRegion(policy string) string {
	doc, ok := kinds.ParsePolicy(policy)
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
//
// Ours = tagged with this stack, or carrying our fixed name and no other stack's tag: a
// run killed between a create and its tagging must not leave something destroy skips.
func PlanDestroy(o *Observed, n Names, region string) []Change {
	var cs []Change
	funcOurs := o.Func != nil && o.Func.OtherStack == ""
	if funcOurs && o.Permission != nil {
		cs = append(cs, Change{Action: RemovePermission, Resource: "Lambda permission", Name: StatementID})
	}
	cs = append(cs, destroyAPIs(o, n)...)
	if funcOurs {
		cs = append(cs, destroyFunction(o, n)...)
	}
	if o.Logs != nil && o.Logs.OtherStack == "" {
		cs = append(cs, Change{Action: DeleteLogGroup, Resource: "log group", Name: n.LogGroup})
	}
	if o.Role != nil && o.Role.OtherStack == "" && (roleRegion(o.Role.Policy) == "" || roleRegion(o.Role.Policy) == region) {
		cs = append(cs, kinds.DeleteRoleChanges(o.Role, n.Role)...)
	}
	// The bucket last: it holds the stack lock destroy works under.
	return append(cs, destroyBucket(o.Bucket)...)
}

// destroyAPIs deletes the first API's stages, routes and integrations, then every API.
func destroyAPIs(o *Observed, n Names) []Change {
	var cs []Change
	for i, api := range o.APIs {
		if i == 0 {
			for _, s := range o.Stages {
				cs = append(cs, Change{Action: DeleteStage, Resource: "API stage", Name: s.Name, Target: s.Name, API: api.ID})
			}
			for _, r := range o.Routes {
				cs = append(cs, Change{Action: DeleteRoute, Resource: "API route", Name: r.ID, Target: r.ID, API: api.ID})
			}
			for _, in := range o.Integrations {
				cs = append(cs, Change{Action: DeleteIntegration, Resource: "API integration", Name: in.ID, Target: in.ID, API: api.ID})
			}
		}
		cs = append(cs, Change{Action: DeleteAPI, Resource: "HTTP API", Name: n.API + " (" + api.ID + ")", Target: api.ID, API: api.ID})
	}
	return cs
}

// destroyFunction deletes the alias, the versions (newest first) and the function.
func destroyFunction(o *Observed, n Names) []Change {
	var cs []Change
	if o.Alias != nil {
		cs = append(cs, Change{Action: DeleteAlias, Resource: "Lambda alias", Name: n.Function + ":" + AliasName})
	}
	for i := len(o.Versions) - 1; i >= 0; i-- {
		v := o.Versions[i].Number
		cs = append(cs, Change{Action: DeleteVersion, Resource: "Lambda version", Name: n.Function + ":" + v, Target: v})
	}
	return append(cs, Change{Action: DeleteFunction, Resource: "Lambda function", Name: n.Function})
}

// destroyBucket deletes the bucket's objects (but the lock) and the bucket, when ours.
func destroyBucket(b *Bucket) []Change {
	if b == nil || b.Foreign || b.OtherStack != "" {
		return nil
	}
	var cs []Change
	for _, k := range b.Keys {
		if k != LockKey {
			cs = append(cs, Change{Action: DeleteObject, Resource: "S3 object", Name: b.Name + "/" + k, Target: k})
		}
	}
	reason := ""
	if !b.Tagged {
		reason = "untagged, found by its name"
	}
	return append(cs, Change{Action: DeleteBucket, Resource: "S3 bucket", Name: b.Name, Reason: reason})
}

// versionNumber sorts "1" < "2" < "10".
func versionNumber(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}
