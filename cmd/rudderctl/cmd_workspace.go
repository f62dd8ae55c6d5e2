package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/internal/workspace"
)

// workspaceCommand is `rudderctl workspace render|import`: the workspace file
// (sources, destinations, user functions) compiled to rudder-server's workspace config.
func workspaceCommand() *cli.Command {
	return &cli.Command{
		Name:        "workspace",
		Usage:       "compile a workspace file (sources, destinations, user functions) to rudder-server's workspace config",
		Subcommands: []*cli.Command{workspaceRenderCommand(), workspaceImportCommand()},
	}
}

func workspaceRenderCommand() *cli.Command {
	return &cli.Command{
		Name:      "render",
		Usage:     "validate workspace.yaml and print the rudder-server workspace config it compiles to",
		UsageText: "rudderctl workspace render [--file FILE] [--write-keys FILE] [--json | --out FILE]",
		Description: `Reads the workspace file and the function and library files it names (inside its
directory only), checks everything (unknown keys, names, missing or unparsable .js files,
destinations fed by no source, credentials written in clear), then compiles it. No call is
made to any cloud.

Without --json: a summary on stdout (ids, version ids, the environment variables the nodes
need); no write key or credential is printed.
With --json: the workspace config JSON on stdout, the bytes rudder-server's file mode reads
(RSERVER_BACKEND_CONFIG_CONFIG_JSONPATH). It holds the sources' write keys.
With --out FILE: the same JSON written to FILE (mode 0600), the summary on stderr.

Sources without a writeKey in the file take theirs from --write-keys FILE (YAML: source
name: key).

Examples:
   rudderctl workspace render --file examples/workspace/workspace.yaml
   rudderctl workspace render --json > workspaceConfig.json
   rudderctl workspace render --write-keys keys.yaml --out /etc/rudder/workspaceConfig.json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Value: workspace.DefaultFile, Usage: "the workspace file"},
			&cli.StringFlag{Name: "write-keys", Usage: "YAML file mapping source names to write keys, for sources without one in the workspace file"},
			&cli.StringFlag{Name: "out", Usage: "write the workspace config JSON to this file (mode 0600) instead of printing it"},
			jsonFlag(),
		},
		Action: runWorkspaceRender,
	}
}

func runWorkspaceRender(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	if c.Bool("json") && c.String("out") != "" {
		return errors.New("--json and --out both say where the JSON goes: use one")
	}
	f, err := workspace.Load(c.String("file"))
	if err != nil {
		return err
	}
	opts := workspace.Options{}
	if p := c.String("write-keys"); p != "" {
		if opts.WriteKeys, err = workspace.LoadWriteKeys(p); err != nil {
			return err
		}
	}
	compiled, err := workspace.Compile(c.Context, f, opts)
	if err != nil {
		return fmt.Errorf("workspace %s is invalid: %w", c.String("file"), err)
	}
	switch {
	case c.Bool("json"):
		_, err := c.App.Writer.Write(compiled.Config)
		return err
	case c.String("out") != "":
		if err := os.WriteFile(c.String("out"), compiled.Config, 0o600); err != nil {
			return fmt.Errorf("writing %s: %w", c.String("out"), err)
		}
		// WriteFile keeps the mode of an existing file: tighten it.
		if err := os.Chmod(c.String("out"), 0o600); err != nil {
			return err
		}
		printWorkspaceSummary(c.App.ErrWriter, compiled)
		fmt.Fprintf(c.App.ErrWriter, "wrote %s\n", c.String("out"))
		return nil
	default:
		printWorkspaceSummary(c.App.Writer, compiled)
		return nil
	}
}

// printWorkspaceSummary names what was compiled, without write keys or credentials.
func printWorkspaceSummary(w io.Writer, c *workspace.Compiled) {
	fmt.Fprintf(w, "workspace %s\n", c.WorkspaceID)
	for _, s := range c.Sources {
		fmt.Fprintf(w, "source      %-20s id %s  (%s)\n", s.Name, s.ID, s.Type)
	}
	for _, d := range c.Destinations {
		fmt.Fprintf(w, "destination %-20s id %s  (%s)\n", d.Name, d.ID, d.Type)
	}
	for _, fn := range c.Functions {
		fmt.Fprintf(w, "function    %-20s id %s  version %s  (%s)\n", fn.Name, fn.ID, fn.VersionID, fn.File)
	}
	for _, l := range c.Libraries {
		fmt.Fprintf(w, "library     %-20s id %s  version %s  (%s)\n", l.Name, l.ID, l.VersionID, l.File)
	}
	for _, s := range c.Secrets {
		from := "set by the operator"
		if s.Secret != "" {
			from = "from Secrets Manager " + s.Secret
		}
		fmt.Fprintf(w, "env         %-20s %s; used by %s\n", s.Env, from, strings.Join(s.UsedBy, ", "))
	}
}

func workspaceImportCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "turn a rudder-server workspaceConfig.json into a workspace directory (workspace.yaml + .js files)",
		UsageText: "rudderctl workspace import [--name NAME] [--code CODEDIR] FILE DIR",
		Description: `Reads a rudder-server workspace config (the JSON file mode reads, or what a config
backend served) and writes a new workspace in DIR: workspace.yaml, functions/*.js,
libraries/*.js, and write-keys.yaml (mode 0600; pass it to render with --write-keys, keep it
out of git). DIR must be new or empty: nothing is overwritten.

Destination credentials written in clear in the config become !env references; their values
are written nowhere, and the variables to set are listed on stderr. "env.NAME" placeholders
become !env NAME.

The config names user functions and libraries by version id only; their code lives in the
config backend. Save each answer of GET /transformation/getByVersionId?versionId=V (and
/transformationLibrary/getByVersionId) as CODEDIR/V.json, or a function's code as CODEDIR/V.js.

Ids derive from names: the imported workspace renders with new ids unless it came from
rudderctl (then --name with the same workspace name gives the same bytes back).

Examples:
   rudderctl workspace import workspaceConfig.json my-workspace
   rudderctl workspace import --name prod --code saved-code/ workspaceConfig.json my-workspace`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Value: "imported", Usage: "the workspace name written (ids derive from it)"},
			&cli.StringFlag{Name: "code", Usage: "directory with the code of functions and libraries: <versionId>.json answers or <versionId>.js"},
		},
		Action: runWorkspaceImport,
	}
}

func runWorkspaceImport(c *cli.Context) error {
	for _, a := range c.Args().Slice() {
		if strings.HasPrefix(a, "-") {
			return fmt.Errorf("flag %s after the arguments is not read: put flags before FILE DIR (rudderctl workspace import [--name N] [--code D] FILE DIR)", a)
		}
	}
	if c.NArg() != 2 {
		return errors.New("workspace import needs two arguments, the workspace config JSON file and the new workspace directory: rudderctl workspace import FILE DIR")
	}
	dir := c.Args().Get(1)
	data, err := os.ReadFile(c.Args().First())
	if err != nil {
		return fmt.Errorf("reading %s: %w", c.Args().First(), err)
	}
	im, err := workspace.Import(data, workspace.ImportOptions{Name: c.String("name"), CodeDir: c.String("code")})
	if err != nil {
		return fmt.Errorf("cannot import %s: %w", c.Args().First(), err)
	}
	if err := workspace.WriteImport(dir, im); err != nil {
		return err
	}
	for _, e := range im.EnvVars {
		fmt.Fprintf(c.App.ErrWriter, "set %s on the nodes (referenced as !env %s)\n", e, e)
	}
	fmt.Fprintf(c.App.ErrWriter, "wrote %s; check it with `rudderctl workspace render --file %s --write-keys %s`\n",
		dir, filepath.Join(dir, workspace.DefaultFile), filepath.Join(dir, "write-keys.yaml"))
	return nil
}
