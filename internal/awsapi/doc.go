// Package awsapi is how rudderctl reaches AWS: a Session (one region; the default
// credential chain; AWS_ENDPOINT_URL(_<SERVICE>) honoured by the SDK; S3 path-style only
// with an endpoint override) that builds each service's client the first time it is used,
// and the one retry policy (retry.go).
//
// Each service has its own small package of domain-shaped calls, only the ones rudderctl
// makes: stsapi, iamapi (FindRole, ListRolePolicies, PutInlinePolicy...), logsapi
// (FindLogGroup, FilterEvents...), lambdaapi (FindFunction, PublishVersion, WaitUpdated,
// Invoke...), apigwapi (FindAPIsByTag, CreateRoute...) and s3api (FindBucket, ListKeys,
// conditional PutObject...). Lists read every page with the SDK's paginators (API Gateway
// v2 has none: apigwapi pages on NextToken in one helper). Errors are *awserr.Error:
// errors.Is(err, awsapi.ErrNotFound) (ErrAlreadyExists, ErrConflict, ...) picks the case,
// errors.As still reaches the SDK error, and the text reads "could not <what>: <why>;
// <what to do>" like Explain.
package awsapi
