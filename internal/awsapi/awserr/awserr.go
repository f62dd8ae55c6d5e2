// Package awserr types the errors of rudderctl's AWS clients: an *Error says what could not
// be done and why (the way Explain words it: "could not <what>: <why>; <what to do>"), and
// matches errors.Is with one kind (ErrNotFound, ErrAlreadyExists, ...) while the SDK error
// underneath stays reachable with errors.As (smithy.APIError, the codes).
//
// It is a leaf package so that the per-service packages (iamapi, lambdaapi, ...) and
// awsapi itself can share it without an import cycle.
package awserr

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"
)

// The kinds an *Error matches with errors.Is.
var (
	ErrNotFound           = errors.New("does not exist")
	ErrAlreadyExists      = errors.New("already exists")
	ErrConflict           = errors.New("conflicts with the resource's current state")
	ErrPreconditionFailed = errors.New("precondition failed")
	ErrAccessDenied       = errors.New("access denied")
	ErrThrottled          = errors.New("throttled")
)

// Codes maps AWS error codes to a kind for one call (a ResourceConflictException means
// "already exists" to CreateFunction but "update in progress" to UpdateFunctionCode).
type Codes map[string]error

// Error is a failed AWS call.
type Error struct {
	What string // "read IAM role r": what could not be done
	Kind error  // one of the Err* kinds, or a service package's own; nil = unclassified
	Err  error  // the SDK's error
}

func (e *Error) Error() string { return explain(e.What, e.Err) }

// Unwrap gives errors.Is the kind and errors.As the SDK error.
func (e *Error) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Err}
	}
	return []error{e.Kind, e.Err}
}

// Code is the AWS error code ("" when the call did not get an AWS answer).
func (e *Error) Code() string {
	var ae smithy.APIError
	if errors.As(e.Err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Wrap types err (nil stays nil): the kind comes from codes first, then from the codes
// every service shares (see kindOf).
func Wrap(what string, err error, codes Codes) error {
	if err == nil {
		return nil
	}
	e := &Error{What: what, Err: err}
	if c := e.Code(); c != "" {
		if k, ok := codes[c]; ok {
			e.Kind = k
		} else {
			e.Kind = kindOf(c)
		}
	}
	return e
}

// Shared codes, by kind. A code meaning differs per call is left to the call's Codes.
var sharedCodes = map[error][]string{
	ErrNotFound: {"ResourceNotFoundException", "NoSuchEntity", "NotFoundException", "NoSuchEntityException",
		"NoSuchBucket", "NoSuchKey", "NotFound"},
	ErrAlreadyExists:      {"EntityAlreadyExists", "ResourceAlreadyExistsException", "BucketAlreadyOwnedByYou"},
	ErrPreconditionFailed: {"PreconditionFailed", "ConditionalRequestConflict"},
	ErrAccessDenied:       append([]string{"Forbidden"}, credentialCodes...),
	ErrThrottled:          {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown"},
}

// credentialCodes are the refusals that point at the credentials (S3's bare 403
// "Forbidden" to a HEAD does not: it may be another account's bucket).
var credentialCodes = []string{"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException",
	"InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException"}

func kindOf(code string) error {
	for kind, codes := range sharedCodes {
		for _, c := range codes {
			if c == code {
				return kind
			}
		}
	}
	return nil
}

// Explain turns an error into "could not <what>: <why>; <what to do>". An *Error is
// explained from the SDK error it carries, so explaining it again under another "what"
// gives the same text as explaining the SDK error directly.
func Explain(what string, err error) error {
	if err == nil {
		return nil
	}
	return errors.New(explain(what, err))
}

func explain(what string, err error) string {
	var typed *Error
	if errors.As(err, &typed) {
		err = typed.Err
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
	case IsCode(err, credentialCodes...):
		todo = "check the AWS credentials (AWS_PROFILE, `aws sts get-caller-identity`) and that they allow this call"
	case strings.Contains(low, "failed to retrieve credentials") || strings.Contains(low, "no ec2 imds role found") || strings.Contains(low, "get credentials"):
		todo = "configure AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or `aws sso login`)"
	case strings.Contains(low, "connection refused") || strings.Contains(low, "no such host") || strings.Contains(low, "dial tcp"):
		todo = "AWS is unreachable from here; check the network, or AWS_ENDPOINT_URL if you target a local cloud"
	case strings.Contains(low, "exceeded maximum number of attempts") || strings.Contains(low, "retry quota"):
		todo = "AWS kept refusing after retries; wait a little and run the command again (it resumes where it stopped)"
	}
	return fmt.Sprintf("could not %s: %s; %s", what, why, todo)
}

// IsCode reports whether err is an AWS API error with one of the codes.
func IsCode(err error, codes ...string) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.ErrorCode() == c {
			return true
		}
	}
	return false
}
