package workspace

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/component"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// Component is the workspace server as a component of a stack. In and Code are the
// deploy's input (needed by Deploy only).
type Component struct {
	In   *Input
	Code *Code
}

var _ component.Component = (*Component)(nil)

// Name is "workspace".
func (*Component) Name() string { return ComponentName }

func (k *Component) Deploy(ctx context.Context, c *awsapi.Session, st stack.Stack, dryRun bool, progress io.Writer) (component.Report, error) {
	if k.In == nil || k.Code == nil {
		return nil, errors.New("internal: the workspace component was built without its deploy input")
	}
	if k.In.Stack != st.Name || k.In.Region != st.Region {
		return nil, fmt.Errorf("internal: deploy input is for stack %s in %s, not %s in %s", k.In.Stack, k.In.Region, st.Name, st.Region)
	}
	return Deploy(ctx, c, *k.In, k.Code, dryRun, progress)
}

func (*Component) Destroy(ctx context.Context, c *awsapi.Session, st stack.Stack, dryRun bool, progress io.Writer) ([]engine.Change, error) {
	return Destroy(ctx, c, st.Name, st.Region, dryRun, progress)
}

func (*Component) Status(ctx context.Context, c *awsapi.Session, st stack.Stack) (component.Report, error) {
	return GetStatus(ctx, c, st.Name)
}

// Endpoints answers an empty report (no JSON field, no line) when no workspace is
// deployed: `rudderctl endpoints` of a stack without one shows the transformer's only.
func (*Component) Endpoints(ctx context.Context, c *awsapi.Session, st stack.Stack, showSecret bool) (component.Report, error) {
	e, err := GetEndpoints(ctx, c, st.Name, showSecret)
	if errors.Is(err, ErrNotDeployed) {
		return &Endpoints{}, nil
	}
	return e, err
}
