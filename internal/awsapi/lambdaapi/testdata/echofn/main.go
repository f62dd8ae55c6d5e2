// Command echofn is the Lambda (aws-lambda-go) of the lambdaapi Invoke test: it logs a
// line and answers its event back, or fails when the event says so.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, ev map[string]any) (map[string]any, error) {
	fmt.Println("echofn: invoked with", ev["say"])
	if ev["fail"] == true {
		return nil, errors.New("asked to fail")
	}
	b, _ := json.Marshal(ev)
	return map[string]any{"statusCode": 200, "body": string(b)}, nil
}

func main() { lambda.Start(handle) }
