package transformer

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/lambdaapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
)

// Live is what the apply step knows as it goes: ids from the cloud, filled in as things
// are created.
type Live struct {
	RoleARN, FunctionARN, Version, AliasARN string
	APIID, APIEndpoint, IntegrationID       string
}

func liveFrom(o *Observed, d *Desired) *Live {
	l := &Live{RoleARN: RoleARN(o.Account, d.Role)}
	if o.Role != nil && o.Role.ARN != "" {
		l.RoleARN = o.Role.ARN
	}
	if o.Func != nil {
		l.FunctionARN = o.Func.ARN
		l.AliasARN = o.Func.ARN + ":" + AliasName
	}
	if n := len(o.Versions); n > 0 {
		l.Version = o.Versions[n-1].Number
	}
	if len(o.APIs) > 0 {
		l.APIID, l.APIEndpoint = o.APIs[0].ID, o.APIs[0].Endpoint
	}
	aliasARN := l.AliasARN
	for _, in := range o.Integrations {
		if in.Type == "AWS_PROXY" && in.URI == aliasARN && in.PayloadFormatVersion == "2.0" {
			l.IntegrationID = in.ID
			break
		}
	}
	if l.IntegrationID == "" && len(o.Integrations) > 0 {
		l.IntegrationID = o.Integrations[0].ID // the one the plan updates
	}
	return l
}

// run is one apply of the transformer: what its kinds share. Its steps run one after the
// other (plan order: each change needs the ids the ones before it made), so the kinds
// read and write it without locks.
type run struct {
	c        *awsapi.Session
	o        *Observed
	d        *Desired
	l        *Live
	progress io.Writer
	settled  bool // the function has no update in progress
	// beforeBucketDelete runs just before DeleteBucket (destroy releases the lock it holds
	// in that bucket).
	beforeBucketDelete func(context.Context) error
}

// Apply makes the changes in order. It stops at the first error; running the deploy
// again resumes (every change is found again by the next observe).
func Apply(ctx context.Context, c *awsapi.Session, o *Observed, d *Desired, changes []Change, progress io.Writer) (*Live, error) {
	return applyChanges(ctx, c, o, d, changes, progress, "", nil)
}

// applyChanges runs changes with the transformer's kinds. operation, when set, is named
// in the "run it again to finish" hint of an error.
func applyChanges(ctx context.Context, c *awsapi.Session, o *Observed, d *Desired, changes []Change, progress io.Writer, operation string, beforeBucketDelete func(context.Context) error) (*Live, error) {
	if progress == nil {
		progress = io.Discard
	}
	r := &run{c: c, o: o, d: d, l: liveFrom(o, d), progress: engine.Redacting(progress, d.Secret), beforeBucketDelete: beforeBucketDelete}
	r.settled = o.Func == nil || (o.Func.State == "Active" && o.Func.LastUpdate != "InProgress")
	err := engine.Run(ctx, changes, engine.Options{Kinds: r.kinds(), Progress: r.progress, Secret: d.Secret, Operation: operation})
	return r.l, err
}

// kinds are the kinds that carry out the transformer's changes: the shared ones
// (internal/deploy/kinds) and its own (one file each: function.go, version.go, alias.go,
// api.go, integration.go, route.go, stage.go, permission.go).
func (r *run) kinds() []engine.Kind {
	d := r.d
	role := roleSpec(d)
	var bucketTags map[string]string
	if r.o.Bucket != nil {
		bucketTags = r.o.Bucket.Tags
	}
	return []engine.Kind{
		kinds.RoleKind{C: r.c, Spec: role, ARN: &r.l.RoleARN},
		kinds.RolePolicyKind{C: r.c, Spec: role},
		kinds.RoleTags(r.c, d.Role, d.Stack),
		kinds.LogGroupKind{C: r.c, Spec: logGroupSpec(d)},
		kinds.LogGroupTags(r.c, LogGroupARN(d.Region, d.Account, d.LogGroup), d.Stack),
		kinds.BucketKind{C: r.c, Spec: bucketSpec(d), Existing: bucketTags, Progress: r.progress, BeforeDelete: r.beforeBucketDelete},
		kinds.BucketTags(r.c, d.Bucket, d.Stack, bucketTags),
		kinds.ObjectKind{C: r.c, Spec: codeObject(d), Progress: r.progress},
		functionKind{run: r}, functionTags(r), codeKind{run: r}, configKind{run: r},
		versionKind{run: r}, aliasKind{r},
		apiKind{run: r}, integrationKind{r}, routeKind{r}, stageKind{r},
		permissionKind{r},
	}
}

// apiID is the API a change acts on: its own, or the one being created or kept.
func (r *run) apiID(ch Change) string {
	if ch.API != "" {
		return ch.API
	}
	return r.l.APIID
}

// code is the function code: the zip itself, or for a zip over MaxDirectUpload the object
// the UploadCode step put in the artifacts bucket.
func (r *run) code() (lambdaapi.Code, int64, error) {
	d := r.d
	if d.ViaS3() {
		return lambdaapi.Code{S3Bucket: d.Bucket, S3Key: CodeKey(d.CodeSha256)}, d.ZipBytes, nil
	}
	b, err := os.ReadFile(d.Zip)
	if err != nil {
		return lambdaapi.Code{}, 0, engine.Plain(fmt.Errorf("could not read %s: %v; check the --zip path", d.Zip, err))
	}
	return lambdaapi.Code{Zip: b}, int64(len(b)), nil
}

func (r *run) codeFrom() string {
	if r.d.ViaS3() {
		return " from s3://" + r.d.Bucket + "/" + CodeKey(r.d.CodeSha256)
	}
	return ""
}
