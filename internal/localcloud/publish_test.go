package localcloud

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// PublishVersion on unchanged code and configuration returns the newest version, also
// when it carries a Description (as a deploy's does) and when calls race.
func TestPublishVersionUnchanged(t *testing.T) {
	c := startCloud(t, Options{})
	cl := sdk(c, false)
	ctx := context.Background()
	role := mkRole(t, cl, "pub-role")
	const fn = "pub"
	_, err := cl.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(fn), Runtime: ltypes.RuntimeNodejs22x,
		Role: aws.String(role), Handler: aws.String("index.handler"), Code: &ltypes.FunctionCode{ZipFile: dummyZip(t, "p")},
		Description: aws.String("the function")})
	must(t, err)
	waitUpdated(t, cl, fn)

	publishConcurrently := func() []string {
		var wg sync.WaitGroup
		got := make([]string, 4)
		for i := range got {
			wg.Go(func() {
				out, err := cl.lambda.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(fn), Description: aws.String("rudderctl deploy")})
				if err != nil {
					t.Error(err)
					return
				}
				got[i] = aws.ToString(out.Version)
			})
		}
		wg.Wait()
		return got
	}
	for round := range 2 {
		for _, v := range publishConcurrently() {
			if v != "1" {
				t.Fatalf("round %d: published %q, want version 1 every time", round, v)
			}
		}
	}
	cfg, err := cl.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn), Qualifier: aws.String("1")})
	must(t, err)
	if aws.ToString(cfg.Description) != "rudderctl deploy" {
		t.Errorf("version 1 description %q, want PublishVersion's", aws.ToString(cfg.Description))
	}
	latest, err := cl.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn)})
	must(t, err)
	if aws.ToString(latest.Description) != "the function" {
		t.Errorf("$LATEST description %q, want the function's", aws.ToString(latest.Description))
	}

	// A change publishes exactly one new version.
	_, err = cl.lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(fn), MemorySize: aws.Int32(256)})
	must(t, err)
	waitUpdated(t, cl, fn)
	for _, v := range publishConcurrently() {
		if v != "2" {
			t.Fatalf("after a change: published %q, want version 2 every time", v)
		}
	}
	vs, err := cl.lambda.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(fn)})
	must(t, err)
	if len(vs.Versions) != 3 {
		t.Errorf("%d versions ($LATEST included), want 3", len(vs.Versions))
	}
}
