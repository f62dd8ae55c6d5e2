package main

// Shared helpers of the deploy-side commands (plan, deploy, status, endpoints, logs,
// rollback, destroy): common flags, config + flag resolution, validation before any AWS
// call, and output.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/config"
	"github.com/rudderctl/rudderctl/internal/deploy/component"
	"github.com/rudderctl/rudderctl/internal/deploy/transformer"
	"github.com/rudderctl/rudderctl/internal/stack"
	"github.com/rudderctl/rudderctl/packaging"
)

// stackFlags are on every deploy-side command.
func stackFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "stack", Usage: "stack name (default: $RUDDERCTL_STACK, else stack in the config, else \"default\"; never empty)"},
		&cli.StringFlag{Name: "config", Usage: "config file (default: ./rudderctl.yaml when present)"},
		&cli.StringFlag{Name: "region", Usage: "AWS region (default: config, AWS_REGION, AWS_DEFAULT_REGION)"},
	}
}

func jsonFlag() cli.Flag {
	return &cli.BoolFlag{Name: "json", Usage: "print the result as JSON on stdout"}
}

// target is a resolved stack + region, validated.
type target struct {
	File   *config.File
	Stack  string
	Region string
}

// stack is the target as the components see it (the account is read by each call).
func (t *target) stack() stack.Stack { return stack.Stack{Name: t.Stack, Region: t.Region} }

// resolveTarget reads the config and picks stack and region. No AWS call.
func resolveTarget(c *cli.Context) (*target, error) {
	f, err := config.Load(c.String("config"), c.IsSet("config"))
	if err != nil {
		return nil, err
	}
	stack, err := config.Stack(c.String("stack"), c.IsSet("stack"), f)
	if err != nil {
		return nil, err
	}
	t := &target{File: f, Stack: stack, Region: config.Region(c.String("region"), f)}
	if err := config.ValidateRegion(t.Region); err != nil {
		return nil, err
	}
	return t, nil
}

// clients builds the AWS clients (no call yet).
func clients(ctx context.Context, region string) (*awsapi.Session, error) {
	return awsapi.NewSession(ctx, region)
}

// openStack is the common start of the commands that act on an existing stack: no stray
// arguments, the stack and region resolved and validated, then the AWS clients (no call yet).
func openStack(c *cli.Context) (*target, *awsapi.Session, error) {
	if err := noArgs(c); err != nil {
		return nil, nil, err
	}
	t, err := resolveTarget(c)
	if err != nil {
		return nil, nil, err
	}
	cl, err := clients(c.Context, t.Region)
	if err != nil {
		return nil, nil, err
	}
	return t, cl, nil
}

// noArgs refuses stray positional arguments.
func noArgs(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: options go as flags; see `%s --help`", c.Args().First(), c.Command.HelpName)
	}
	return nil
}

// transformerFlags are the flags of deploy/plan transformer.
func transformerFlags() []cli.Flag {
	fl := []cli.Flag{
		&cli.BoolFlag{Name: "lambda", Value: true, Usage: "deploy to AWS Lambda behind an API Gateway HTTP API (the only target)"},
		&cli.StringFlag{Name: "src", Usage: "transformer app directory: packaged first (overrides transformer.src / zip)"},
		&cli.StringFlag{Name: "zip", Usage: "zip built by 'rudderctl package transformer' (overrides transformer.zip / src)"},
		&cli.StringFlag{Name: "runtime", Usage: "Lambda runtime: nodejs22.x | nodejs24.x (default: config, the zip's manifest, nodejs22.x)"},
		&cli.StringFlag{Name: "arch", Usage: "architecture: x86_64 | arm64 (default: config, the zip's manifest, x86_64)"},
		&cli.Int64Flag{Name: "memory", Usage: "memory in MB, 128..10240", DefaultText: "config, else 1024"},
		&cli.Int64Flag{Name: "timeout", Usage: "timeout in seconds, 1..30", DefaultText: "config, else 30"},
		&cli.Int64Flag{Name: "log-retention-days", Usage: "CloudWatch Logs retention in days", DefaultText: "config, else 14"},
		&cli.StringSliceFlag{Name: "env", Usage: "extra environment KEY=VALUE, repeatable (added to transformer.environment)"},
		&cli.BoolFlag{Name: "rebuild-native", Usage: "with --src: npm rebuild native modules with the target Node before packaging (default: transformer.package.rebuild_native)"},
		&cli.StringSliceFlag{Name: "keep", Usage: "with --src: glob kept whatever the prune rules say, repeatable (added to transformer.package.keep)"},
		&cli.StringSliceFlag{Name: "prune", Usage: "with --src: glob of extra files to leave out, repeatable (added to transformer.package.prune)"},
		&cli.StringFlag{Name: "bootstrap", Usage: "with --src: prebuilt adapter binary (default: go build ./lambda/bootstrap from the source checkout)"},
		jsonFlag(),
	}
	fl = append(fl, ecsFlags()...)
	return append(fl, stackFlags()...)
}

