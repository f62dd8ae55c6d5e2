package transformer

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/testfn"
	"github.com/rudderctl/rudderctl/packaging"
)

// TestLocalCloudUpdateConflictRetried: two configuration updates back to back; the second
// meets "An update is in progress" and the retry policy carries it through.
func TestLocalCloudUpdateConflictRetried(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cloud := startCloud(t, localcloud.Delays{RolePropagation: 200 * time.Millisecond, Update: 700 * time.Millisecond})
	cl := testClients(t)
	mustDeploy(t, cl, "conflict", testZip(t, "A"), nil)
	cloud.ResetStats()
	n := NamesFor("conflict").Function
	for _, mem := range []int32{512, 640} {
		if _, err := cl.Lambda.UpdateFunctionConfiguration(context.Background(), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(n), MemorySize: aws.Int32(mem)}); err != nil {
			t.Fatalf("memory %d: %v", mem, err)
		}
	}
	if got := cloud.Stats().ByOperation["lambda:UpdateFunctionConfiguration"]; got < 3 {
		t.Fatalf("expected the second update to be refused and retried, saw %d calls", got)
	}
	// A deploy right now finds the update in progress, waits, and restores the settings
	// ($LATEST only: the published version 1 still matches, so no new version).
	r := mustDeploy(t, cl, "conflict", testZip(t, "A"), nil)
	if r.Changes != 1 || r.Version != "1" {
		t.Fatalf("changes: %v", r.ChangeList)
	}
}

// TestLocalCloudRealTransformer deploys examples/transformer (packaged with
// packaging.Build, the real adapter) and calls it through the API.
func TestLocalCloudRealTransformer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	// packaging.Build installs the app's production node_modules itself when they are absent.
	src, _ := filepath.Abs("../../../examples/transformer")
	startCloud(t, localcloud.Delays{RolePropagation: 200 * time.Millisecond})
	cl := testClients(t)
	out := filepath.Join(t.TempDir(), "t.zip")
	if _, err := packaging.Build(context.Background(), packaging.Options{Src: src, Out: out, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Progress: io.Discard}); err != nil {
		t.Fatalf("packaging examples/transformer: %v", err)
	}
	mustDeploy(t, cl, "real", out, nil)
	e, err := GetEndpoint(context.Background(), cl, "real", true)
	if err != nil {
		t.Fatal(err)
	}
	code, hdr, body := httpGet(t, e.DestTransformURL+"/health")
	if code != 200 || hdr.Get("apiVersion") != "2" || !strings.Contains(body, "UP") {
		t.Fatalf("/health: %d %v %s", code, hdr, body)
	}
	if code, _, body = httpGet(t, e.DestTransformURL+"/features"); code != 200 || !strings.Contains(body, "routerTransform") {
		t.Fatalf("/features: %d %s", code, body)
	}
	if code, _, _ = httpGet(t, e.URL+"/features"); code != 404 {
		t.Fatalf("/features without prefix: %d", code)
	}
	if _, err := Destroy(context.Background(), cl, "real", testRegion, false, io.Discard); err != nil {
		t.Fatal(err)
	}
}
