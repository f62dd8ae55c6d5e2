// Package ecs is the local cloud's Elastic Container Service (JSON 1.1): clusters, task
// definitions and their revisions, services with deployments (rolling updates, the
// deployment circuit breaker and rollback) and tasks. Tasks are executed for real through
// internal/localcloud/taskrun; a scheduler goroutine (scheduler.go) keeps each service's
// tasks running, registers them in their ELBv2 target groups and watches their health.
package ecs

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
	"github.com/rudderctl/rudderctl/internal/localcloud/taskrun"
)

const stateFile = "ecs.json"

// targetPrefix is ECS's X-Amz-Target prefix.
const targetPrefix = "AmazonEC2ContainerServiceV20141113"

// defaultSubnetCIDR is the address range of a task whose subnet the cloud cannot look up
// (no EC2 room): the default VPC's first default subnet.
const defaultSubnetCIDR = "172.31.0.0/20"

type doc struct {
	Clusters map[string]*clusterRec `json:"clusters"` // by ARN
	TaskDefs map[string]*taskDefRec `json:"taskDefinitions"`
	Services map[string]*serviceRec `json:"services"` // by ARN
	Tasks    map[string]*taskRec    `json:"tasks"`    // by ARN
}

// Room is ECS.
type Room struct {
	core.JSON11Service
	cloud   *core.Cloud
	network core.Network  // EC2: subnets and security groups (nil: default subnets assumed)
	targets core.Targets  // ELBv2: target groups of services with a load balancer
	logs    core.LogLines // CloudWatch Logs: the awslogs driver
	secrets core.Secrets  // Secrets Manager: containers' secrets (nil: none resolves)
	runner  *taskrun.Runner

	mu         sync.Mutex
	st         doc
	dirty      bool                      // state changed since the last save
	live       map[string]*taskrun.Task  // running tasks by ARN (not persisted)
	backoff    map[string]*launchBackoff // by service ARN
	subnetTurn int                       // spreads tasks over their subnets
	restarted  []registeredTarget        // targets of tasks of a previous run, to deregister

	ctx    context.Context // cancelled by Close: starting tasks give up
	cancel context.CancelFunc
	done   chan struct{} // closed by Close
	closed sync.Once
	wg     sync.WaitGroup
}

// New returns the ECS room.
func New() *Room {
	return &Room{JSON11Service: core.JSON11Service{Prefix: targetPrefix, Title: "ECS",
		Codes: core.JSON11Codes{TooLarge: "ClientException", Server: "ServerException"}}}
}

func (*Room) Name() string { return "ecs" }

func (r *Room) Open(c *core.Cloud) error {
	r.cloud = c
	r.network = core.Peer[core.Network](c)
	r.targets = core.Peer[core.Targets](c)
	r.logs = core.Peer[core.LogLines](c)
	r.secrets = core.Peer[core.Secrets](c)
	r.live = map[string]*taskrun.Task{}
	r.backoff = map[string]*launchBackoff{}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.done = make(chan struct{})
	r.st = doc{}
	if err := c.LoadDoc(stateFile, &r.st, false); err != nil {
		return err
	}
	r.fixup()
	o := c.Options()
	runner, err := taskrun.New(taskrun.Options{
		Dir: c.Path("ecs-tasks"), ImageMap: o.ImageMap, Sandbox: o.Sandbox,
		Images: core.Peer[core.Images](c), Logf: c.Logf, Bridge: o.Bridge,
	})
	if err != nil {
		return err
	}
	r.runner = runner
	r.markRestartedLocked()
	return nil
}

func (r *Room) fixup() {
	if r.st.Clusters == nil {
		r.st.Clusters = map[string]*clusterRec{}
	}
	if r.st.TaskDefs == nil {
		r.st.TaskDefs = map[string]*taskDefRec{}
	}
	if r.st.Services == nil {
		r.st.Services = map[string]*serviceRec{}
	}
	if r.st.Tasks == nil {
		r.st.Tasks = map[string]*taskRec{}
	}
}

