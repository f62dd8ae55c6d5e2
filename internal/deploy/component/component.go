// Package component is the contract between a stack and its deployable parts (today the
// Lambda transformer; next the workspace, user functions and node pairs). The commands
// plan, status, destroy and endpoints loop over the components a stack has (see
// internal/deploy/components for the registry).
package component

import (
	"context"
	"fmt"
	"io"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// Component is one deployable part of a stack. Its resources carry the stack tag
// (stack.TagKey); it reads them back from the cloud on every call, keeping no state.
type Component interface {
	// Name is the component's name: a word, also used in its resource names
	// (stack.ResourceName) and as the plan/deploy subcommand.
	Name() string
	// Deploy observes, plans and, unless dryRun, applies (dryRun = `plan`). The input
	// the deploy needs (code, settings) is given when the component is built.
	Deploy(ctx context.Context, c *awsapi.Session, st stack.Stack, dryRun bool, progress io.Writer) (Report, error)
	// Destroy deletes what the component owns in st (dryRun: lists it) and returns the
	// deletions.
	Destroy(ctx context.Context, c *awsapi.Session, st stack.Stack, dryRun bool, progress io.Writer) ([]engine.Change, error)
	// Status reads what exists (read-only).
	Status(ctx context.Context, c *awsapi.Session, st stack.Stack) (Report, error)
	// Endpoints are the URLs the component serves; the secret only when showSecret.
	// ErrNotDeployed when there is nothing to show.
	Endpoints(ctx context.Context, c *awsapi.Session, st stack.Stack, showSecret bool) (Report, error)
}

// Report is what a component answers: printed as JSON with --json (its fields are the
// contract, docs/CONTRACTS.md), else as text by WriteText.
type Report interface {
	WriteText(w io.Writer)
}

// CheckInput refuses a Deploy of component name whose input was not given (given false)
// or is for another stack or region than st: a wiring mistake, never the user's.
func CheckInput(name string, given bool, inStack, inRegion string, st stack.Stack) error {
	if !given {
		return fmt.Errorf("internal: the %s component was built without its deploy input", name)
	}
	if inStack != st.Name || inRegion != st.Region {
		return fmt.Errorf("internal: deploy input is for stack %s in %s, not %s in %s", inStack, inRegion, st.Name, st.Region)
	}
	return nil
}
