package localcloud

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// TestSecretsManagerLifecycle: create, read by name and ARN, new versions move AWSCURRENT,
// list with filters, scheduled deletion refuses reads, restore, force delete; the state
// file is private.
func TestSecretsManagerLifecycle(t *testing.T) {
	c := startCloud(t, Options{})
	cl := sm.NewFromConfig(sdk(c, false).cfg)
	ctx := context.Background()

	out, err := cl.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("stack/db"), SecretString: aws.String(`{"username":"u","password":"p1"}`),
		Tags: []smtypes.Tag{{Key: aws.String("rudderctl:stack"), Value: aws.String("s1")}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.ARN)
	if !strings.HasPrefix(arn, "arn:aws:secretsmanager:eu-west-1:000000000000:secret:stack/db-") || len(arn) != len("arn:aws:secretsmanager:eu-west-1:000000000000:secret:stack/db-")+6 {
		t.Fatalf("ARN %q: want the name and a 6-character suffix", arn)
	}
	if _, err := cl.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("stack/db"), SecretString: aws.String("x")}); errCode(err) != "ResourceExistsException" {
		t.Fatalf("second create: %v", err)
	}
	for _, id := range []string{"stack/db", arn, arn[:len(arn)-7]} {
		v, err := cl.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil || aws.ToString(v.SecretString) != `{"username":"u","password":"p1"}` {
			t.Fatalf("get by %q: %v %v", id, v, err)
		}
	}
	first, _ := cl.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(arn)})
	put, err := cl.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String("two")})
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := cl.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(arn)})
	prev, _ := cl.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String("AWSPREVIOUS")})
	if aws.ToString(cur.SecretString) != "two" || aws.ToString(cur.VersionId) != aws.ToString(put.VersionId) ||
		aws.ToString(prev.VersionId) != aws.ToString(first.VersionId) {
		t.Fatalf("after put: current %v, previous %v", cur.VersionId, prev.VersionId)
	}

	if _, err := cl.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("other"), SecretString: aws.String("o"), Description: aws.String("not ours")}); err != nil {
		t.Fatal(err)
	}
	names := func(f ...smtypes.Filter) []string {
		var got []string
		p := sm.NewListSecretsPaginator(cl, &sm.ListSecretsInput{Filters: f, MaxResults: aws.Int32(1)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range page.SecretList {
				got = append(got, aws.ToString(s.Name))
			}
		}
		return got
	}
	if got := names(); len(got) != 2 {
		t.Fatalf("list: %v", got)
	}
	if got := names(smtypes.Filter{Key: smtypes.FilterNameStringTypeTagKey, Values: []string{"rudderctl:"}}); len(got) != 1 || got[0] != "stack/db" {
		t.Fatalf("tag-key filter: %v", got)
	}
	if got := names(smtypes.Filter{Key: smtypes.FilterNameStringTypeName, Values: []string{"!stack"}}); len(got) != 1 || got[0] != "other" {
		t.Fatalf("negated name filter: %v", got)
	}

	del, err := cl.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("stack/db"), RecoveryWindowInDays: aws.Int64(7)})
	if err != nil || del.DeletionDate == nil {
		t.Fatalf("delete: %v %v", del, err)
	}
	if _, err := cl.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(arn)}); errCode(err) != "InvalidRequestException" {
		t.Fatalf("get after scheduled deletion: %v", err)
	}
	d, err := cl.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(arn)})
	if err != nil || d.DeletedDate == nil || len(d.Tags) != 1 {
		t.Fatalf("describe scheduled: %+v %v", d, err)
	}
	if got := names(); len(got) != 1 {
		t.Fatalf("list hides planned deletions: %v", got)
	}
	if _, err := cl.RestoreSecret(ctx, &sm.RestoreSecretInput{SecretId: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	if v, err := cl.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(arn)}); err != nil || aws.ToString(v.SecretString) != "two" {
		t.Fatalf("get after restore: %v", err)
	}
	if _, err := cl.TagResource(ctx, &sm.TagResourceInput{SecretId: aws.String(arn), Tags: []smtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.UntagResource(ctx, &sm.UntagResourceInput{SecretId: aws.String(arn), TagKeys: []string{"rudderctl:stack"}}); err != nil {
		t.Fatal(err)
	}
	if d, _ := cl.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(arn)}); len(d.Tags) != 1 || aws.ToString(d.Tags[0].Key) != "k" {
		t.Fatalf("tags: %+v", d.Tags)
	}
	if _, err := cl.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String(arn), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(arn)}); errCode(err) != "ResourceNotFoundException" {
		t.Fatalf("describe after force delete: %v", err)
	}

	st, err := os.Stat(c.StateDir() + "/secretsmanager.json")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
}

// TestSecretValueForECS: the valueFrom forms ECS resolves, through the core.Secrets peer.
func TestSecretValueForECS(t *testing.T) {
	c := startCloud(t, Options{})
	cl := sm.NewFromConfig(sdk(c, false).cfg)
	ctx := context.Background()
	secrets := core.Peer[core.Secrets](c)
	arn, err := secrets.CreateServiceSecret("eu-west-1", "rds!db-1234", `{"username":"master","password":"pw","port":5432}`, "rds", "", map[string]string{"aws:rds:primaryDBInstanceArn": "arn:aws:rds:eu-west-1:000000000000:db:n1"})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := cl.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("token"), SecretString: aws.String("tok")})
	if err != nil {
		t.Fatal(err)
	}
	d, err := cl.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(arn)})
	if err != nil || aws.ToString(d.OwningService) != "rds" {
		t.Fatalf("service secret: %+v %v", d, err)
	}
	cases := []struct{ valueFrom, want, err string }{
		{arn + ":password::", "pw", ""},
		{arn + ":username:AWSCURRENT:", "master", ""},
		{arn + ":port::", "5432", ""},
		{arn, `{"username":"master","password":"pw","port":5432}`, ""},
		{aws.ToString(plain.ARN), "tok", ""},
		{"token", "tok", ""},
		{arn + ":nokey::", "", "did not contain json key nokey"},
		{arn + "::AWSPREVIOUS:", "", "staging label: AWSPREVIOUS"},
		{aws.ToString(plain.ARN) + ":k::", "", "not a JSON object"},
		{"arn:aws:secretsmanager:eu-west-1:000000000000:secret:gone-abcdef", "", "ResourceNotFoundException"},
		{"arn:aws:ssm:eu-west-1:000000000000:parameter/x", "", "SSM parameter"},
	}
	for _, tc := range cases {
		got, err := secrets.SecretValue("eu-west-1", tc.valueFrom)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.valueFrom, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.valueFrom, got, err, tc.want)
		}
	}
	if _, err := cl.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: plain.ARN}); err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.SecretValue("eu-west-1", aws.ToString(plain.ARN)); err == nil || !strings.Contains(err.Error(), "marked for deletion") {
		t.Errorf("scheduled deletion: %v", err)
	}
	secrets.DeleteServiceSecret(arn)
	if _, err := secrets.SecretValue("eu-west-1", arn+":password::"); err == nil {
		t.Error("deleted service secret still resolves")
	}
}
