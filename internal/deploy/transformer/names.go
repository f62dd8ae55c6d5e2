// Package transformer deploys the RudderStack destination transformer to AWS Lambda behind
// an API Gateway HTTP API: observe (read-only calls) -> Plan (pure) -> Apply.
//
// The cloud is the only record: everything is tagged rudderctl:stack=<name> and found again
// by tag or by name; there is no local state file. Every step is idempotent, so an
// interrupted deploy is finished by running it again.
package transformer

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/stack"
	"github.com/rudderctl/rudderctl/lambda/manifest"
)

// TagKey marks everything a stack owns (stack.TagKey).
const TagKey = stack.TagKey

// Fixed names and values inside a stack.
const (
	AliasName       = "live"
	Handler         = "rudderctl.handler"
	WrapperEnv      = "AWS_LAMBDA_EXEC_WRAPPER"
	WrapperPath     = "/var/task/" + manifest.WrapperName
	PrefixEnv       = "RUDDERCTL_PATH_PREFIX"
	PolicyName      = "rudderctl-logs"
	StatementID     = "rudderctl-apigateway-invoke"
	StageName       = "$default"
	RolePath        = "/rudderctl/"
	MaxDirectUpload = 52_428_800  // 50 MB: Lambda's limit for a zip sent in the request
	MaxUnzipped     = 262_144_000 // 250 MB: Lambda's limit for the unzipped code
	CodePrefix      = "transformer/"
)

// BucketName is the stack's bucket (stack.BucketName), where zips over MaxDirectUpload go.
func BucketName(stackName, account, region string) string {
	return stack.BucketName(stackName, account, region)
}

// CodeKey is the object key of a zip in the bucket: content-addressed by its SHA-256, so an
// upload is never repeated and a key never changes meaning. codeSha256 is base64, as Lambda
// reports it.
func CodeKey(codeSha256 string) string {
	b, err := base64.StdEncoding.DecodeString(codeSha256)
	if err != nil || len(b) != sha256.Size {
		return CodePrefix + "invalid-" + strings.NewReplacer("/", "_", "+", "-", "=", "").Replace(codeSha256) + ".zip"
	}
	return CodePrefix + hex.EncodeToString(b) + ".zip"
}

// Names are the AWS names of one stack's transformer (docs/CONTRACTS.md §6).
type Names struct {
	Stack    string
	Role     string
	Function string
	LogGroup string
	API      string
}

// NamesFor derives every name from the stack name.
func NamesFor(stack string) Names {
	base := "rudderctl-" + stack + "-transformer"
	return Names{Stack: stack, Role: base, Function: base, LogGroup: "/aws/lambda/" + base, API: base}
}

// Tags is the tag set put on every resource.
func (n Names) Tags() map[string]string { return map[string]string{TagKey: n.Stack} }

// NewSecret returns a random URL-safe secret of 192 bits.
func NewSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("could not generate the endpoint secret: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

var secretRe = regexp.MustCompile(`^[A-Za-z0-9_-]{22,}$`)

// SecretFromPrefix reads the secret back from a RUDDERCTL_PATH_PREFIX value ("/<secret>").
func SecretFromPrefix(prefix string) (string, bool) {
	s := strings.TrimPrefix(prefix, "/")
	if s == prefix || !secretRe.MatchString(s) {
		return "", false
	}
	return s, true
}

// RouteKeys are the only routes of the API: everything under /<secret>.
func RouteKeys(secret string) []string {
	return []string{"ANY /" + secret + "/{proxy+}", "ANY /" + secret}
}

// redact hides the secret in anything shown to a person.
func redact(s, secret string) string { return engine.Redact(s, secret) }

// RoleARN, FunctionARN, ... build ARNs in the aws partition.
func RoleARN(account, role string) string {
	return "arn:aws:iam::" + account + ":role" + RolePath + role
}

func LogGroupARN(region, account, group string) string {
	return "arn:aws:logs:" + region + ":" + account + ":log-group:" + group
}

func SourceARN(region, account, apiID string) string {
	return "arn:aws:execute-api:" + region + ":" + account + ":" + apiID + "/*/*"
}

// TrustPolicy lets Lambda assume the role.
const TrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// LogsPolicy is the role's only permission: write to the function's own log group.
func LogsPolicy(region, account, group string) string {
	arn := LogGroupARN(region, account, group)
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":["` + arn + `:*"]}]}`
}
