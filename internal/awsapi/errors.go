package awsapi

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"
)

// Explain turns an SDK error into "could not <what>: <why>; <what to do>".
func Explain(what string, err error) error {
	if err == nil {
		return nil
	}
	why := err.Error()
	var ae smithy.APIError
	if errors.As(err, &ae) {
		why = ae.ErrorCode()
		if m := ae.ErrorMessage(); m != "" {
			why += ": " + m
		}
	}
	todo := "check the error above and run the command again (every step is idempotent)"
	low := strings.ToLower(err.Error())
	switch {
	case IsCode(err, "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException"):
		todo = "check the AWS credentials (AWS_PROFILE, `aws sts get-caller-identity`) and that they allow this call"
	case strings.Contains(low, "failed to retrieve credentials") || strings.Contains(low, "no ec2 imds role found") || strings.Contains(low, "get credentials"):
		todo = "configure AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or `aws sso login`)"
	case strings.Contains(low, "connection refused") || strings.Contains(low, "no such host") || strings.Contains(low, "dial tcp"):
		todo = "AWS is unreachable from here; check the network, or AWS_ENDPOINT_URL if you target a local cloud"
	case strings.Contains(low, "exceeded maximum number of attempts") || strings.Contains(low, "retry quota"):
		todo = "AWS kept refusing after retries; wait a little and run the command again (it resumes where it stopped)"
	}
	return fmt.Errorf("could not %s: %s; %s", what, why, todo)
}
