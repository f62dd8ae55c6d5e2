package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/backendnodes"
	"github.com/rudderctl/rudderctl/backendnodes/jobsdb"
	"github.com/rudderctl/rudderctl/internal/config"
)

// The node pairs (backendnodes, docs/NODES.md): `deploy|plan nodes --count N`,
// `logs node I`, `nodes pending`.

func nodesFlags() []cli.Flag {
	return append(stackFlags(), jsonFlag(),
		&cli.IntFlag{Name: "count", Usage: "how many nodes (each: rudder-server + its own PostgreSQL); required"},
		&cli.StringFlag{Name: "tag", Usage: "rudder-server image tag (overrides nodes.tag)"},
		&cli.BoolFlag{Name: "force", Usage: "scale down even when a removed node does not drain in time (its pending events are lost)"},
	)
}

// nodesDeployCommand is `deploy nodes` (dryRun false) or `plan nodes` (true).
func nodesDeployCommand(dryRun bool) *cli.Command {
	verb, usage := "deploy", "deploy N backend+database node pairs behind a public load balancer"
	if dryRun {
		verb, usage = "plan", "show what `deploy nodes` would change, with read-only AWS calls only"
	}
	return &cli.Command{
		Name:      "nodes",
		Usage:     usage,
		UsageText: "rudderctl " + verb + " nodes --count N [--tag TAG] [--force] [--stack NAME] [--config FILE] [--region R] [--json]",
		Description: `Each node i is one rudder-server (an ECS Fargate service of exactly one task: INSTANCE_ID=i,
HOSTNAME=rudder-node-i) with its own PostgreSQL (an RDS instance: private, encrypted, master
password managed by RDS, backups, deletion protection), and a sidecar in the same task that
sends transformer requests to Lambda when they fit and to the ECS transformer when not. One
public load balancer (HTTPS with nodes.certificate_arn) spreads events over the gateways.

The transformer (--lambda), the workspace and the user functions (--ecs) must be deployed
first: deploy nodes refuses and says which is missing. New nodes are made in parallel. A
lower --count drains each removed node first (out of the load balancer, then until its
database has no pending jobs, counted by a one-off task inside the VPC), then removes its
service and its database, leaving a final snapshot; a node that does not drain within
nodes.drain_timeout stops the scale down (unless --force). Configuration: the nodes: section
of rudderctl.yaml (docs/NODES.md).

Examples:
   rudderctl ` + verb + ` nodes --count 3
   rudderctl ` + verb + ` nodes --count 2 --stack prod --json`,
		Flags:  nodesFlags(),
		Action: func(c *cli.Context) error { return runNodesDeploy(c, dryRun) },
	}
}

// resolveNodesInput validates a nodes deploy: config + flags, no AWS call.
func resolveNodesInput(c *cli.Context) (*target, backendnodes.Input, error) {
	if err := noArgs(c); err != nil {
		return nil, backendnodes.Input{}, err
	}
	if !c.IsSet("count") {
		return nil, backendnodes.Input{}, fmt.Errorf("--count is required: how many nodes the stack should run (e.g. --count 2)")
	}
	if err := config.CheckNodeCount(c.Int("count")); err != nil {
		return nil, backendnodes.Input{}, err
	}
	t, err := resolveTarget(c)
	if err != nil {
		return nil, backendnodes.Input{}, err
	}
	if c.IsSet("tag") {
		t.File.Nodes.Tag = c.String("tag")
	}
	s, err := t.File.ResolveNodes()
	if err != nil {
		return nil, backendnodes.Input{}, err
	}
	return t, backendnodes.Input{Stack: t.Stack, Region: t.Region, Count: c.Int("count"), Settings: s, Force: c.Bool("force")}, nil
}

