package kinds

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/stack"
)

const region = "eu-west-1"

func cloudClients(t *testing.T) *awsapi.Session {
	t.Helper()
	awstest.Cloud(t, localcloud.Delays{})
	cl, err := awsapi.NewSession(context.Background(), region)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// sharedKinds is one target's use of the shared kinds, outside the transformer: a role
// with its policy, a log group and the stack bucket.
type sharedKinds struct {
	c      *awsapi.Session
	role   RoleSpec
	logs   LogGroupSpec
	bucket BucketSpec
	arn    string
}

func (s *sharedKinds) kinds() []engine.Kind {
	return []engine.Kind{
		RoleKind{C: s.c, Spec: s.role, ARN: &s.arn}, RolePolicyKind{C: s.c, Spec: s.role}, RoleTags(s.c, s.role.Name, s.role.Stack),
		LogGroupKind{C: s.c, Spec: s.logs},
		BucketKind{C: s.c, Spec: s.bucket, Progress: io.Discard}, BucketTags(s.c, s.bucket.Name, s.bucket.Stack, nil),
	}
}

// plan finds the three and diffs them against their specs.
func (s *sharedKinds) plan(t *testing.T) []engine.Change {
	t.Helper()
	ctx := context.Background()
	r, err := ObserveRole(ctx, s.c, s.role.Name, s.role.Stack, s.role.PolicyName)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := DiffRole(r, s.role)
	if err != nil {
		t.Fatal(err)
	}
	lg, err := ObserveLogGroup(ctx, s.c, s.logs.Name, s.logs.Stack)
	if err != nil {
		t.Fatal(err)
	}
	cs = append(cs, DiffLogGroup(lg, s.logs)...)
	b, err := ObserveBucket(ctx, s.c, s.bucket.Name, s.bucket.Stack)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := DiffBucket(b, s.bucket)
	if err != nil {
		t.Fatal(err)
	}
	return append(cs, bc...)
}

func actions(cs []engine.Change) string {
	var out []string
	for _, c := range cs {
		out = append(out, string(c.Action))
	}
	return strings.Join(out, " ")
}

// TestSharedKindsLifecycle: create from nothing, nothing to do after, a create that meets
// what an earlier attempt made adopts it, destroy twice, nothing found after.
func TestSharedKindsLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	ctx := context.Background()
	cl := cloudClients(t)
	acct, err := cl.AccountID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const st = "kinds"
	name := stack.ResourceName(st, "thing")
	s := &sharedKinds{c: cl,
		role: RoleSpec{Name: name, Path: "/rudderctl/", Stack: st, Description: "test", Trust: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
			PolicyName: "rudderctl-thing", Policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:PutLogEvents"],"Resource":["*"]}]}`},
		logs:   LogGroupSpec{Name: "/rudderctl/" + name, Stack: st, Retention: 14},
		bucket: BucketSpec{Name: stack.BucketName(st, acct, region), Stack: st, Region: region},
	}
	run := func(cs []engine.Change) {
		t.Helper()
		if err := engine.Run(ctx, cs, engine.Options{Kinds: s.kinds(), Operation: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	fresh := s.plan(t)
	if got, want := actions(fresh), "CreateRole PutRolePolicy CreateLogGroup PutRetentionPolicy CreateBucket"; got != want {
		t.Fatalf("fresh plan %q, want %q", got, want)
	}
	run(fresh)
	if !strings.HasSuffix(s.arn, ":role/rudderctl/"+name) {
		t.Errorf("role ARN %q", s.arn)
	}
	if again := s.plan(t); len(again) != 0 {
		t.Fatalf("converged stack plans %q", actions(again))
	}
	// The fresh plan again, as a run killed after its creates would replay it: adopted.
	s.arn = ""
	run(fresh)
	if !strings.HasSuffix(s.arn, ":role/rudderctl/"+name) {
		t.Errorf("adopted role ARN %q", s.arn)
	}
	r, err := FindRole(ctx, cl, name, st, s.role.PolicyName)
	if err != nil {
		t.Fatal(err)
	}
	destroy := append(DeleteRoleChanges(r, name),
		engine.Change{Action: DeleteLogGroup, Resource: "log group", Name: s.logs.Name},
		engine.Change{Action: DeleteBucket, Resource: "S3 bucket", Name: s.bucket.Name})
	run(destroy)
	run(destroy) // all gone already: not found is done
	if _, err := FindRole(ctx, cl, name, st, s.role.PolicyName); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("role after destroy: %v", err)
	}
	if _, err := FindLogGroup(ctx, cl, s.logs.Name, st); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("log group after destroy: %v", err)
	}
	if _, err := FindBucket(ctx, cl, s.bucket.Name, st); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("bucket after destroy: %v", err)
	}
}

// TestDiffRefusesAnotherStacks: a role, log group or bucket tagged for another stack is
// refused by the diff, before any call.
func TestDiffRefusesAnotherStacks(t *testing.T) {
	if _, err := DiffRole(&Role{OtherStack: "prod"}, RoleSpec{Name: "r"}); err == nil || !strings.Contains(err.Error(), `belongs to stack "prod"`) {
		t.Errorf("role: %v", err)
	}
	if _, err := DiffBucket(&Bucket{OtherStack: "prod"}, BucketSpec{Name: "b"}); err == nil || !strings.Contains(err.Error(), `belongs to stack "prod"`) {
		t.Errorf("bucket: %v", err)
	}
	if _, err := DiffBucket(&Bucket{Foreign: true}, BucketSpec{Name: "b", Refused: "S3 refused"}); err == nil || err.Error() != "S3 refused" {
		t.Errorf("foreign bucket: %v", err)
	}
	if cs := DiffLogGroup(&LogGroup{Tagged: false, Retention: 14}, LogGroupSpec{Name: "g", Retention: 14}); actions(cs) != "TagLogGroup" {
		t.Errorf("untagged log group: %q", actions(cs))
	}
}
