package transformer

import (
	"context"
	"github.com/rudderctl/rudderctl/internal/awsapi"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

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
	out, err := k.c.Lambda.PublishVersion(ctx, &lambda.PublishVersionInput{
		FunctionName: aws.String(k.d.Function),
		CodeSha256:   aws.String(k.d.CodeSha256),
		Description:  aws.String("rudderctl deploy"),
	})
	if err == nil {
		k.l.Version = aws.ToString(out.Version)
	}
	return err
}

func (k versionKind) Delete(ctx context.Context, ch Change) error {
	_, err := k.c.Lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(k.d.Function), Qualifier: aws.String(ch.Target)})
	return err
}

// findVersions lists the published versions, ascending.
func findVersions(ctx context.Context, c *awsapi.Clients, n Names) ([]Version, error) {
	var vs []Version
	var marker *string
	for {
		lv, err := c.Lambda.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(n.Function), Marker: marker})
		if err != nil {
			return nil, awsapi.Explain("list the versions of "+n.Function, err)
		}
		for i := range lv.Versions {
			v := &lv.Versions[i]
			num := aws.ToString(v.Version)
			if num == "$LATEST" || versionNumber(num) < 0 {
				continue
			}
			vs = append(vs, Version{Number: num, Config: configOf(v), CodeSha256: aws.ToString(v.CodeSha256)})
		}
		if lv.NextMarker == nil {
			break
		}
		marker = lv.NextMarker
	}
	sort.Slice(vs, func(i, j int) bool { return versionNumber(vs[i].Number) < versionNumber(vs[j].Number) })
	return vs, nil
}
