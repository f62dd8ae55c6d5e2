package transformer

import (
	"context"
	"sort"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
)

// Published versions: one per code or configuration the function has had; the newest
// is published when it differs from what is wanted. Found by observeFunction (ascending).

// latestVersion is the newest published version, nil when there is none.
func latestVersion(o *Observed) *Version {
	if n := len(o.Versions); n > 0 {
		return &o.Versions[n-1]
	}
	return nil
}

// planVersion plans a new version when the newest differs from what is wanted.
func planVersion(o *Observed, d *Desired) (publish bool, cs []Change) {
	latest := latestVersion(o)
	if latest != nil && latest.CodeSha256 == d.CodeSha256 && latest.Config.Equal(d.Config) {
		return false, nil
	}
	reason := "code or configuration changed"
	if latest == nil {
		reason = "no version published"
	}
	return true, []Change{{Action: PublishVersion, Resource: "Lambda version", Name: d.Function, Reason: reason}}
}

// versionKind publishes a version (once an earlier update settled) and deletes versions
// (the change's Target).
type versionKind struct {
	*run
	engine.Unsupported
}

func (k versionKind) Actions() []engine.Action {
	return []engine.Action{PublishVersion, DeleteVersion}
}

func (k versionKind) Ready(ctx context.Context, _ Change) error { return k.settle(ctx) }

func (k versionKind) Create(ctx context.Context, _ Change) error {
	v, err := k.c.Lambda().PublishVersion(ctx, k.d.Function, k.d.CodeSha256, "rudderctl deploy")
	if err == nil {
		k.l.Version = v
	}
	return err
}

func (k versionKind) Delete(ctx context.Context, ch Change) error {
	return k.c.Lambda().DeleteVersion(ctx, k.d.Function, ch.Target)
}

// findVersions lists the published versions, ascending.
func findVersions(ctx context.Context, c *awsapi.Session, n Names) ([]Version, error) {
	found, err := c.Lambda().PublishedVersions(ctx, n.Function)
	if err != nil {
		return nil, awsapi.Explain("list the versions of "+n.Function, err)
	}
	var vs []Version
	for _, v := range found {
		if versionNumber(v.Number) < 0 {
			continue
		}
		vs = append(vs, Version{Number: v.Number, Config: FunctionConfig(v.Config), CodeSha256: v.CodeSha256})
	}
	sort.Slice(vs, func(i, j int) bool { return versionNumber(vs[i].Number) < versionNumber(vs[j].Number) })
	return vs, nil
}
