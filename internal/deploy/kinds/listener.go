package kinds

import (
	"context"
	"errors"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
)

// ListenerKind creates the load balancer's listener on Port (HTTPS with Certificate, else
// HTTP), forwarding to the target group; points a listener at the group; deletes one (its
// ARN in the change's Target). LB and TG are the ARNs known when it runs.
type ListenerKind struct {
	C           *awsapi.Session
	LB, TG      *string
	Port        int32
	Certificate string
	Tags        map[string]string
}

func (k ListenerKind) Actions() []engine.Action {
	return []engine.Action{CreateListener, ModifyListener, DeleteListener}
}

func (k ListenerKind) Create(ctx context.Context, _ engine.Change) error {
	var err error
	if k.Certificate != "" {
		_, err = k.C.ELBv2().CreateHTTPSListener(ctx, *k.LB, k.Port, k.Certificate, *k.TG, k.Tags)
	} else {
		_, err = k.C.ELBv2().CreateListener(ctx, *k.LB, k.Port, *k.TG, k.Tags)
	}
	return err
}

// AlreadyExists: a listener on the port (an earlier attempt's); Adopt points it at the group.
func (k ListenerKind) AlreadyExists(err error) bool { return errors.Is(err, awsapi.ErrAlreadyExists) }

func (k ListenerKind) Adopt(ctx context.Context, _ engine.Change) error {
	ls, err := k.C.ELBv2().Listeners(ctx, *k.LB)
	if err != nil {
		return err
	}
	for _, l := range ls {
		if l.Port == k.Port && l.TargetGroup != *k.TG {
			return k.C.ELBv2().ModifyListener(ctx, l.ARN, *k.TG)
		}
	}
	return nil
}

func (k ListenerKind) Update(ctx context.Context, ch engine.Change) error {
	return k.C.ELBv2().ModifyListener(ctx, ch.Target, *k.TG)
}

func (k ListenerKind) Delete(ctx context.Context, ch engine.Change) error {
	return k.C.ELBv2().DeleteListener(ctx, ch.Target)
}