func runNodesDeploy(c *cli.Context, dryRun bool) error {
	t, in, err := resolveNodesInput(c)
	if err != nil {
		return err
	}
	progress := c.App.ErrWriter
	if progress == nil {
		progress = os.Stderr
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return deployComponent(ctx, c, t, &backendnodes.Component{In: &in}, dryRun, progress)
}

// nodeLogsCommand is `logs node I`.
func nodeLogsCommand() *cli.Command {
	return &cli.Command{
		Name:      "node",
		Usage:     "print one node's logs (rudder-server and its sidecar); `logs node` alone prints every node's",
		UsageText: "rudderctl logs node [I] [--since 10m] [--follow] [--json] [--stack NAME] (flags before or after I)",
		Description: `Prints the events of the nodes' log group /ecs/rudderctl-<stack>-nodes for node I's tasks
(running and stopped ones): streams ecs/rudder-server/<task id> and ecs/sidecar/<task id>.

Examples:
   rudderctl logs node 2
   rudderctl logs node 2 --follow
   rudderctl logs node --since 1h --json`,
		Flags: append(stackFlags(), jsonFlag(),
			&cli.DurationFlag{Name: "since", Value: 10 * time.Minute, Usage: "how far back to start"},
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new events until interrupted"}),
		Action: func(c *cli.Context) error {
			args, err := parseFlagsAfterArg(c)
			if err != nil {
				return err
			}
			i := 0
			if len(args) > 1 {
				return fmt.Errorf("logs node takes one node number, got %d arguments (%s): give one, e.g. rudderctl logs node 2 --since 1h", len(args), strings.Join(args, " "))
			}
			if len(args) == 1 {
				n, err := strconv.Atoi(args[0])
				if err != nil || n < 1 {
					return fmt.Errorf("logs node %q refused: give a node number (1, 2, ...: rudderctl status lists them)", args[0])
				}
				i = n
			}
			if c.Duration("since") <= 0 {
				return fmt.Errorf("--since %s refused: it must be a positive duration such as 10m or 2h", c.Duration("since"))
			}
			t, err := resolveTarget(c)
			if err != nil {
				return err
			}
			cl, err := clients(c.Context, t.Region)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return backendnodes.Logs(ctx, cl, t.Stack, i, time.Now().Add(-c.Duration("since")), c.Bool("follow"), c.Bool("json"), c.App.Writer)
		},
	}
}

// parseFlagsAfterArg parses the command's flags given after its first argument (urfave/cli
// v2 stops parsing flags at the first argument, so `logs node 2 --follow` would leave
// --follow as an argument) into c, and returns the arguments that are not flags.
func parseFlagsAfterArg(c *cli.Context) ([]string, error) {
	args := c.Args().Slice()
	if len(args) < 2 {
		return args, nil
	}
	set := flag.NewFlagSet(c.Command.Name, flag.ContinueOnError)
	set.SetOutput(io.Discard)
	primary := map[string]string{}
	for _, f := range c.Command.Flags {
		if err := f.Apply(set); err != nil {
			return nil, err
		}
		for _, n := range f.Names() {
			primary[n] = f.Names()[0]
		}
	}
	if err := set.Parse(args[1:]); err != nil {
		return nil, fmt.Errorf("%s %s refused: %v; see %s --help", c.Command.HelpName, strings.Join(args, " "), err, c.Command.HelpName)
	}
	var err error
	set.Visit(func(f *flag.Flag) {
		if e := c.Set(primary[f.Name], f.Value.String()); e != nil && err == nil {
			err = fmt.Errorf("--%s %s: %v", f.Name, f.Value, e)
		}
	})
	return append(args[:1:1], set.Args()...), err
}

// nodesCommand is `rudderctl nodes pending`: the drain check, run inside the VPC as a one-off
// task of rudderctl's own image (the nodes' databases are private).
func nodesCommand() *cli.Command {
	return &cli.Command{
		Name:  "nodes",
		Usage: "node pair tools",
		Subcommands: []*cli.Command{{
			Name:      "pending",
			Usage:     "count the jobs a node's database has not delivered yet (rudder-server's job tables)",
			UsageText: "JOBS_DB_HOST=... JOBS_DB_PORT=... JOBS_DB_USER=... JOBS_DB_PASSWORD=... JOBS_DB_DB_NAME=... rudderctl nodes pending [--json]",
			Description: `Connects to a node's database as rudder-server does (its JOBS_DB_* variables; the password
comes from the environment only, as an ECS secret) and counts the jobs of the gateway,
router and batch router queues that are not in a terminal state (backendnodes/jobsdb). The
scale down of deploy nodes runs it as a one-off task and reads its JSON line.

Examples:
   rudderctl nodes pending --json
   {"gateway":0,"router":3,"batch_router":0,"processor":0,"total":3}`,
			Flags: []cli.Flag{jsonFlag(), &cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "give up connecting after this long"}},
			Action: func(c *cli.Context) error {
				if err := noArgs(c); err != nil {
					return err
				}
				ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
				defer cancel()
				counts, err := pendingFromEnv(ctx)
				if err != nil {
					return err
				}
				if c.Bool("json") {
					// One line: the drain reads it back from the task's log stream.
					b, err := json.Marshal(counts)
					if err != nil {
						return err
					}
					_, err = fmt.Fprintf(c.App.Writer, "%s\n", b)
					return err
				}
				fmt.Fprintf(c.App.Writer, "%d pending jobs (gateway %d, router %d, batch router %d, processor %d)\n", counts.Total, counts.Gateway, counts.Router, counts.BatchRouter, counts.Processor)
				return nil
			},
		}},
	}
}

// pendingFromEnv connects with rudder-server's JOBS_DB_* variables and counts.
func pendingFromEnv(ctx context.Context) (jobsdb.Counts, error) {
	get := func(k, def string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return def
	}
	if os.Getenv("JOBS_DB_PASSWORD") == "" {
		return jobsdb.Counts{}, fmt.Errorf("nodes pending: JOBS_DB_PASSWORD is not set: give the database password in the environment (never as a flag)")
	}
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return jobsdb.Counts{}, err
	}
	port, err := strconv.Atoi(get("JOBS_DB_PORT", "5432"))
	if err != nil || port < 1 || port > 65535 {
		return jobsdb.Counts{}, fmt.Errorf("nodes pending: JOBS_DB_PORT %q is not a port", os.Getenv("JOBS_DB_PORT"))
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database = get("JOBS_DB_HOST", "localhost"), uint16(port), get("JOBS_DB_USER", "ubuntu"), os.Getenv("JOBS_DB_PASSWORD"), get("JOBS_DB_DB_NAME", "ubuntu")
	if get("JOBS_DB_SSL_MODE", "disable") == "disable" {
		cfg.TLSConfig = nil
	} else {
		cfg.TLSConfig = &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	}
	cfg.RuntimeParams["application_name"] = "rudderctl-nodes-pending"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return jobsdb.Counts{}, fmt.Errorf("nodes pending: cannot connect to %s:%d/%s as %s: %v; check JOBS_DB_* and that this runs inside the VPC", cfg.Host, cfg.Port, cfg.Database, cfg.User, redactPassword(err, cfg.Password))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	counts, err := jobsdb.Pending(ctx, conn)
	if err != nil {
		return jobsdb.Counts{}, fmt.Errorf("nodes pending: reading the job tables of %s: %v", cfg.Database, redactPassword(err, cfg.Password))
	}
	return counts, nil
}

func redactPassword(err error, pw string) string {
	return strings.ReplaceAll(err.Error(), pw, "<secret>")
}
