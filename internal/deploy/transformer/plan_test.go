package transformer

import (
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	acct   = "000000000000"
	region = "eu-west-1"
	secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtMTIz"
)

func testDesired() *Desired {
	n := NamesFor("t1")
	return &Desired{
		Names: n, Region: region, Account: acct,
		Config: FunctionConfig{Runtime: "nodejs22.x", Handler: Handler, Arch: "x86_64", Role: RoleARN(acct, n.Role),
			Memory: 1024, Timeout: 30, Env: map[string]string{WrapperEnv: WrapperPath, PrefixEnv: "/" + secret, "A": "1"}},
		CodeSha256: "sha-A", LogRetention: 14, Secret: secret,
	}
}

// converged is the observed state of a stack deployed exactly as d says.
func converged(d *Desired) *Observed {
	fnARN := "arn:aws:lambda:" + region + ":" + acct + ":function:" + d.Function
	cfg := d.Config
	cfg.Env = maps.Clone(d.Config.Env)
	keys := RouteKeys(d.Secret)
	return &Observed{
		Account:      acct,
		Role:         &Role{ARN: d.Config.Role, Tagged: true, Trust: TrustPolicy, Policy: LogsPolicy(region, acct, d.LogGroup), PolicyNames: []string{PolicyName}},
		Logs:         &LogGroup{ARN: LogGroupARN(region, acct, d.LogGroup), Retention: 14, Tagged: true},
		Func:         &Function{ARN: fnARN, Config: cfg, CodeSha256: d.CodeSha256, State: "Active", LastUpdate: "Successful", Tagged: true},
		Versions:     []Version{{Number: "1", Config: cfg, CodeSha256: d.CodeSha256}},
		Alias:        &Alias{Version: "1", ARN: fnARN + ":live"},
		APIs:         []API{{ID: "api1", Endpoint: "http://127.0.0.1:9999", Created: time.Unix(100, 0)}},
		Integrations: []Integration{{ID: "int1", Type: "AWS_PROXY", URI: fnARN + ":live", PayloadFormatVersion: "2.0"}},
		Routes:       []Route{{ID: "r1", Key: keys[0], Target: "integrations/int1"}, {ID: "r2", Key: keys[1], Target: "integrations/int1"}},
		Stages:       []Stage{{Name: StageName, AutoDeploy: true}},
		Permission:   &Permission{Principal: "apigateway.amazonaws.com", Action: "lambda:InvokeFunction", Resource: fnARN + ":live", SourceARN: SourceARN(region, acct, "api1")},
	}
}

// planWants plans o -> d and checks the actions, in order; it returns the changes.
func planWants(t *testing.T, o *Observed, d *Desired, want []Action) []Change {
	t.Helper()
	cs, err := Plan(o, d)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(cs); !reflect.DeepEqual(got, want) {
		t.Errorf("plan = %v\nwant  %v", got, want)
	}
	return cs
}

func actions(cs []Change) []Action {
	out := []Action{}
	for _, c := range cs {
		out = append(out, c.Action)
	}
	return out
}

