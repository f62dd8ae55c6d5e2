package transformer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/component"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// Component is the Lambda transformer as a component of a stack. In and Zip are the
// deploy's input (needed by Deploy only).
type Component struct {
	In  *Input
	Zip *ZipInfo
}

var _ component.Component = (*Component)(nil)

// Name is "transformer".
func (*Component) Name() string { return "transformer" }

// Deploy is Deploy with the component's input; the stack's name and region must be the
// input's.
func (k *Component) Deploy(ctx context.Context, c *awsapi.Session, st stack.Stack, dryRun bool, progress io.Writer) (component.Report, error) {
	if k.In == nil {
		return nil, errors.New("internal: the transformer component was built without its deploy input")
	}
	if k.In.Stack != st.Name || k.In.Region != st.Region {
		return nil, fmt.Errorf("internal: deploy input is for stack %s in %s, not %s in %s", k.In.Stack, k.In.Region, st.Name, st.Region)
	}
	r, err := Deploy(ctx, c, *k.In, k.Zip, dryRun, progress)
	if err != nil {
		return nil, err
	}
	r.plan = dryRun
	return r, nil
}

func (*Component) Destroy(ctx context.Context, c *awsapi.Session, st stack.Stack, dryRun bool, progress io.Writer) ([]engine.Change, error) {
	return Destroy(ctx, c, st.Name, st.Region, dryRun, progress)
}

func (*Component) Status(ctx context.Context, c *awsapi.Session, st stack.Stack) (component.Report, error) {
	return GetStatus(ctx, c, st.Name, st.Region)
}

func (*Component) Endpoints(ctx context.Context, c *awsapi.Session, st stack.Stack, showSecret bool) (component.Report, error) {
	return GetEndpoint(ctx, c, st.Name, showSecret)
}

// WriteText prints the plan (dry run) or what the deploy left.
func (r *Result) WriteText(w io.Writer) {
	if r.plan {
		if r.Changes == 0 {
			fmt.Fprintf(w, "stack %s (%s): no changes\n", r.Stack, r.Region)
			return
		}
		fmt.Fprintf(w, "stack %s (%s): %d changes\n", r.Stack, r.Region, r.Changes)
		for _, ch := range r.ChangeList {
			fmt.Fprintln(w, "  "+ch)
		}
		return
	}
	endpoint := r.Endpoint
	if endpoint == "" {
		endpoint = "(none)"
	}
	fmt.Fprintf(w, "endpoint  %s  (+ the secret prefix: `rudderctl endpoints --show-secret`)\n", endpoint)
	fmt.Fprintf(w, "function  %s\n", r.Function)
	fmt.Fprintf(w, "version   %s\n", r.Version)
	fmt.Fprintf(w, "alias     %s -> %s\n", r.Alias, r.Version)
	if r.Changes == 0 {
		fmt.Fprintln(w, "changes   no changes")
	} else {
		fmt.Fprintf(w, "changes   %d\n", r.Changes)
	}
}

// WriteText prints each part of the stack, its state and its problems.
func (s *Status) WriteText(w io.Writer) {
	if !s.Deployed {
		fmt.Fprintf(w, "stack %s (%s): nothing deployed\n", s.Stack, s.Region)
		return
	}
	fmt.Fprintf(w, "stack %s (%s)\n", s.Stack, s.Region)
	item := func(label string, it *StatusItem) {
		if it == nil {
			fmt.Fprintf(w, "  %-11s missing\n", label)
			return
		}
		fmt.Fprintf(w, "  %-11s %s %s\n", label, it.Name, it.Detail)
	}
	item("role", s.Role)
	item("log group", s.LogGroup)
	if f := s.Function; f != nil {
		fmt.Fprintf(w, "  %-11s %s %s/%s, %s %s, %d MB, %d s\n", "function", f.Name, f.State, f.LastUpdate, f.Runtime, f.Arch, f.Memory, f.Timeout)
		fmt.Fprintf(w, "  %-11s %s\n", "versions", strings.Join(f.Versions, ", "))
		fmt.Fprintf(w, "  %-11s live -> %s\n", "alias", f.AliasVersion)
	} else {
		fmt.Fprintf(w, "  %-11s missing\n", "function")
	}
	if a := s.API; a != nil {
		fmt.Fprintf(w, "  %-11s %s, %d routes, %d integrations, $default stage %v\n", "api", a.ID, a.Routes, a.Integrations, a.Stage)
		fmt.Fprintf(w, "  %-11s %s\n", "endpoint", a.Endpoint)
	} else {
		fmt.Fprintf(w, "  %-11s missing\n", "api")
	}
	fmt.Fprintf(w, "  %-11s %v\n", "permission", s.Permission)
	if s.Bucket != nil {
		item("s3 bucket", s.Bucket)
	}
	if s.Lock != "" {
		fmt.Fprintf(w, "  %-11s held by %s\n", "lock", s.Lock)
	}
	for _, p := range s.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
}

// WriteText prints the URL and DEST_TRANSFORM_URL.
func (e *Endpoint) WriteText(w io.Writer) {
	fmt.Fprintf(w, "url                 %s\n", e.URL)
	fmt.Fprintf(w, "DEST_TRANSFORM_URL  %s\n", e.DestTransformURL)
	if !e.SecretShown {
		fmt.Fprintln(w, "(pass --show-secret to print the real prefix)")
	}
}
