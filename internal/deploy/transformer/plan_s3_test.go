package transformer

import (
	"crypto/sha256"
	"encoding/base64"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func sha64(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// bigDesired is testDesired with a zip over the direct-upload limit.
func bigDesired() *Desired {
	d := testDesired()
	d.CodeSha256 = sha64("A")
	d.ZipBytes = MaxDirectUpload + 1
	d.Bucket = BucketName(d.Stack, acct, region)
	return d
}

func TestPlanS3(t *testing.T) {
	full := []Action{CreateRole, PutRolePolicy, CreateLogGroup, PutRetention, CreateBucket, UploadCode, CreateFunction, PublishVersion, CreateAlias,
		CreateAPI, CreateIntegration, CreateRoute, CreateRoute, CreateStage, AddPermission}
	ours := func(keys ...string) *Bucket {
		return &Bucket{Name: BucketName("t1", acct, region), Tagged: true, Tags: map[string]string{TagKey: "t1"}, Keys: keys}
	}
	tests := []struct {
		name   string
		mutate func(o *Observed, d *Desired)
		want   []Action
	}{
		{"fresh stack", func(o *Observed, d *Desired) { *o = Observed{Account: acct} }, full},
		{"identical", func(o *Observed, d *Desired) {}, []Action{}},
		{"identical without a bucket: none created", func(o *Observed, d *Desired) { o.Bucket = nil }, []Action{}},
		{"code change, bucket there", func(o *Observed, d *Desired) { o.Bucket = ours(CodeKey(d.CodeSha256)); d.CodeSha256 = sha64("B") },
			[]Action{UploadCode, UpdateCode, PublishVersion, UpdateAlias}},
		{"code change, object already uploaded", func(o *Observed, d *Desired) { d.CodeSha256 = sha64("B"); o.Bucket = ours(CodeKey(d.CodeSha256)) },
			[]Action{UpdateCode, PublishVersion, UpdateAlias}},
		{"code change, no bucket yet (was a small zip)", func(o *Observed, d *Desired) { d.CodeSha256 = sha64("B") },
			[]Action{CreateBucket, UploadCode, UpdateCode, PublishVersion, UpdateAlias}},
		{"interrupted: bucket created, not tagged", func(o *Observed, d *Desired) {
			d.CodeSha256 = sha64("B")
			o.Bucket = &Bucket{Name: d.Bucket, Tags: map[string]string{}}
		}, []Action{TagBucket, UploadCode, UpdateCode, PublishVersion, UpdateAlias}},
		{"interrupted: uploaded, function not created", func(o *Observed, d *Desired) {
			*o = Observed{Account: acct, Role: o.Role, Logs: o.Logs, Bucket: ours(CodeKey(d.CodeSha256))}
		}, full[6:]},
		{"small zip: never the bucket", func(o *Observed, d *Desired) { d.ZipBytes = MaxDirectUpload; d.CodeSha256 = sha64("B") },
			[]Action{UpdateCode, PublishVersion, UpdateAlias}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := bigDesired()
			o := converged(d)
			tt.mutate(o, d)
			cs := planWants(t, o, d, tt.want)
			for _, c := range cs {
				if c.Action == UploadCode && (c.Target != CodeKey(d.CodeSha256) || !strings.HasPrefix(c.String(), "+ S3 object "+d.Bucket+"/transformer/")) {
					t.Errorf("upload change %q target %q", c.String(), c.Target)
				}
				if c.Action == CreateBucket && c.String() != "+ S3 bucket "+d.Bucket+": CreateBucket (missing)" {
					t.Errorf("bucket change %q", c.String())
				}
			}
		})
	}
}

func TestPlanS3Refusals(t *testing.T) {
	d := bigDesired()
	o := converged(d)
	d.CodeSha256 = sha64("B")
	o.Bucket = &Bucket{Name: d.Bucket, OtherStack: "other", Tags: map[string]string{TagKey: "other"}}
	if _, err := Plan(o, d); err == nil || !strings.Contains(err.Error(), `stack "other"`) {
		t.Fatalf("bucket of another stack: %v", err)
	}
	o.Bucket = &Bucket{Name: d.Bucket, Foreign: true}
	if _, err := Plan(o, d); err == nil || !strings.Contains(err.Error(), "S3 refused") {
		t.Fatalf("foreign bucket: %v", err)
	}
	// A small zip does not need the bucket: no refusal.
	d.ZipBytes = 1000
	if _, err := Plan(o, d); err != nil {
		t.Fatalf("small zip with a foreign bucket name: %v", err)
	}
}

func TestPlanDestroyS3(t *testing.T) {
	d := bigDesired()
	o := converged(d)
	o.Bucket = &Bucket{Name: d.Bucket, Tagged: true, Keys: []string{"transformer/a.zip", LockKey, "transformer/b.zip"}}
	// The bucket last (it holds the lock destroy works under); the lock object goes with
	// the bucket, not as a DeleteObject of its own.
	want := []Action{RemovePermission, DeleteStage, DeleteRoute, DeleteRoute, DeleteIntegration, DeleteAPI, DeleteAlias, DeleteVersion,
		DeleteFunction, DeleteLogGroup, DeleteRolePolicy, DeleteRole, DeleteObject, DeleteObject, DeleteBucket}
	if got := actions(PlanDestroy(o, d.Names, region)); !reflect.DeepEqual(got, want) {
		t.Fatalf("destroy = %v\nwant    %v", got, want)
	}
	// Untagged, with our name: an interrupted run created it and never tagged it; ours.
	o.Bucket = &Bucket{Name: d.Bucket, Keys: []string{LockKey}}
	if got := actions(PlanDestroy(o, d.Names, region)); got[len(got)-1] != DeleteBucket {
		t.Fatalf("untagged bucket kept: %v", got)
	}
	// Foreign or another stack's: not ours to delete.
	for _, b := range []*Bucket{{Name: d.Bucket, Foreign: true}, {Name: d.Bucket, OtherStack: "x"}} {
		o.Bucket = b
		for _, c := range PlanDestroy(o, d.Names, region) {
			if c.Action == DeleteBucket {
				t.Fatalf("bucket %+v deleted", b)
			}
		}
	}
}

func TestBucketName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	cases := map[[3]string]string{
		{"prod", "123456789012", "eu-west-1"}: "rudderctl-prod-123456789012-eu-west-1",
		{"a", "000000000000", "us-east-1"}:    "rudderctl-a-000000000000-us-east-1",
	}
	for in, want := range cases {
		if got := BucketName(in[0], in[1], in[2]); got != want {
			t.Errorf("BucketName(%v) = %s, want %s", in, got, want)
		}
	}
	long := strings.Repeat("x", 32)
	a := BucketName(long, "123456789012", "ap-southeast-2")
	b := BucketName(long[:31]+"y", "123456789012", "ap-southeast-2")
	for _, n := range []string{a, b, BucketName("ab-"+strings.Repeat("-", 29), "123456789012", "ap-southeast-2")} {
		if len(n) > 63 || !valid.MatchString(n) {
			t.Errorf("invalid bucket name %q (%d)", n, len(n))
		}
	}
	if a == b || a != BucketName(long, "123456789012", "ap-southeast-2") {
		t.Errorf("long names not unique or not deterministic: %s %s", a, b)
	}
	if k := CodeKey(sha64("A")); !regexp.MustCompile(`^transformer/[0-9a-f]{64}\.zip$`).MatchString(k) {
		t.Errorf("CodeKey %s", k)
	}
}
