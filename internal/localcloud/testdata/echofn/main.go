// Command echofn is a tiny Lambda function for the local cloud's tests: it answers
// payload-2.0 events with what it saw, and misbehaves on request.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	fmt.Printf("echofn: %s %s\n", req.RequestContext.HTTP.Method, req.RawPath)
	switch {
	case strings.HasSuffix(req.RawPath, "/crash"):
		os.Exit(3)
	case strings.HasSuffix(req.RawPath, "/error"):
		return events.APIGatewayV2HTTPResponse{}, errors.New("echofn: asked to fail")
	case strings.HasSuffix(req.RawPath, "/sleep"):
		time.Sleep(5 * time.Second)
	case strings.HasSuffix(req.RawPath, "/big"):
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: strings.Repeat("x", 7<<20)}, nil
	}
	b, _ := json.Marshal(map[string]any{
		"path":     req.RawPath,
		"method":   req.RequestContext.HTTP.Method,
		"routeKey": req.RouteKey,
		"params":   req.PathParameters,
		"body":     req.Body,
		"greeting": os.Getenv("GREETING"),
		"version":  os.Getenv("AWS_LAMBDA_FUNCTION_VERSION"),
	})
	return events.APIGatewayV2HTTPResponse{
		StatusCode: 200,
		Headers:    map[string]string{"content-type": "application/json", "x-echo": "1"},
		Body:       string(b),
	}, nil
}

func main() { lambda.Start(handle) }
