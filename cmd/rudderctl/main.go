// Command rudderctl deploys a scaled-out RudderStack data plane: the destination
// transformer on Lambda behind API Gateway, and a local cloud to run it all on one machine.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	app := &cli.App{
		Name:    "rudderctl",
		Usage:   "deploy a scaled-out RudderStack data plane (transformer on Lambda, local cloud)",
		Version: version,
		Commands: []*cli.Command{
			initCommand(),
			packageCommand(),
			invokeCommand(),
			serveCommand(),
			localcloudCommand(),
			planCommand(),
			deployCommand(),
			statusCommand(),
			endpointsCommand(),
			logsCommand(),
			rollbackCommand(),
			destroyCommand(),
			workspaceCommand(),
			imageCommand(),
			sidecarCommand(),
			nodesCommand(),
			sinkCommand(),
			exportCommand(),
		},
		// Errors are printed once, by main, in the "what happened: why, what to do" form.
		ExitErrHandler: func(*cli.Context, error) {},
	}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "rudderctl:", err)
		os.Exit(exitCode(err))
	}
}

// exitCode keeps an explicit cli.Exit code, else 1.
func exitCode(err error) int {
	if ec, ok := err.(cli.ExitCoder); ok && ec.ExitCode() != 0 {
		return ec.ExitCode()
	}
	return 1
}