// Start runs the service scheduler once the cloud listens (and every room is open: the
// targets of tasks of a previous run are deregistered first).
func (r *Room) Start() {
	r.mu.Lock()
	if r.targets != nil {
		for _, tg := range r.restarted {
			r.targets.DeregisterTarget(tg.TargetGroupArn, tg.IP, tg.Port)
		}
	}
	r.restarted = nil
	r.mu.Unlock()
	r.wg.Add(1)
	go r.scheduler()
}

// Close stops the scheduler and every task. The tasks stay RUNNING in the saved state;
// the next Open marks them STOPPED and the scheduler replaces them.
func (r *Room) Close() {
	r.closed.Do(func() {
		if r.done == nil {
			return
		}
		r.cancel()
		close(r.done)
		if r.runner != nil {
			r.runner.Close()
		}
		r.wg.Wait()
	})
}

func (r *Room) Save() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cloud.SaveDoc(stateFile, &r.st)
}

// commitLocked saves after a change.
func (r *Room) commitLocked() {
	r.dirty = false
	r.cloud.CommitDoc(stateFile, &r.st)
}

func (r *Room) Resources(match func(map[string]string) bool) []core.Resource {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []core.Resource
	add := func(typ, name, arn string, tags []tag) {
		m := tagMap(tags)
		if match(m) {
			out = append(out, core.Resource{Service: "ecs", Type: typ, Name: name, ARN: arn, Tags: m})
		}
	}
	for _, cl := range r.st.Clusters {
		if cl.Status == "ACTIVE" {
			add("cluster", cl.ClusterName, cl.ClusterArn, cl.Tags)
		}
	}
	for _, s := range r.st.Services {
		if s.Status != "INACTIVE" {
			add("service", s.ServiceName, s.ServiceArn, s.Tags)
		}
	}
	for _, f := range r.st.TaskDefs {
		for _, rev := range f.Revisions {
			if rev.status() == "ACTIVE" {
				add("task-definition", rev.familyRevision(), rev.arn(), rev.Tags)
			}
		}
	}
	return out
}

// apiError is the room's error answer.
type apiError = core.APIError

func clientErr(msg string) error  { return &apiError{Code: "ClientException", Msg: msg} }
func invalidErr(msg string) error { return &apiError{Code: "InvalidParameterException", Msg: msg} }

var (
	errClusterNotFound    = &apiError{Code: "ClusterNotFoundException", Msg: "Cluster not found."}
	errServiceNotFound    = &apiError{Code: "ServiceNotFoundException", Msg: "Service not found."}
	errServiceNotActive   = &apiError{Code: "ServiceNotActiveException", Msg: "Service was not ACTIVE."}
	errTaskDefNotFound    = clientErr("Unable to describe task definition.")
	errTaskDefNotFoundUse = clientErr("TaskDefinition not found.")
)

// with decodes the input into a fresh In and runs h under the room's lock; h's error is
// the answer.
func with[In any](r *Room, h func(q *core.Request, in *In) (any, error)) func(*core.Request) {
	return core.JSON11Op(&r.mu, r.Codes, h)
}

// now is a timestamp as ECS's JSON carries it: epoch seconds.
func now() float64 { return epoch(time.Now()) }

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func fromEpoch(f float64) time.Time { return time.UnixMilli(int64(f * 1000)) }

func arnOf(region, kind, rest string) string {
	return "arn:aws:ecs:" + region + ":" + core.AccountID + ":" + kind + "/" + rest
}

// lastPart is the part after the last "/" (a name from an ARN, or the name itself).
func lastPart(s string) string { return s[strings.LastIndex(s, "/")+1:] }

func regionOfARN(arn string) string {
	p := strings.Split(arn, ":")
	if len(p) > 3 {
		return p[3]
	}
	return ""
}

// page is ECS's nextToken paging over a sorted list.
func page[T any](items []T, token string, maxResults, def int) ([]T, string) {
	mr := ""
	if maxResults > 0 {
		mr = itoa(maxResults)
	}
	start, end, next := core.PageIndex(len(items), token, mr, def)
	return items[start:end], next
}
