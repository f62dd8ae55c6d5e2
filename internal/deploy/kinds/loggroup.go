package kinds

import (
	"context"
	"errors"
	"fmt"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// LogGroup is a CloudWatch Logs group as found.
type LogGroup struct {
	ARN        string
	Retention  int32 // 0 = never expire
	Tagged     bool
	OtherStack string
}

// LogGroupSpec is the log group a component wants.
type LogGroupSpec struct {
	Name      string
	Stack     string
	Retention int32 // days; 0 = leave as it is
}

// FindLogGroup reads log group name and its tags.
func FindLogGroup(ctx context.Context, c *awsapi.Session, name, stackName string) (*LogGroup, error) {
	g, err := c.Logs().FindLogGroup(ctx, name)
	if errors.Is(err, awsapi.ErrNotFound) {
		return nil, engine.ErrNotFound
	}
	if err != nil {
		return nil, awsapi.Explain("read log group "+name, err)
	}
	lg := &LogGroup{ARN: g.ARN, Retention: g.Retention}
	tags, err := c.Logs().Tags(ctx, g.ARN)
	if err != nil {
		return nil, awsapi.Explain("read the tags of log group "+name, err)
	}
	lg.Tagged, lg.OtherStack = stack.TagState(tags, stackName)
	return lg, nil
}

// ObserveLogGroup is FindLogGroup with nil for a group that does not exist.
func ObserveLogGroup(ctx context.Context, c *awsapi.Session, name, stackName string) (*LogGroup, error) {
	return absent(FindLogGroup(ctx, c, name, stackName))
}

// DiffLogGroup plans the log group: created (then its retention set) when missing;
// otherwise tagged, and its retention set when it differs.
func DiffLogGroup(found *LogGroup, want LogGroupSpec) []engine.Change {
	var cs []engine.Change
	retention := func(reason string) {
		cs = append(cs, engine.Change{Action: PutRetention, Resource: "log group", Name: want.Name, Reason: reason})
	}
	if found == nil {
		cs = append(cs, engine.Change{Action: CreateLogGroup, Resource: "log group", Name: want.Name, Reason: "missing"})
		if want.Retention > 0 {
			retention(fmt.Sprintf("retention %d days", want.Retention))
		}
		return cs
	}
	if !found.Tagged {
		cs = append(cs, TagChange(TagLogGroup, "log group", want.Name))
	}
	if found.Retention != want.Retention && want.Retention > 0 {
		retention(fmt.Sprintf("retention %d -> %d days", found.Retention, want.Retention))
	}
	return cs
}

// LogGroupKind creates (tagged), sets the retention of, and deletes the log group.
type LogGroupKind struct {
	C    *awsapi.Session
	Spec LogGroupSpec
}

func (k LogGroupKind) Actions() []engine.Action {
	return []engine.Action{CreateLogGroup, PutRetention, DeleteLogGroup}
}

func (k LogGroupKind) Create(ctx context.Context, _ engine.Change) error {
	return k.C.Logs().CreateLogGroup(ctx, k.Spec.Name, stack.Tags(k.Spec.Stack))
}

func (k LogGroupKind) AlreadyExists(err error) bool {
	return errors.Is(err, awsapi.ErrAlreadyExists)
}

// Adopt has nothing to read: the group is known by its name.
func (k LogGroupKind) Adopt(context.Context, engine.Change) error { return nil }

func (k LogGroupKind) Update(ctx context.Context, _ engine.Change) error {
	return k.C.Logs().PutRetention(ctx, k.Spec.Name, k.Spec.Retention)
}

func (k LogGroupKind) Delete(ctx context.Context, _ engine.Change) error {
	return k.C.Logs().DeleteLogGroup(ctx, k.Spec.Name)
}
