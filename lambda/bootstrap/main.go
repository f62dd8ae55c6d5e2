// Command rudderctl-bootstrap runs a Node app on AWS Lambda: it starts the app, then turns API
// Gateway HTTP API (payload 2.0) events into HTTP requests to it. See package lambda.
package main

import (
	"os"

	"github.com/rudderctl/rudderctl/lambda"
)

func main() { os.Exit(lambda.Main()) }