// codeSource is where the code comes from after flag/config resolution, and how a src
// is packaged.
type codeSource struct {
	Src, Zip      string
	RebuildNative bool
	Keep, Prune   []string
	Bootstrap     string
}

// resolveInput validates everything a deploy needs before any AWS call (and before
// packaging). It returns the input with Zip empty when src must be packaged first.
func resolveInput(c *cli.Context) (*target, transformer.Input, codeSource, error) {
	var in transformer.Input
	var src codeSource
	if !c.Bool("lambda") {
		return nil, in, src, fmt.Errorf("no target: --lambda=false leaves nothing to deploy to; Lambda behind API Gateway is the only target, drop --lambda=false")
	}
	t, err := resolveTarget(c)
	if err != nil {
		return nil, in, src, err
	}
	tc := t.File.Transformer
	switch {
	case c.IsSet("src") && c.IsSet("zip"):
		return nil, in, src, fmt.Errorf("both --src and --zip given: a deploy takes one code source; pass --src DIR to package, or --zip FILE for a built zip")
	case c.IsSet("src"):
		src.Src = c.String("src")
	case c.IsSet("zip"):
		src.Zip = c.String("zip")
	case tc.Src != "" && tc.Zip != "":
		return nil, in, src, fmt.Errorf("config %s sets both transformer.src and transformer.zip: a deploy takes one code source; keep one (or choose with --src / --zip)", t.File.Path)
	case tc.Zip != "":
		src.Zip = t.File.Resolve(tc.Zip)
	case tc.Src != "":
		src.Src = t.File.Resolve(tc.Src)
	default:
		return nil, in, src, fmt.Errorf("no code to deploy: neither --src, --zip nor transformer.src/zip in the config is set; pass --src DIR (a transformer checkout) or --zip FILE (from `rudderctl package`)")
	}
	if src.Src != "" {
		st, err := os.Stat(src.Src)
		if err != nil || !st.IsDir() {
			return nil, in, src, fmt.Errorf("source %s unusable: it is not a directory; pass --src with the transformer checkout (the directory holding package.json)", src.Src)
		}
	} else if _, err := os.Stat(src.Zip); err != nil {
		return nil, in, src, fmt.Errorf("zip %s not found: %v; build it with `rudderctl package transformer` or fix --zip", src.Zip, err)
	}
	pick := func(flag, conf string) string {
		if c.IsSet(flag) {
			return c.String(flag)
		}
		return conf
	}
	if err := packageOptions(c, tc.Package, &src); err != nil {
		return nil, in, src, err
	}
	// Numbers are checked in their full (int64) width, and only then narrowed to Lambda's
	// int32: a value past int32 must be refused, not wrapped into range.
	memory, timeout, retention := pickInt(c, "memory", tc.Memory, config.DefaultMemory), pickInt(c, "timeout", tc.Timeout, config.DefaultTimeout),
		pickInt(c, "log-retention-days", tc.LogRetentionDays, config.DefaultLogRetention)
	for _, check := range []error{config.ValidateMemory(memory), config.ValidateTimeout(timeout), config.ValidateRetention(retention)} {
		if check != nil {
			return nil, in, src, check
		}
	}
	in = transformer.Input{
		Stack:        t.Stack,
		Region:       t.Region,
		Runtime:      pick("runtime", tc.Runtime),
		Arch:         pick("arch", tc.Arch),
		Memory:       int32(memory),
		Timeout:      int32(timeout),
		LogRetention: int32(retention),
		Env:          map[string]string{},
	}
	for k, v := range tc.Environment {
		in.Env[k] = v
	}
	for _, kv := range c.StringSlice("env") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, in, src, fmt.Errorf("--env %q refused: it must be KEY=VALUE", kv)
		}
		in.Env[k] = v
	}
	// With --src the package is built for the configured (or default) runtime and arch.
	if src.Src != "" {
		if in.Runtime == "" {
			in.Runtime = config.DefaultRuntime
		}
		if in.Arch == "" {
			in.Arch = config.DefaultArch
		}
	}
	if in.Runtime != "" {
		if err := config.ValidateRuntime(in.Runtime); err != nil {
			return nil, in, src, err
		}
	}
	if in.Arch != "" {
		if err := config.ValidateArch(in.Arch); err != nil {
			return nil, in, src, err
		}
	}
	if err := config.ValidateEnv(in.Env); err != nil {
		return nil, in, src, err
	}
	return t, in, src, nil
}

// pickInt is the flag when given, else the config's value when the key is there (even 0,
// which is then refused), else the default.
func pickInt(c *cli.Context, flag string, conf *int64, def int64) int64 {
	switch {
	case c.IsSet(flag):
		return c.Int64(flag)
	case conf != nil:
		return *conf
	}
	return def
}