func TestPlan(t *testing.T) {
	full := []Action{CreateRole, PutRolePolicy, CreateLogGroup, PutRetention, CreateFunction, PublishVersion, CreateAlias,
		CreateAPI, CreateIntegration, CreateRoute, CreateRoute, CreateStage, AddPermission}
	tests := []struct {
		name   string
		mutate func(o *Observed, d *Desired)
		want   []Action
	}{
		{"fresh stack", func(o *Observed, d *Desired) { *o = Observed{Account: acct} }, full},
		{"identical", func(o *Observed, d *Desired) {}, []Action{}},
		{"code change", func(o *Observed, d *Desired) { d.CodeSha256 = "sha-B" }, []Action{UpdateCode, PublishVersion, UpdateAlias}},
		{"memory change", func(o *Observed, d *Desired) { d.Config.Memory = 2048 }, []Action{UpdateConfig, PublishVersion, UpdateAlias}},
		{"env change", func(o *Observed, d *Desired) { d.Config.Env["A"] = "2" }, []Action{UpdateConfig, PublishVersion, UpdateAlias}},
		{"arch change goes with the code", func(o *Observed, d *Desired) { d.Config.Arch = "arm64" }, []Action{UpdateCode, PublishVersion, UpdateAlias}},
		{"code and config change", func(o *Observed, d *Desired) { d.CodeSha256 = "sha-B"; d.Config.Timeout = 10 }, []Action{UpdateCode, UpdateConfig, PublishVersion, UpdateAlias}},
		{"retention change", func(o *Observed, d *Desired) { d.LogRetention = 30 }, []Action{PutRetention}},
		{"after rollback: alias forward again", func(o *Observed, d *Desired) {
			o.Versions = append([]Version{{Number: "0", Config: o.Versions[0].Config, CodeSha256: "old"}}, o.Versions...)
			o.Alias.Version = "0"
		}, []Action{UpdateAlias}},
		{"interrupted: role only", func(o *Observed, d *Desired) {
			r := o.Role
			*o = Observed{Account: acct, Role: r}
			o.Role.Policy, o.Role.PolicyNames = "", nil
		}, full[1:]},
		{"interrupted: function, no version", func(o *Observed, d *Desired) {
			o.Versions, o.Alias, o.APIs, o.Integrations, o.Routes, o.Stages, o.Permission = nil, nil, nil, nil, nil, nil, nil
		}, []Action{PublishVersion, CreateAlias, CreateAPI, CreateIntegration, CreateRoute, CreateRoute, CreateStage, AddPermission}},
		{"interrupted: published, alias missing", func(o *Observed, d *Desired) {
			o.Alias, o.APIs, o.Integrations, o.Routes, o.Stages, o.Permission = nil, nil, nil, nil, nil, nil
		}, []Action{CreateAlias, CreateAPI, CreateIntegration, CreateRoute, CreateRoute, CreateStage, AddPermission}},
		{"interrupted: API without integration", func(o *Observed, d *Desired) {
			o.Integrations, o.Routes, o.Stages, o.Permission = nil, nil, nil, nil
		}, []Action{CreateIntegration, CreateRoute, CreateRoute, CreateStage, AddPermission}},
		{"interrupted: one route", func(o *Observed, d *Desired) {
			o.Routes = o.Routes[:1]
			o.Stages, o.Permission = nil, nil
		}, []Action{CreateRoute, CreateStage, AddPermission}},
		{"orphan: duplicate API and stray route", func(o *Observed, d *Desired) {
			o.APIs = append(o.APIs, API{ID: "api2", Created: time.Unix(200, 0)})
			o.Routes = append(o.Routes, Route{ID: "r3", Key: "ANY /{proxy+}", Target: "integrations/int1"})
		}, []Action{DeleteRoute, DeleteAPI}},
		{"orphan: extra integration", func(o *Observed, d *Desired) {
			o.Integrations = append(o.Integrations, Integration{ID: "int2", Type: "AWS_PROXY", URI: "x", PayloadFormatVersion: "2.0"})
		}, []Action{DeleteIntegration}},
		{"integration points elsewhere", func(o *Observed, d *Desired) {
			o.Integrations[0].URI = "arn:other"
		}, []Action{UpdateIntegration}},
		{"permission for another API", func(o *Observed, d *Desired) {
			o.Permission.SourceARN = SourceARN(region, acct, "old")
		}, []Action{RemovePermission, AddPermission}},
		{"stage without auto-deploy", func(o *Observed, d *Desired) { o.Stages[0].AutoDeploy = false }, []Action{UpdateStage}},
		{"policy drift", func(o *Observed, d *Desired) { o.Role.Policy = `{"Statement":[]}` }, []Action{PutRolePolicy}},
		{"untagged log group (created by Lambda)", func(o *Observed, d *Desired) { o.Logs.Tagged = false; o.Logs.Retention = 0 }, []Action{TagLogGroup, PutRetention}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testDesired()
			o := converged(d)
			tt.mutate(o, d)
			cs := planWants(t, o, d, tt.want)
			for _, c := range cs {
				if strings.Contains(c.String(), secret) {
					t.Errorf("change %q shows the secret", c.String())
				}
			}
		})
	}
}

