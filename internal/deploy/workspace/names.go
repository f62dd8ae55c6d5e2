// Package workspace deploys the stack's workspace server (internal/workspace/serve): a Go
// Lambda function (provided.al2023) routed on the stack's HTTP API (the one the transformer
// created) under the stack's secret path prefix. Observe (read-only) -> plan (pure) ->
// apply (engine.Run), like every component; the cloud is the only record.
//
// The token rudder-server authenticates with and the write keys the stack generated live in
// the function's environment (generated once, read back on every deploy), never in the zip.
package workspace

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/rudderctl/rudderctl/internal/deploy/transformer"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// ComponentName is the component's name (resource names, plan/deploy subcommand).
const ComponentName = "workspace"

// Fixed values of the function.
const (
	AliasName   = "live"
	Runtime     = "provided.al2023"
	Handler     = "bootstrap"
	Memory      = 128
	Timeout     = 10
	PolicyName  = "rudderctl-logs"
	RolePath    = "/rudderctl/"
	StatementID = "rudderctl-apigateway-invoke-workspace"
	// EnvLimit is Lambda's limit on a function's environment (keys and values).
	EnvLimit = 4096
)

// Names are the AWS names of one stack's workspace server, and of the transformer whose
// API and secret it shares.
type Names struct {
	Stack       string
	Function    string
	Role        string
	LogGroup    string
	Transformer transformer.Names
}

// NamesFor derives the names from the stack name.
func NamesFor(stackName string) Names {
	base := stack.ResourceName(stackName, ComponentName)
	return Names{Stack: stackName, Function: base, Role: base, LogGroup: "/aws/lambda/" + base, Transformer: transformer.NamesFor(stackName)}
}

// Tags are put on everything the component creates.
func (n Names) Tags() map[string]string { return stack.ComponentTags(n.Stack, ComponentName) }

// RouteKeys are the workspace routes on the stack's API, under the secret prefix.
func RouteKeys(secret string) []string {
	return []string{
		"GET /" + secret + "/workspaceConfig",
		"GET /" + secret + "/transformation/getByVersionId",
		"GET /" + secret + "/transformationLibrary/getByVersionId",
		"POST /" + secret + "/data-plane/v1/workspaces/{workspaceId}/settings",
	}
}

// newSecretValue is a random URL-safe value of 256 bits (the workspace token, write keys).
func newSecretValue(what string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("could not generate the %s: %v", what, err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// newWriteKey is a write key shaped like RudderStack's (27 alphanumerics), uniform: bytes
// of 248 and above are drawn again (248 = 4 * 62).
func newWriteKey() (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, 0, 27)
	buf := make([]byte, 64)
	for len(out) < 27 {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("could not generate a write key: %v", err)
		}
		for _, b := range buf {
			if b < 248 && len(out) < 27 {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

func roleARN(account, role string) string {
	return "arn:aws:iam::" + account + ":role" + RolePath + role
}

func logGroupARN(region, account, group string) string {
	return "arn:aws:logs:" + region + ":" + account + ":log-group:" + group
}

func sourceARN(region, account, apiID string) string {
	return "arn:aws:execute-api:" + region + ":" + account + ":" + apiID + "/*/*"
}

const trustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func logsPolicy(region, account, group string) string {
	arn := logGroupARN(region, account, group)
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":["` + arn + `:*"]}]}`
}