// packageOptions merges --rebuild-native/--keep/--prune with transformer.package. They
// only mean something when the deploy packages a src: with a zip they are refused rather
// than silently ignored.
func packageOptions(c *cli.Context, p config.Package, src *codeSource) error {
	flagged := c.IsSet("rebuild-native") || c.IsSet("keep") || c.IsSet("prune") || c.IsSet("bootstrap")
	if src.Src == "" {
		if flagged {
			return fmt.Errorf("--rebuild-native/--keep/--prune/--bootstrap refused: they change how --src is packaged, and this deploy takes a built zip (%s); rebuild the zip with `rudderctl package transformer` and those flags, or deploy with --src", src.Zip)
		}
		return nil
	}
	src.RebuildNative = p.RebuildNative
	if c.IsSet("rebuild-native") {
		src.RebuildNative = c.Bool("rebuild-native")
	}
	src.Keep = append(append([]string{}, p.Keep...), c.StringSlice("keep")...)
	src.Prune = append(append([]string{}, p.Prune...), c.StringSlice("prune")...)
	src.Bootstrap = c.String("bootstrap")
	return nil
}

// prepareCode packages --src (into a temp dir, removed by cleanup) or inspects --zip, and
// completes runtime/arch from the zip's manifest. Still no AWS call.
func prepareCode(ctx context.Context, in *transformer.Input, src codeSource, progress io.Writer) (zi *transformer.ZipInfo, cleanup func(), err error) {
	cleanup = func() {}
	zipPath := src.Zip
	if src.Src != "" {
		dir, err := os.MkdirTemp("", "rudderctl-deploy-")
		if err != nil {
			return nil, cleanup, err
		}
		cleanup = func() { os.RemoveAll(dir) }
		zipPath = filepath.Join(dir, "transformer.zip")
		fmt.Fprintf(progress, "packaging %s for %s/%s...\n", src.Src, in.Runtime, in.Arch)
		opts := packaging.Options{Src: src.Src, Out: zipPath, Runtime: in.Runtime, Arch: in.Arch, Progress: progress,
			RebuildNative: src.RebuildNative, Keep: src.Keep, Prune: src.Prune, Bootstrap: src.Bootstrap}
		if _, err := packaging.Build(ctx, opts); err != nil {
			return nil, cleanup, fmt.Errorf("package %s: %w", src.Src, err)
		}
	}
	zi, err = transformer.InspectZip(zipPath)
	if err != nil {
		return nil, cleanup, err
	}
	m := zi.Manifest
	if in.Runtime == "" {
		in.Runtime = m.Runtime
	}
	if in.Arch == "" {
		in.Arch = m.Arch
	}
	if in.Runtime == "" {
		in.Runtime = config.DefaultRuntime
	}
	if in.Arch == "" {
		in.Arch = config.DefaultArch
	}
	if err := config.ValidateRuntime(in.Runtime); err != nil {
		return nil, cleanup, err
	}
	if err := config.ValidateArch(in.Arch); err != nil {
		return nil, cleanup, err
	}
	if m.Arch != "" && m.Arch != in.Arch {
		return nil, cleanup, fmt.Errorf("architecture mismatch: zip %s was built for %s but the deploy asks for %s, and its adapter binary and native modules only run on %s; rebuild with `rudderctl package transformer --arch %s` or deploy with --arch %s", zipPath, m.Arch, in.Arch, m.Arch, in.Arch, m.Arch)
	}
	if m.Runtime != "" && m.Runtime != in.Runtime {
		return nil, cleanup, fmt.Errorf("runtime mismatch: zip %s was built for %s but the deploy asks for %s (native modules are built per Node version); rebuild with `rudderctl package transformer --runtime %s` or deploy with --runtime %s", zipPath, m.Runtime, in.Runtime, in.Runtime, m.Runtime)
	}
	return zi, cleanup, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// isTerminal reports whether f is a TTY: a character device other than /dev/null.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(st, null) {
		return false
	}
	return true
}

// deployComponent deploys comp into t's stack (dryRun: plans it) and prints its report.
func deployComponent(ctx context.Context, c *cli.Context, t *target, comp component.Component, dryRun bool, progress io.Writer) error {
	cl, err := clients(ctx, t.Region)
	if err != nil {
		return err
	}
	res, err := comp.Deploy(ctx, cl, t.stack(), dryRun, progress)
	if err != nil {
		return err
	}
	return printReport(c, res)
}

// printReport prints a component's report: as text, or as JSON with --json.
func printReport(c *cli.Context, r component.Report) error {
	if c.Bool("json") {
		return printJSON(c.App.Writer, r)
	}
	r.WriteText(c.App.Writer)
	return nil
}
