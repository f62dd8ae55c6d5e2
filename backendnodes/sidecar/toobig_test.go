package sidecar

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rudderctl/rudderctl/internal/apigwlocal"
	"github.com/rudderctl/rudderctl/lambda"
)

// TestRefusalsAreWhatTheLambdaPathSays pins the classification to the answers the real code
// writes: API Gateway's own errors (internal/apigwlocal, which the local cloud's API stage
// uses) and rudderctl's adapter's oversized-response answer (lambda/), decoded by the gateway.
func TestRefusalsAreWhatTheLambdaPathSays(t *testing.T) {
	gatewayError := func(status int) *http.Response {
		rec := httptest.NewRecorder()
		apigwlocal.WriteGatewayError(rec, status)
		return rec.Result()
	}
	adapterAnswer := func(status int, msg string) *http.Response {
		rec := httptest.NewRecorder()
		if err := apigwlocal.WriteResponse(rec, lambda.ErrorResponse(status, msg)); err != nil {
			t.Fatal(err)
		}
		return rec.Result()
	}
	appAnswer := func(status int, body string) *http.Response {
		rec := httptest.NewRecorder()
		rec.WriteHeader(status)
		rec.WriteString(body)
		return rec.Result()
	}
	tooLarge := (&lambda.ResponseTooLargeError{Bytes: 7 << 20}).Error()
	for _, tc := range []struct {
		name string
		resp *http.Response
		want string
	}{
		{"gateway 413", gatewayError(http.StatusRequestEntityTooLarge), ReasonRequestTooLarge},
		{"gateway 500 (function failed: Function.ResponseSizeTooLarge)", gatewayError(http.StatusInternalServerError), ReasonFunctionError},
		{"adapter 502 response too large", adapterAnswer(http.StatusBadGateway, tooLarge), ReasonResponseTooLarge},
		{"adapter 502 app unreachable", adapterAnswer(http.StatusBadGateway, "the app is unreachable: EOF"), ""},
		{"adapter 504 deadline", adapterAnswer(http.StatusGatewayTimeout, "the app did not answer"), ""},
		{"gateway 503 timeout", gatewayError(http.StatusServiceUnavailable), ""},
		{"app 500", appAnswer(http.StatusInternalServerError, `{"message":"Internal Server Error","detail":"x"}`), ""},
		{"app 502 text", appAnswer(http.StatusBadGateway, "Bad Gateway"), ""},
		{"app 404", appAnswer(http.StatusNotFound, `{"error":"Unknown destination: x"}`), ""},
		{"app 200", appAnswer(http.StatusOK, `[]`), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := tooBigForLambda(tc.resp)
			if err != nil || got != tc.want {
				t.Fatalf("reason %q (err %v), want %q", got, err, tc.want)
			}
		})
	}
	if adapterSource != lambda.ErrorSource {
		t.Fatalf("adapterSource %q, the adapter says %q", adapterSource, lambda.ErrorSource)
	}
}
