// Command rudderctl-workspace is the workspace server's Lambda function (provided.al2023,
// built as the zip's `bootstrap`): it answers rudder-server's workspace config and the
// transformer's code routes from the workspace.json bundled beside it. See
// internal/workspace/serve and docs/WORKSPACE.md.
package main

import (
	"os"

	"github.com/rudderctl/rudderctl/internal/workspace/serve"
)

func main() { os.Exit(serve.Main()) }
