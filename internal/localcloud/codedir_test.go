package localcloud

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Deploying code unpacks it before anything invokes it, and deleting the function
// removes it again.
func TestCodeUnpackedAtDeploy(t *testing.T) {
	c := startCloud(t, Options{})
	cl := sdk(c, false)
	ctx := context.Background()
	role := mkRole(t, cl, "prep-role")
	zip := dummyZip(t, "exports.handler = async () => 1")
	sum := sha256.Sum256(zip)
	dir := filepath.Join(c.StateDir(), "tasks", hex.EncodeToString(sum[:]))
	_, err := cl.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("prep"), Runtime: ltypes.RuntimeNodejs22x, Role: aws.String(role),
		Handler: aws.String("index.handler"), Code: &ltypes.FunctionCode{ZipFile: zip},
	})
	must(t, err)
	waitFor(t, "the code unpacked", func() bool { _, err := os.Stat(filepath.Join(dir, "index.js")); return err == nil })
	_, err = cl.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("prep")})
	must(t, err)
	waitFor(t, "the task dir removed", func() bool { _, err := os.Stat(dir); return err != nil })
}

// waitFor polls cond (a condition that becomes true eventually, not a timing check).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
