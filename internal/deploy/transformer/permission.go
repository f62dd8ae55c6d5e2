package transformer

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/lambdaapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
)

// The permission (statement StatementID on alias live) for API Gateway to invoke the
// alias from this API only. Found by observeFunction (findStatement).

func (p *apiPlan) permission() {
	o, d := p.o, p.d
	want := Permission{Principal: "apigateway.amazonaws.com", Action: "lambda:InvokeFunction", Resource: p.aliasARN, SourceARN: SourceARN(d.Region, d.Account, p.apiID)}
	switch {
	case o.Permission == nil || o.Alias == nil:
		p.add(Change{Action: AddPermission, Resource: "Lambda permission", Name: StatementID, Reason: "missing"})
	case p.apiID == "" || p.aliasARN == "" || *o.Permission != want:
		p.add(Change{Action: RemovePermission, Resource: "Lambda permission", Name: StatementID, Reason: "differs"})
		p.add(Change{Action: AddPermission, Resource: "Lambda permission", Name: StatementID, Reason: "differs"})
	}
}

// permissionKind adds the statement and removes it.
type permissionKind struct{ *run }

func (k permissionKind) Actions() []engine.Action {
	return []engine.Action{AddPermission, RemovePermission}
}

func (k permissionKind) Create(ctx context.Context, _ Change) error {
	return k.c.Lambda().AddPermission(ctx, k.d.Function, AliasName, lambdaapi.Permission{StatementID: StatementID,
		Action: "lambda:InvokeFunction", Principal: "apigateway.amazonaws.com", SourceARN: SourceARN(k.d.Region, k.d.Account, k.l.APIID)})
}

// AlreadyExists: a statement with our id is there: an earlier attempt got through.
func (k permissionKind) AlreadyExists(err error) bool {
	return errors.Is(err, awsapi.ErrAlreadyExists)
}

func (k permissionKind) Adopt(context.Context, Change) error { return nil }

func (k permissionKind) Update(ctx context.Context, ch Change) error {
	return engine.Unsupported{}.Update(ctx, ch)
}

func (k permissionKind) Delete(ctx context.Context, _ Change) error {
	return k.c.Lambda().RemovePermission(ctx, k.d.Function, AliasName, StatementID)
}

// findPermission reads statement StatementID of the alias's resource policy; nil when the
// policy has no such statement.
func findPermission(ctx context.Context, c *awsapi.Session, n Names) (*Permission, error) {
	pol, err := c.Lambda().ResourcePolicy(ctx, n.Function, AliasName)
	if errors.Is(err, awsapi.ErrNotFound) {
		return nil, engine.ErrNotFound
	}
	if err != nil {
		return nil, awsapi.Explain("read the resource policy of "+n.Function+":"+AliasName, err)
	}
	return findStatement(pol, StatementID), nil
}

// findStatement extracts one statement of a Lambda resource policy.
func findStatement(doc, sid string) *Permission {
	var p struct {
		Statement []struct {
			Sid       string
			Principal any
			Action    any
			Resource  any
			Condition map[string]map[string]any
		}
	}
	if json.Unmarshal([]byte(doc), &p) != nil {
		return nil
	}
	str := func(v any) string {
		switch t := v.(type) {
		case string:
			return t
		case []any:
			if len(t) == 1 {
				s, _ := t[0].(string)
				return s
			}
		case map[string]any:
			if s, ok := t["Service"]; ok {
				if x, ok := s.(string); ok {
					return x
				}
			}
		}
		return ""
	}
	for _, s := range p.Statement {
		if s.Sid != sid {
			continue
		}
		perm := &Permission{Principal: str(s.Principal), Action: str(s.Action), Resource: str(s.Resource)}
		for _, cond := range s.Condition {
			for k, v := range cond {
				if strings.EqualFold(k, "AWS:SourceArn") {
					perm.SourceARN = str(v)
				}
			}
		}
		return perm
	}
	return nil
}
