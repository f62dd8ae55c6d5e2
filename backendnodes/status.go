package backendnodes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rudderctl/rudderctl/backendnodes/jobsdb"
	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/rdsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/transformer"
)

// NodeStatus is one node as read back.
type NodeStatus struct {
	Index      int    `json:"index"`
	InstanceID string `json:"instance_id"`
	Service    string `json:"service,omitempty"`
	TaskState  string `json:"task_state,omitempty"` // RUNNING, PENDING, ... ("" = no task)
	TaskID     string `json:"task_id,omitempty"`
	Health     string `json:"health,omitempty"` // the task's target in the public ALB
	DB         string `json:"db,omitempty"`
	DBState    string `json:"db_state,omitempty"`
	// PendingJobs is filled by callers that can reach the database (nil = unknown).
	PendingJobs *int64 `json:"pending_jobs,omitempty"`
}

// Status is what exists of the nodes.
type Status struct {
	Component string       `json:"component"` // "nodes"
	Stack     string       `json:"stack"`
	Deployed  bool         `json:"deployed"`
	URL       string       `json:"nodes_url,omitempty"`
	Nodes     []NodeStatus `json:"nodes"`
	Problems  []string     `json:"problems,omitempty"`
}

func (s *Status) WriteText(w io.Writer) {
	if !s.Deployed {
		fmt.Fprintf(w, "  %-11s not deployed\n", "nodes")
		return
	}
	fmt.Fprintf(w, "  %-11s %d node%s behind %s\n", "nodes", len(s.Nodes), plural(int64(len(s.Nodes))), s.URL)
	for _, n := range s.Nodes {
		pending := "pending jobs unknown (its database is private: not reachable from here; status --pending-in-vpc counts them from inside the VPC)"
		if n.PendingJobs != nil {
			pending = fmt.Sprintf("%d pending job%s", *n.PendingJobs, plural(*n.PendingJobs))
		}
		task := strings.ToLower(n.TaskState)
		if task == "" {
			task = "no task"
		}
		fmt.Fprintf(w, "  %-11s node %d (INSTANCE_ID %s): task %s, target %s, DB %s %s, %s\n", "", n.Index, n.InstanceID, task, orDash(n.Health), n.DB, orDash(n.DBState), pending)
	}
	for _, p := range s.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// GetStatus reads every node's task, target health and database (read-only).
func GetStatus(ctx context.Context, c *awsapi.Session, stackName string) (*Status, error) {
	n := NamesFor(stackName)
	st := &Status{Component: ComponentName, Stack: stackName, Nodes: []NodeStatus{}}
	o := &observed{Nodes: map[int]*nodeObs{}}
	if err := o.readNodes(ctx, c, n, 0); err != nil {
		return nil, err
	}
	if len(o.Nodes) == 0 {
		return st, nil
	}
	st.Deployed = true
	if e, err := GetEndpoints(ctx, c, stackName); err == nil {
		st.URL = e.URL
	}
	health := map[string]string{}
	if tg, err := c.ELBv2().FindTargetGroup(ctx, n.TargetGroup); err == nil {
		ts, err := c.ELBv2().TargetHealth(ctx, tg.ARN)
		if err != nil {
			return nil, awsapi.Explain("read the target health of "+n.TargetGroup, err)
		}
		for _, t := range ts {
			health[t.ID] = t.State
		}
	}
	countable := map[int]*rdsapi.Instance{} // by index in st.Nodes: the databases to count pending jobs in
	for _, i := range o.indices() {
		node, no := n.Node(i), o.Nodes[i]
		ns := NodeStatus{Index: i, InstanceID: node.InstanceID, DB: node.DB}
		if no.Instance != nil {
			ns.DBState = no.Instance.Status
			if no.Instance.Status == "available" {
				countable[len(st.Nodes)] = no.Instance
			}
		} else {
			st.Problems = append(st.Problems, fmt.Sprintf("node %d has no database (%s)", i, node.DB))
		}
		if no.Service != nil {
			ns.Service = node.Service
			arns, err := c.ECS().TaskARNs(ctx, n.Cluster, node.Service, "RUNNING")
			if err != nil {
				return nil, awsapi.Explain("list the tasks of "+node.Service, err)
			}
			if len(arns) > 0 {
				tasks, err := c.ECS().DescribeTasks(ctx, n.Cluster, arns)
				if err != nil {
					return nil, awsapi.Explain("read the tasks of "+node.Service, err)
				}
				for _, t := range tasks {
					ns.TaskState, ns.TaskID, ns.Health = t.LastStatus, t.ID(), health[t.IP]
				}
			}
			if ns.TaskState != "RUNNING" && len(no.Service.Events) > 0 {
				st.Problems = append(st.Problems, fmt.Sprintf("node %d has no running task; recent events: %s", i, strings.Join(no.Service.Events[:min(3, len(no.Service.Events))], " | ")))
			}
		} else {
			st.Problems = append(st.Problems, fmt.Sprintf("node %d has no service (%s): run rudderctl deploy nodes", i, node.Service))
		}
		st.Nodes = append(st.Nodes, ns)
	}
	// Each count may wait for a database that does not answer from here: all at once.
	var wg sync.WaitGroup
	for k, in := range countable {
		wg.Go(func() { st.Nodes[k].PendingJobs = countFromHere(ctx, c, in) })
	}
	wg.Wait()
	return st, nil
}

// nodeLogs prints the log events of node i's tasks (running and stopped ones).
func nodeLogs(ctx context.Context, c *awsapi.Session, n Names, i int, since time.Time, follow, jsonLines bool, out io.Writer) error {
	node := n.Node(i)
	var ids []string
	for _, status := range []string{"RUNNING", "STOPPED"} {
		arns, err := c.ECS().TaskARNs(ctx, n.Cluster, node.Service, status)
		if errors.Is(err, awsapi.ErrNotFound) {
			break
		}
		if err != nil {
			return awsapi.Explain("list the tasks of "+node.Service, err)
		}
		for _, a := range arns {
			ids = append(ids, a[strings.LastIndex(a, "/")+1:])
		}
	}
	if len(ids) == 0 {
		return fmt.Errorf("node %d has no tasks (service %s): is it deployed? (rudderctl status)", i, node.Service)
	}
	return transformer.GroupLogs(ctx, c, n.LogGroup, "rudderctl deploy nodes --count N", since, follow, jsonLines, &lineFilter{out: out, keep: ids})
}

// lineFilter passes on the lines naming one of keep (a task id in the stream name).
type lineFilter struct {
	out  io.Writer
	keep []string
	buf  []byte
}

func (f *lineFilter) Write(p []byte) (int, error) {
	f.buf = append(f.buf, p...)
	for {
		i := bytes.IndexByte(f.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := f.buf[:i+1]
		for _, k := range f.keep {
			if bytes.Contains(line, []byte("/"+k)) {
				if _, err := f.out.Write(line); err != nil {
					return 0, err
				}
				break
			}
		}
		f.buf = f.buf[i+1:]
	}
}

// countFromHere counts a node's pending jobs (reachablePending; tests replace it).
var countFromHere = reachablePending

// reachablePending counts a node's pending jobs when its database answers from here (the
// local cloud; on AWS it is private and this gives up after a short timeout): nil when not.
func reachablePending(ctx context.Context, c *awsapi.Session, in *rdsapi.Instance) *int64 {
	if in.SecretARN == "" || in.Address == "" {
		return nil
	}
	creds, err := c.Secrets().GetJSON(ctx, in.SecretARN)
	if err != nil {
		return nil
	}
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return nil
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database = in.Address, uint16(in.Port), in.MasterUsername, creds["password"], DBName
	cfg.TLSConfig = nil
	cfg.ConnectTimeout = StatusConnectTimeout
	cctx, cancel := context.WithTimeout(ctx, 2*StatusConnectTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		return nil
	}
	defer conn.Close(context.WithoutCancel(ctx))
	counts, err := jobsdb.Pending(cctx, conn)
	if err != nil {
		return nil
	}
	return &counts.Total
}

// StatusConnectTimeout bounds status's attempt to reach a node's database.
var StatusConnectTimeout = 1500 * time.Millisecond

func plural(n int64) string {
	if n == 1 {
		return ""
	}
	return "s"
}
