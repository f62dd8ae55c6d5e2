// Package awstest starts a local cloud (internal/localcloud) for the AWS client tests and
// points a Session at it through AWS_ENDPOINT_URL, the way production reaches AWS.
package awstest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/localcloud"
)

// Region is the tests' region.
const Region = "us-east-1"

// Start starts a local cloud (Cloud) and returns a Session for it.
func Start(t testing.TB, d localcloud.Delays, opts ...awsapi.RetryOption) (*localcloud.Cloud, *awsapi.Session) {
	t.Helper()
	c := Cloud(t, d)
	s, err := awsapi.NewSession(context.Background(), Region, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// Cloud starts a local cloud with its state in a temp dir, closed when the test ends, and
// isolates the AWS environment (the cloud's endpoint, no profile, no shared files, static
// test keys), so anything using the standard chain (a Session, the CLI) reaches it.
func Cloud(t testing.TB, d localcloud.Delays) *localcloud.Cloud {
	t.Helper()
	c, err := localcloud.Start(context.Background(), localcloud.Options{Addr: "127.0.0.1:0", StateDir: t.TempDir(), Delays: d})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": c.Endpoint(), "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	return c
}
