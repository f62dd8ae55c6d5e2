package workspace

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/testfn"
)

// noRetryInjected makes an injected "fail-mutating" fault stop the run (as a killed process
// would) instead of being retried away by the SDK.
func noRetryInjected(o *retry.StandardOptions) {
	o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
		if strings.Contains(err.Error(), "injected fault") {
			return aws.FalseTernary
		}
		return aws.UnknownTernary
	})}, o.Retryables...)
}

// A workspace deploy stopped at its k-th mutating call, for every k, is finished by running
// it again, and then converged (0 mutating calls).
func TestDeployKilledAndResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("deploys into the local cloud")
	}
	cloud := startCloud(t)
	if err := cloud.Close(); err != nil {
		t.Fatal(err)
	}
	// No role propagation delay: CreateFunction is not retried, so every run makes the same
	// mutating calls and the k-th is the same call each time.
	cloud, err := localcloud.Start(context.Background(), localcloud.Options{Addr: "127.0.0.1:0",
		Delays: localcloud.Delays{RolePropagation: -1, Active: 100 * time.Millisecond, Update: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cloud.Close() })
	t.Setenv("AWS_ENDPOINT_URL", cloud.Endpoint())
	cl, err := awsapi.NewSession(context.Background(), testRegion)
	if err != nil {
		t.Fatal(err)
	}
	killable, err := awsapi.NewSession(context.Background(), testRegion, noRetryInjected)
	if err != nil {
		t.Fatal(err)
	}
	const stack = "wskill"
	deployTransformer(t, cl, stack)
	code := prepare(t, exampleCopy(t))
	in := Input{Stack: stack, Region: testRegion, Arch: testfn.HostArch(), LogRetention: 7}
	destroy := func() {
		if _, err := Destroy(context.Background(), cl, stack, testRegion, false, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	cloud.ResetStats()
	deploy(t, cl, stack, code)
	m := cloud.Stats().MutatingCalls
	t.Logf("clean deploy: %d mutating calls", m)
	for k := 1; k <= m; k++ {
		destroy()
		if err := cloud.SetFaults(fmt.Sprintf("fail-mutating=%d", k)); err != nil {
			t.Fatal(err)
		}
		cloud.ResetStats()
		_, err := Deploy(context.Background(), killable, in, code, false, io.Discard)
		cloud.SetFaults("")
		st := cloud.Stats()
		if st.Injected["error"] != 1 {
			t.Fatalf("k=%d: the injected fault fired %d times, want 1", k, st.Injected["error"])
		}
		switch {
		case err == nil && st.InjectedInto["s3:DeleteObject"] == 1:
			t.Logf("k=%d: the lock's release failed once and was retried", k)
		case err == nil:
			t.Fatalf("k=%d: the deploy survived a failed %v", k, st.InjectedInto)
		case !strings.Contains(err.Error(), "run it again"):
			t.Fatalf("k=%d: the error does not say how to resume: %v", k, err)
		}
		deploy(t, cl, stack, code)
		cloud.ResetStats()
		if r := deploy(t, cl, stack, code); r.Changes != 0 || cloud.Stats().MutatingCalls != 0 {
			t.Fatalf("k=%d: not converged after the resume: %v", k, r.ChangeList)
		}
		e, err := GetEndpoints(context.Background(), cl, stack, true)
		if err != nil {
			t.Fatal(err)
		}
		if r := get(t, e.ConfigBackendURL+"/workspaceConfig", "Authorization", basicAuth(e.WorkspaceToken)); r.status != 200 {
			t.Fatalf("k=%d: after the resume the workspace answers %d", k, r.status)
		}
	}
}
