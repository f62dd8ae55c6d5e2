package backendnodes

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/ecsapi"
	"github.com/rudderctl/rudderctl/internal/config"
)

// StatusOptions say what a status of the nodes does beyond reading.
type StatusOptions struct {
	// CountInVPC counts the pending jobs of the nodes whose database does not answer from
	// here (on AWS, all of them: the databases are private) the way a drain does: a one-off
	// task of rudderctl's image per node, inside the VPC, all at once. It registers a task
	// definition revision and runs tasks, so it is only done when asked for.
	CountInVPC bool
	Region     string
	Progress   io.Writer
}

// GetStatusWith is GetStatus, plus what opts ask for.
func GetStatusWith(ctx context.Context, c *awsapi.Session, stackName string, opts StatusOptions) (*Status, error) {
	st, err := GetStatus(ctx, c, stackName)
	if err != nil || !opts.CountInVPC || !st.Deployed {
		return st, err
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	return st, countInVPC(ctx, c, st, opts)
}

// countInVPC fills in the pending jobs status could not count from here. A node whose
// count fails gets a problem line saying why; the others are still counted.
func countInVPC(ctx context.Context, c *awsapi.Session, st *Status, opts StatusOptions) error {
	n := NamesFor(st.Stack)
	o, err := observe(ctx, c, n, 0)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for k := range st.Nodes {
		ns := &st.Nodes[k]
		no := o.Nodes[ns.Index]
		if ns.PendingJobs != nil || no == nil || no.Instance == nil || no.Instance.Status != "available" {
			continue
		}
		d := &desired{Names: n, Region: opts.Region, Account: o.Account, Net: o.Net, In: o.In,
			Settings: config.NodesSettings{DBSSLMode: sslModeOf(no.Current)}}
		r := newRun(c, o, d, opts.Progress)
		fmt.Fprintf(opts.Progress, "node %d: counting its pending jobs with a one-off task in the VPC...\n", ns.Index)
		wg.Go(func() {
			p, err := r.pendingJobs(ctx, ns.Index)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				st.Problems = append(st.Problems, fmt.Sprintf("node %d: its pending jobs were not counted in the VPC: %v", ns.Index, err))
				return
			}
			total := p.Total
			ns.PendingJobs = &total
		})
	}
	wg.Wait()
	return nil
}

// sslModeOf is the JOBS_DB_SSL_MODE node's rudder-server runs with (the default when its
// revision is not known).
func sslModeOf(td *ecsapi.TaskDef) string {
	if td != nil {
		for _, ct := range td.Spec.Containers {
			if v := ct.Env["JOBS_DB_SSL_MODE"]; ct.Name == ServerContainer && v != "" {
				return v
			}
		}
	}
	return config.DefaultDBSSLMode
}
