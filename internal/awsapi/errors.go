package awsapi

import (
	"errors"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
)

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

// Absent turns a find's ErrNotFound into (nil, nil), for the callers that gather an
// observed state, where nil means "does not exist".
func Absent[T any](v *T, err error) (*T, error) {
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return v, err
}
