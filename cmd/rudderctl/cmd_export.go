package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/backendnodes/compose"
)

// exportCommand is `rudderctl export compose`: the node-pairs topology as a docker compose
// file (backendnodes/compose).
func exportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write the topology in another tool's format",
		Subcommands: []*cli.Command{{
			Name:      "compose",
			Usage:     "write N rudder-server + Postgres pairs behind nginx, with the transformers, as a docker compose file",
			UsageText: "rudderctl export compose --count N [--out FILE] [--workspace-config FILE]",
			Description: `Per backend i: a Postgres service db<i> (postgres:15, its own volume, pg_isready health check)
and a rudder-server service backend<i> (INSTANCE_ID=i, HOSTNAME=rudder-node-<i>, JOBS_DB_* on
db<i>, started once db<i> is healthy); an nginx in front of backend1..N on --port; the
destination and user-functions transformers behind their own nginx (/customTransform to
the user-functions one). nginx configs are inlined (configs: content:), so the file stands
alone. It holds no secrets: DB_PASSWORD (and, without --workspace-config, CONFIG_BACKEND_URL
and WORKSPACE_TOKEN) are compose variables that must be set at "docker compose up".
The file is checked with the compose-spec loader before it is written; an invalid file, or
bad input, writes nothing.

Examples:
   rudderctl export compose --count 3 --out compose.yaml
   DB_PASSWORD=... CONFIG_BACKEND_URL=... WORKSPACE_TOKEN=... docker compose -f compose.yaml up
   rudderctl workspace render --out workspaceConfig.json
   rudderctl export compose --count 2 --workspace-config workspaceConfig.json --out compose.yaml`,
			Flags: []cli.Flag{
				&cli.IntFlag{Name: "count", Usage: fmt.Sprintf("`N` backend+database pairs (%d..%d)", compose.MinCount, compose.MaxCount)},
				&cli.StringFlag{Name: "out", Usage: "write the file to `FILE` (default: stdout)"},
				&cli.StringFlag{Name: "name", Value: compose.DefaultProject, Usage: "compose project `NAME`"},
				&cli.IntFlag{Name: "port", Value: compose.DefaultPort, Usage: "host `PORT` of the backends' nginx"},
				&cli.StringFlag{Name: "server-image", Value: compose.DefaultServerImage, Usage: "rudder-server `IMAGE`"},
				&cli.StringFlag{Name: "transformer-image", Value: compose.DefaultTransformerImage, Usage: "destination transformer `IMAGE`"},
				&cli.StringFlag{Name: "user-transformer-image", Value: compose.DefaultUserTransformerImage, Usage: "user-functions transformer `IMAGE`"},
				&cli.StringFlag{Name: "workspace-config", Usage: "workspace config JSON `FILE` (rudderctl workspace render --out) mounted into the backends (file mode), by path relative to the compose file; default: CONFIG_BACKEND_URL + WORKSPACE_TOKEN"},
			},
			Action: runExportCompose,
		}},
	}
}

func runExportCompose(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	if !c.IsSet("count") {
		return fmt.Errorf("export compose: --count missing: say how many backend+database pairs to write (%d..%d), e.g. --count 3", compose.MinCount, compose.MaxCount)
	}
	o := compose.Options{
		Count:                c.Int("count"),
		Project:              c.String("name"),
		Port:                 c.Int("port"),
		ServerImage:          c.String("server-image"),
		TransformerImage:     c.String("transformer-image"),
		UserTransformerImage: c.String("user-transformer-image"),
		WorkspaceConfig:      c.String("workspace-config"),
	}
	if c.IsSet("port") && o.Port == 0 {
		return fmt.Errorf("export compose: --port 0 refused: give the host port of the backends' nginx (1..65535)")
	}
	out := c.String("out")
	if c.IsSet("out") && out == "" {
		return fmt.Errorf("export compose: --out is empty: give a file path, or leave --out out to print the file")
	}
	if err := compose.Write(c.Context, o, out, c.App.Writer); err != nil {
		return fmt.Errorf("export compose: %w", err)
	}
	if out != "" {
		fmt.Fprintf(c.App.ErrWriter, "wrote %s: %d backend+database pairs, checked with the compose-spec loader\n", out, o.Count)
	}
	return nil
}
