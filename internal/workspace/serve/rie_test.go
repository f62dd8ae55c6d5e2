package serve

// The packaged server, started from its zip under the real Runtime Interface Emulator as
// provided.al2023 runs it, behind the local API Gateway, over real HTTP.

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/apigwlocal"
	"github.com/rudderctl/rudderctl/internal/lambdalocal"
	"github.com/rudderctl/rudderctl/internal/testfn"
	"github.com/rudderctl/rudderctl/packaging"
)

func TestZipUnderRIE(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the workspace server and runs the RIE")
	}
	ctx := context.Background()
	want, bundle := exampleBundle(t, testKey)
	arch := testfn.HostArch()
	dir := t.TempDir()
	build := func(name string) *packaging.WorkspaceReport {
		rep, err := packaging.BuildWorkspace(ctx, packaging.WorkspaceOptions{Bundle: bundle, Arch: arch, Out: filepath.Join(dir, name)})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	a, b := build("a.zip"), build("b.zip")
	if a.SHA256 != b.SHA256 {
		t.Fatalf("two builds of the same workspace differ: %s vs %s", a.SHA256, b.SHA256)
	}
	checkZip(t, a.Zip)

	root := filepath.Join(dir, "task")
	if err := lambdalocal.Unzip(a.Zip, root); err != nil {
		t.Fatal(err)
	}
	var logMu sync.Mutex
	var logs []string
	inst, err := lambdalocal.Start(ctx, lambdalocal.Function{
		Name: "rudderctl-t-workspace", Version: "1", TaskRoot: root, Runtime: "provided.al2023", Arch: arch,
		Handler: "bootstrap", Timeout: 10 * time.Second, MemoryMB: 128,
		Env: map[string]string{EnvToken: testToken, EnvWriteKeys: `{"website":"` + testKey + `"}`, EnvHostedSecret: testSecret, EnvPathPrefix: testPrefix},
	}, lambdalocal.Options{Log: func(l string) { logMu.Lock(); logs = append(logs, l); logMu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	gw := &apigwlocal.Gateway{Routes: []string{"ANY /{proxy+}"}, Invoke: func(ctx context.Context, ev []byte) ([]byte, string, error) {
		res, err := inst.Invoke(ctx, ev)
		return res.Payload, res.FunctionError, err
	}}
	ts := httptest.NewServer(gw)
	defer ts.Close()
	checkServes(t, ts.URL, want)

	logMu.Lock()
	all := strings.Join(logs, "\n")
	logMu.Unlock()
	if !strings.Contains(all, "rudderctl-workspace: GET transformation versionId="+want.Functions[0].VersionID+" status=200") {
		t.Errorf("the function did not log its transformation fetch:\n%s", all)
	}
	for _, secret := range []string{testToken, testKey, testSecret, testPrefix} {
		if strings.Contains(all, secret) {
			t.Errorf("the function's log holds a secret (%q)", secret)
		}
	}
}

// checkZip: exactly bootstrap (0755) and the bundle, and no secret inside.
func checkZip(t *testing.T, p string) {
	t.Helper()
	zr, err := zip.OpenReader(p)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name+" "+f.Mode().String())
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		for _, secret := range []string{testToken, testKey, testSecret} {
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s in the zip holds a secret", f.Name)
			}
		}
	}
	if got := strings.Join(names, ", "); got != "bootstrap -rwxr-xr-x, workspace.json -rw-r--r--" {
		t.Errorf("zip entries: %s", got)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
}
