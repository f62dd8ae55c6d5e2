package localcloud

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/rudderctl/rudderctl/internal/awsapi"
)

// TestReservedEnvTable: CreateFunction and UpdateFunctionConfiguration refuse exactly the
// keys of awsapi.LambdaEnvCases marked reserved — the table rudderctl's config validation
// is tested against too, so the two sides cannot drift apart.
func TestReservedEnvTable(t *testing.T) {
	c := startCloud(t, Options{})
	cl := sdk(c, false)
	ctx := context.Background()
	role := mkRole(t, cl, "env-role")
	base := func(name string, env map[string]string) *lambda.CreateFunctionInput {
		return &lambda.CreateFunctionInput{
			FunctionName: aws.String(name), Runtime: ltypes.RuntimeNodejs22x, Role: aws.String(role),
			Handler: aws.String("index.handler"), Code: &ltypes.FunctionCode{ZipFile: dummyZip(t, "x")},
			MemorySize: aws.Int32(128), Timeout: aws.Int32(3), Environment: &ltypes.Environment{Variables: env},
		}
	}
	_, err := cl.lambda.CreateFunction(ctx, base("env-fn", map[string]string{"A1": "1"}))
	must(t, err)
	waitFor := func() {
		w := lambda.NewFunctionUpdatedV2Waiter(cl.lambda)
		must(t, w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("env-fn")}, 30e9))
	}
	waitFor()
	for i, tc := range awsapi.LambdaEnvCases() {
		env := map[string]string{tc.Key: "1"}
		_, cerr := cl.lambda.CreateFunction(ctx, base("env-case-"+strings.ToLower(strings.Trim(tc.Key, "_")), env))
		_, uerr := cl.lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("env-fn"), Environment: &ltypes.Environment{Variables: env}})
		for op, err := range map[string]error{"CreateFunction": cerr, "UpdateFunctionConfiguration": uerr} {
			switch {
			case tc.Reserved && (err == nil || !strings.Contains(err.Error(), "reserved keys")):
				t.Errorf("case %d %s: %s accepted it (or another error: %v), but Lambda reserves it", i, tc.Key, op, err)
			case !tc.Reserved && err != nil:
				t.Errorf("case %d %s: %s refused it: %v", i, tc.Key, op, err)
			}
		}
		if uerr == nil {
			waitFor()
		}
	}
}