func TestPlanRefusesOtherStack(t *testing.T) {
	d := testDesired()
	o := converged(d)
	o.Func.Tagged, o.Func.OtherStack = false, "other"
	if _, err := Plan(o, d); err == nil || !strings.Contains(err.Error(), `stack "other"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestStackLivesInOneRegion(t *testing.T) {
	d := testDesired()
	o := converged(d)
	d.Region = "us-west-2"
	if _, err := Plan(o, d); err == nil || !strings.Contains(err.Error(), "already lives in region "+region) {
		t.Fatalf("err = %v", err)
	}
	// Destroy in the other region keeps the role the first region's function uses.
	for _, c := range PlanDestroy(&Observed{Account: acct, Role: o.Role}, d.Names, "us-west-2") {
		if c.Action == DeleteRole {
			t.Fatal("role of another region deleted")
		}
	}
}

func TestPolicyEqualURLEncoded(t *testing.T) {
	enc := "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%5B%22lambda.amazonaws.com%22%5D%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D"
	if !policyEqual(enc, TrustPolicy) {
		t.Fatal("URL-encoded, list-spelled trust policy should equal TrustPolicy")
	}
}

func TestPlanDestroy(t *testing.T) {
	d := testDesired()
	o := converged(d)
	got := actions(PlanDestroy(o, d.Names, region))
	want := []Action{RemovePermission, DeleteStage, DeleteRoute, DeleteRoute, DeleteIntegration, DeleteAPI, DeleteAlias, DeleteVersion,
		DeleteFunction, DeleteLogGroup, DeleteRolePolicy, DeleteRole}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("destroy = %v\nwant    %v", got, want)
	}
	if n := len(PlanDestroy(&Observed{Account: acct}, d.Names, region)); n != 0 {
		t.Fatalf("empty stack: %d deletions", n)
	}
	// Untagged but with our fixed names (a run killed before tagging): still ours.
	o.Role.Tagged, o.Func.Tagged, o.Logs.Tagged = false, false, false
	if got := actions(PlanDestroy(o, d.Names, region)); !reflect.DeepEqual(got, want) {
		t.Fatalf("untagged: destroy = %v", got)
	}
	// Tagged by another stack: never.
	o.Role.OtherStack, o.Func.OtherStack, o.Logs.OtherStack = "x", "x", "x"
	want = []Action{DeleteStage, DeleteRoute, DeleteRoute, DeleteIntegration, DeleteAPI}
	if got := actions(PlanDestroy(o, d.Names, region)); !reflect.DeepEqual(got, want) {
		t.Fatalf("other stack's: destroy = %v", got)
	}
}

func TestLockChanges(t *testing.T) {
	n := NamesFor("t1")
	for _, tc := range []struct {
		bucket *Bucket
		want   []Action
		refuse bool
	}{
		{nil, []Action{CreateBucket}, false},
		{&Bucket{Name: "b"}, []Action{TagBucket}, false},
		{&Bucket{Name: "b", Tagged: true}, []Action{}, false},
		{&Bucket{Name: "b", Foreign: true}, nil, true},
		{&Bucket{Name: "b", OtherStack: "x"}, nil, true},
	} {
		cs, err := lockChanges(&Observed{Bucket: tc.bucket}, n, "b")
		if tc.refuse {
			if err == nil {
				t.Errorf("%+v: accepted", tc.bucket)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(actions(cs), tc.want) {
			t.Errorf("%+v: %v %v", tc.bucket, actions(cs), err)
		}
	}
}

func TestFindStatement(t *testing.T) {
	doc := `{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"other"},{"Sid":"` + StatementID + `","Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"arn:f:live","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:execute-api:r:a:id/*/*"}}}]}`
	p := findStatement(doc, StatementID)
	want := &Permission{Principal: "apigateway.amazonaws.com", Action: "lambda:InvokeFunction", Resource: "arn:f:live", SourceARN: "arn:aws:execute-api:r:a:id/*/*"}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got %+v", p)
	}
}

func TestSecret(t *testing.T) {
	s, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if len(s) < 22 {
		t.Fatalf("secret too short: %d", len(s))
	}
	back, ok := SecretFromPrefix("/" + s)
	if !ok || back != s {
		t.Fatal("secret not read back")
	}
	if _, ok := SecretFromPrefix("/short"); ok {
		t.Fatal("short prefix accepted")
	}
}
