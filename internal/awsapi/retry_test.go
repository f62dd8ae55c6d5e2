package awsapi

import (
	"errors"
	"net"
	"testing"

	"github.com/aws/smithy-go"
)

func TestRetryPolicy(t *testing.T) {
	lam := NewRetryer(true)
	other := NewRetryer(false)
	cases := []struct {
		name          string
		err           error
		lambda, other bool
	}{
		{"propagation", &smithy.GenericAPIError{Code: "InvalidParameterValueException", Message: "The role defined for the function cannot be assumed by Lambda."}, true, false},
		{"update in progress", &smithy.GenericAPIError{Code: "ResourceConflictException", Message: "The operation cannot be performed at this time. An update is in progress for resource: arn:x"}, true, false},
		{"pending", &smithy.GenericAPIError{Code: "ResourceConflictException", Message: "The function is currently in the following state: Pending"}, true, false},
		{"already exists", &smithy.GenericAPIError{Code: "ResourceConflictException", Message: "Function already exist: f"}, false, false},
		{"duplicate statement", &smithy.GenericAPIError{Code: "ResourceConflictException", Message: "The statement id (x) provided already exists."}, false, false},
		{"throttling", &smithy.GenericAPIError{Code: "TooManyRequestsException", Message: "Rate exceeded"}, true, true},
		{"iam throttling", &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}, true, true},
		{"bad param", &smithy.GenericAPIError{Code: "InvalidParameterValueException", Message: "memory"}, false, false},
		{"plain", errors.New("x"), false, false},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, false, false},
		{"dns", &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}, false, false},
	}
	for _, c := range cases {
		if got := lam.IsErrorRetryable(c.err); got != c.lambda {
			t.Errorf("%s: lambda retryable = %v", c.name, got)
		}
		if got := other.IsErrorRetryable(c.err); got != c.other {
			t.Errorf("%s: other retryable = %v", c.name, got)
		}
	}
	if lam.MaxAttempts() != MaxAttempts {
		t.Errorf("max attempts %d", lam.MaxAttempts())
	}
}
