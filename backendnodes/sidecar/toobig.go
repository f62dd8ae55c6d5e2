package sidecar

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// The answers of the Lambda path that mean "too big for Lambda, send it to ECS". They are
// exactly what API Gateway, Lambda and rudderctl's adapter (lambda/) say, and what the local
// cloud's API stage and internal/apigwlocal reproduce:
const (
	// ReasonRequestTooLarge: API Gateway's 413 {"message":"Request Entity Too Large"}, for a
	// body over its 10 MB or an event over Lambda's 6 MB invoke payload; nothing was invoked.
	ReasonRequestTooLarge = "request_too_large"
	// ReasonResponseTooLarge: rudderctl's adapter's 502 {"error":"the app's response is too
	// large for Lambda: ...","source":"rudderctl-adapter"}: the app answered, but its answer
	// does not fit in Lambda's 6 MB response payload.
	ReasonResponseTooLarge = "response_too_large"
	// ReasonFunctionError: API Gateway's own 500 {"message":"Internal Server Error"}: the
	// invocation failed. Lambda reports a response over 6 MB this way
	// (Function.ResponseSizeTooLarge); a function that crashed on a big batch looks the same,
	// and the ECS transformer, with no such limits, is the right place to try it again.
	ReasonFunctionError = "function_error"
)

// adapterTooLargePrefix starts lambda.ResponseTooLargeError's message (a test pins it).
const adapterTooLargePrefix = "the app's response is too large for Lambda"

// adapterSource is lambda.ErrorSource (a test pins it).
const adapterSource = "rudderctl-adapter"

// maxRefusalBody bounds what is read of a candidate refusal: the gateway's and the adapter's
// bodies are a few hundred bytes.
const maxRefusalBody = 64 << 10

// tooBigForLambda reads a Lambda-path answer that may be a size refusal. It returns the
// reason ("" = pass the answer through) and the bytes it read from the body, which the
// caller writes before the rest.
func tooBigForLambda(resp *http.Response) (reason string, prefix []byte, err error) {
	switch resp.StatusCode {
	case http.StatusRequestEntityTooLarge:
		return ReasonRequestTooLarge, nil, nil
	case http.StatusBadGateway, http.StatusInternalServerError:
	default:
		return "", nil, nil
	}
	if resp.ContentLength > maxRefusalBody || resp.Header.Get("Content-Encoding") != "" {
		return "", nil, nil // too big or encoded to be a gateway or adapter message
	}
	prefix, err = io.ReadAll(io.LimitReader(resp.Body, maxRefusalBody+1))
	if err != nil || len(prefix) > maxRefusalBody {
		return "", prefix, err
	}
	return refusalReason(resp.StatusCode, prefix), prefix, nil
}

// refusalReason classifies a complete small error body.
func refusalReason(status int, body []byte) string {
	body = bytes.TrimSpace(body)
	switch status {
	case http.StatusInternalServerError:
		var gw map[string]any
		if json.Unmarshal(body, &gw) == nil && len(gw) == 1 && gw["message"] == "Internal Server Error" {
			return ReasonFunctionError
		}
	case http.StatusBadGateway:
		var ad struct {
			Error  string `json:"error"`
			Source string `json:"source"`
		}
		if json.Unmarshal(body, &ad) == nil && ad.Source == adapterSource && strings.HasPrefix(ad.Error, adapterTooLargePrefix) {
			return ReasonResponseTooLarge
		}
	}
	return ""
}
