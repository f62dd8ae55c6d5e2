package awsapi

import "github.com/rudderctl/rudderctl/internal/awsapi/awserr"

// The kinds the per-service clients' errors match with errors.Is (see package awserr).
var (
	ErrNotFound           = awserr.ErrNotFound
	ErrAlreadyExists      = awserr.ErrAlreadyExists
	ErrConflict           = awserr.ErrConflict
	ErrPreconditionFailed = awserr.ErrPreconditionFailed
	ErrAccessDenied       = awserr.ErrAccessDenied
	ErrThrottled          = awserr.ErrThrottled
)

// Explain turns an SDK error into "could not <what>: <why>; <what to do>".
func Explain(what string, err error) error { return awserr.Explain(what, err) }
