package localcloud

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/rudderctl/rudderctl/internal/testenv"
)

// TestAWSCLI checks that the real AWS CLI parses what the cloud answers.
func TestAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("the AWS CLI is slow to start")
	}
	c := startCloud(t, Options{})
	cl := sdk(c, false)
	ctx := context.Background()
	role := mkRole(t, cl, "cli-role")
	_, err := cl.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("cli-fn"), Runtime: ltypes.RuntimeNodejs22x,
		Role: aws.String(role), Handler: aws.String("h.h"), Code: &ltypes.FunctionCode{ZipFile: dummyZip(t, "cli")}, Tags: map[string]string{"rudderctl:stack": "cli"}})
	must(t, err)
	api, err := cl.apigw.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("cli-api"), ProtocolType: agtypes.ProtocolTypeHttp})
	must(t, err)

	run := awsCLI(t, c.Endpoint())

	id := run("sts", "get-caller-identity")
	if id["Account"] != AccountID {
		t.Fatalf("sts: %v", id)
	}
	r := run("iam", "get-role", "--role-name", "cli-role")
	role0 := r["Role"].(map[string]any)
	if role0["Arn"] != role {
		t.Fatalf("iam get-role: %v", r)
	}
	// The CLI decodes the URL-encoded trust policy into a document.
	if _, ok := role0["AssumeRolePolicyDocument"].(map[string]any); !ok {
		t.Fatalf("trust policy not decoded: %#v", role0["AssumeRolePolicyDocument"])
	}
	f := run("lambda", "get-function", "--function-name", "cli-fn")
	if f["Configuration"].(map[string]any)["FunctionName"] != "cli-fn" || f["Tags"].(map[string]any)["rudderctl:stack"] != "cli" {
		t.Fatalf("lambda get-function: %v", f)
	}
	apis := run("apigatewayv2", "get-apis")
	items := apis["Items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["ApiId"] != *api.ApiId {
		t.Fatalf("apigatewayv2 get-apis: %v", apis)
	}
	run("logs", "create-log-group", "--log-group-name", "/cli/group")
	lg := run("logs", "describe-log-groups", "--log-group-name-prefix", "/cli/")
	if len(lg["logGroups"].([]any)) != 1 {
		t.Fatalf("logs describe-log-groups: %v", lg)
	}
	lv := run("lambda", "list-versions-by-function", "--function-name", "cli-fn")
	if len(lv["Versions"].([]any)) != 1 {
		t.Fatalf("list-versions: %v", lv)
	}
}

// awsCLI returns a runner of the real AWS CLI (v1) against endpoint, with dummy credentials and
// an empty config, decoding its JSON output. Without the CLI the test is skipped, except in CI
// (.ci/run installs it), where a missing CLI must fail rather than pass unseen.
func awsCLI(t *testing.T, endpoint string) func(args ...string) map[string]any {
	t.Helper()
	awsBin := testenv.LookPath(t, "aws", "the AWS CLI checks the wire format; apt-get install awscli, as scripts/test.sh does")
	home := t.TempDir()
	return func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(awsBin, append([]string{"--endpoint-url", endpoint, "--output", "json"}, args...)...)
		var env []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "AWS_") {
				env = append(env, kv)
			}
		}
		cmd.Env = append(env, "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x", "AWS_DEFAULT_REGION=us-east-1",
			"AWS_CONFIG_FILE="+filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"), "AWS_PAGER=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		var v map[string]any
		if len(strings.TrimSpace(string(out))) == 0 {
			return v
		}
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("aws %s: not JSON: %v\n%s", strings.Join(args, " "), err, out)
		}
		return v
	}
}
