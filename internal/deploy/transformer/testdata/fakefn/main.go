// Command fakefn is a tiny stand-in for the rudderctl adapter used by the deploy tests: a
// Lambda (aws-lambda-go) answering API Gateway payload-2.0 events, honouring
// RUDDERCTL_PATH_PREFIX like the real adapter, with the header apiVersion: 2.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if f := os.Getenv("FAKE_COUNTER"); f != "" {
		if fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintln(fh, ev.RawPath)
			fh.Close()
		}
	}
	fmt.Println("fakefn: invoked", ev.RequestContext.HTTP.Method)
	prefix := os.Getenv("RUDDERCTL_PATH_PREFIX")
	path := ev.RawPath
	if prefix != "" {
		if path != prefix && !strings.HasPrefix(path, prefix+"/") {
			return events.APIGatewayV2HTTPResponse{StatusCode: 404, Headers: map[string]string{"content-type": "application/json"},
				Body: `{"error":"path prefix missing","source":"rudderctl-adapter"}`}, nil
		}
		path = strings.TrimPrefix(path, prefix)
	}
	variant := readVariant()
	if variant == "unhealthy" { // a broken build: starts, but answers 500
		fmt.Println("fakefn: unhealthy: the database is unreachable")
		return events.APIGatewayV2HTTPResponse{StatusCode: 500, Headers: map[string]string{"content-type": "application/json"}, Body: `{"error":"unhealthy"}`}, nil
	}
	body, _ := json.Marshal(map[string]string{"path": path, "variant": variant, "version": os.Getenv("AWS_LAMBDA_FUNCTION_VERSION")})
	return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"content-type": "application/json", "apiVersion": "2"}, Body: string(body)}, nil
}

func readVariant() string {
	v, _ := os.ReadFile(filepath.Join(os.Getenv("LAMBDA_TASK_ROOT"), "variant.txt"))
	return strings.TrimSpace(string(v))
}

func main() {
	if readVariant() == "crash-init" { // a broken build that dies before serving anything
		fmt.Fprintln(os.Stderr, "fakefn: cannot start: missing module ./dist/app.js")
		os.Exit(3)
	}
	lambda.Start(handle)
}
