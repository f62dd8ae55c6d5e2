package kinds

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/elbv2api"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// LoadBalancing is a service's application load balancer, its listeners and its target
// group as found (nil = absent). A component embeds it in its observed state.
type LoadBalancing struct {
	LB        *elbv2api.LoadBalancer
	LBTags    map[string]string
	Listeners []elbv2api.Listener
	TG        *elbv2api.TargetGroup
	TGTags    map[string]string
	TGDelay   int32 // deregistration delay, seconds
}

// ObserveLoadBalancing reads load balancer lbName (its tags and listeners) and target
// group tgName (its tags and deregistration delay).
func ObserveLoadBalancing(ctx context.Context, c *awsapi.Session, lbName, tgName string) (LoadBalancing, error) {
	var o LoadBalancing
	var err error
	if o.LB, err = awsapi.Absent(c.ELBv2().FindLoadBalancer(ctx, lbName)); err != nil {
		return o, awsapi.Explain("read load balancer "+lbName, err)
	}
	if o.LB != nil {
		if o.LBTags, err = c.ELBv2().Tags(ctx, o.LB.ARN); err != nil {
			return o, awsapi.Explain("read the tags of load balancer "+lbName, err)
		}
		if o.Listeners, err = c.ELBv2().Listeners(ctx, o.LB.ARN); err != nil {
			return o, awsapi.Explain("read the listeners of "+lbName, err)
		}
	}
	if o.TG, err = awsapi.Absent(c.ELBv2().FindTargetGroup(ctx, tgName)); err != nil {
		return o, awsapi.Explain("read target group "+tgName, err)
	}
	if o.TG != nil {
		if o.TGTags, err = c.ELBv2().Tags(ctx, o.TG.ARN); err != nil {
			return o, awsapi.Explain("read the tags of target group "+tgName, err)
		}
		if o.TGDelay, err = c.ELBv2().DeregistrationDelay(ctx, o.TG.ARN); err != nil {
			return o, awsapi.Explain("read the attributes of target group "+tgName, err)
		}
	}
	return o, nil
}

// ARNs are the load balancer's and target group's ARNs found ("" = absent).
func (o LoadBalancing) ARNs() (lb, tg string) {
	if o.LB != nil {
		lb = o.LB.ARN
	}
	if o.TG != nil {
		tg = o.TG.ARN
	}
	return lb, tg
}

// DeleteChanges deletes what the stack owns of it: the listeners, the load balancer, the
// target group (in this order: a group in use cannot go).
func (o LoadBalancing) DeleteChanges(stackName, lbName, tgName string) []engine.Change {
	var cs []engine.Change
	mine := func(tags map[string]string) bool { _, other := stack.TagState(tags, stackName); return other == "" }
	if o.LB != nil && mine(o.LBTags) {
		for _, l := range o.Listeners {
			cs = append(cs, engine.Change{Action: DeleteListener, Resource: "listener", Name: ListenerName(lbName, l.Port), Target: l.ARN})
		}
		cs = append(cs, engine.Change{Action: DeleteLoadBalancer, Resource: "load balancer", Name: lbName, Target: o.LB.ARN})
	}
	if o.TG != nil && mine(o.TGTags) {
		cs = append(cs, engine.Change{Action: DeleteTargetGroup, Resource: "target group", Name: tgName, Target: o.TG.ARN})
	}
	return cs
}

// ELBName is rudderctl-<stack>-<suffix> when it fits ELBv2's 32 characters (a load
// balancer's or target group's name), else the stack part shortened and a hash of the
// whole stack name keeping it unique.
func ELBName(stackName, suffix string) string {
	name := "rudderctl-" + stackName + "-" + suffix
	if len(name) <= 32 {
		return name
	}
	sum := sha256.Sum256([]byte(stackName))
	h := hex.EncodeToString(sum[:])[:6]
	keep := 32 - len("rc--") - len(h) - 1 - len(suffix)
	part := strings.TrimRight(stackName[:min(keep, len(stackName))], "-")
	return "rc-" + part + "-" + h + "-" + suffix
}

// ListenerName is how a listener is shown: <load balancer>:<port>.
func ListenerName(lbName string, port int32) string { return fmt.Sprintf("%s:%d", lbName, port) }

// ErrNoEntry: the load balancer or its listener is missing.
var ErrNoEntry = errors.New("no load balancer with a listener")

// EntryURL is where load balancer lbName serves: http(s)://<DNS name>:<port> of its first
// listener (ErrNoEntry when it or its listener is missing).
func EntryURL(ctx context.Context, c *awsapi.Session, lbName string) (string, error) {
	lb, err := c.ELBv2().FindLoadBalancer(ctx, lbName)
	if errors.Is(err, awsapi.ErrNotFound) {
		return "", ErrNoEntry
	}
	if err != nil {
		return "", awsapi.Explain("read load balancer "+lbName, err)
	}
	ls, err := c.ELBv2().Listeners(ctx, lb.ARN)
	if err != nil {
		return "", awsapi.Explain("read the listeners of "+lbName, err)
	}
	if len(ls) == 0 {
		return "", ErrNoEntry
	}
	scheme := "http"
	if ls[0].Protocol == "HTTPS" {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s:%d", scheme, lb.DNSName, ls[0].Port), nil
}
