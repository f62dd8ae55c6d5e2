package awsapi

import (
	"errors"
	"net"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
)

// The retry policy, in one place. The SDK's standard retryer already retries throttling
// (TooManyRequestsException, Throttling, ...), 5xx and connection errors; rudderctl gives it
// more attempts and a longer backoff, no client-side retry quota (a deploy is a short burst
// of calls that must finish), and for Lambda two more transient errors:
//   - IAM propagation: a role created seconds ago "cannot be assumed by Lambda" yet;
//   - ResourceConflictException while an update of the function is in progress.
//
// A ResourceConflictException for anything else (function already exists, duplicate
// permission statement) is not transient and is not retried.
const (
	MaxAttempts = 15
	MaxBackoff  = 8 * time.Second
	BaseDelay   = 200 * time.Millisecond
)

// RetryOption adjusts the standard options after rudderctl's policy is set.
type RetryOption func(*retry.StandardOptions)

// NewRetryer returns the retryer; lambdaErrors adds the Lambda-specific transient errors.
func NewRetryer(lambdaErrors bool, opts ...RetryOption) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.MaxBackoff = MaxBackoff
		o.BaseDelay = BaseDelay
		o.RateLimiter = ratelimit.None
		// An endpoint that cannot be reached at all (no such host, connection refused)
		// will not appear in the next seconds: fail fast with a clear message instead of
		// retrying for half a minute. Resets on established connections are still retried.
		o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if IsUnreachable(err) {
				return aws.FalseTernary
			}
			return aws.UnknownTernary
		})}, o.Retryables...)
		if lambdaErrors {
			o.Retryables = append(o.Retryables, retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
				if IsLambdaTransient(err) {
					return aws.TrueTernary
				}
				return aws.UnknownTernary
			}))
		}
		for _, fn := range opts {
			fn(o)
		}
	})
}

// IsUnreachable reports a failure to reach the endpoint at all (DNS, dial).
func IsUnreachable(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// IsLambdaTransient reports the Lambda errors worth retrying beyond the SDK defaults.
func IsLambdaTransient(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	msg := strings.ToLower(ae.ErrorMessage())
	switch ae.ErrorCode() {
	case "InvalidParameterValueException":
		return strings.Contains(msg, "cannot be assumed by lambda")
	case "ResourceConflictException":
		return strings.Contains(msg, "in progress") || strings.Contains(msg, "inprogress") ||
			strings.Contains(msg, "pending")
	}
	return false
}

// IsCode reports whether err is an AWS API error with one of the codes.
func IsCode(err error, codes ...string) bool { return awserr.IsCode(err, codes...) }

// IsNotFound reports the "does not exist" errors of the services rudderctl uses.
func IsNotFound(err error) bool {
	return IsCode(err, "ResourceNotFoundException", "NoSuchEntity", "NotFoundException", "NoSuchEntityException",
		"NoSuchBucket", "NoSuchKey", "NotFound")
}
