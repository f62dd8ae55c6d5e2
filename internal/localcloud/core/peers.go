package core

// The small interfaces rooms use to reach each other (found with Peer): a room never
// imports another.

import (
	"context"
	"fmt"
)

// Roles is what Lambda asks IAM.
type Roles interface {
	// RoleUsable reports whether a role ARN exists and is older than the propagation delay.
	RoleUsable(arn string) bool
}

// Objects is what Lambda reads function code from (S3).
type Objects interface {
	// ReadObject returns an object's bytes. A bucket, region or key that does not answer is
	// an *ObjectError with S3's error code.
	ReadObject(region, bucket, key string) ([]byte, error)
}

// ObjectError is S3's answer to a GetObject that fails.
type ObjectError struct{ Code, Message string }

func (e *ObjectError) Error() string { return fmt.Sprintf("S3 %s: %s", e.Code, e.Message) }

// FunctionLogs is where a running function's lines go (CloudWatch Logs).
type FunctionLogs interface {
	// AppendFunctionLog records a line a function printed in /aws/lambda/<fn>, stream stream.
	AppendFunctionLog(fn, region, stream, line string)
}

// Functions is what an API stage invokes (Lambda).
type Functions interface {
	// GatewayGrant reports whether the function exists and whether its resource policy (of
	// the qualifier) lets apigateway.amazonaws.com invoke it from sourceArn; arn names it.
	GatewayGrant(fn, qual, sourceArn string) (exists, allowed bool, arn string)
	// InvokeFunction runs one synchronous invocation. err: the function (version) is not
	// there or not ready; a function that fails is a FunctionError, not err.
	InvokeFunction(ctx context.Context, fn, qual string, payload []byte) (payload2 []byte, functionError string, err error)
}
