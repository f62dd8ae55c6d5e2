package kinds

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/iamapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// Role is an IAM role as found.
type Role struct {
	ARN        string
	Tagged     bool   // carries rudderctl:stack=<this stack>
	OtherStack string // value of rudderctl:stack when it is another stack
	Trust      string // assume-role policy document
	Policy     string // the inline policy RoleSpec.PolicyName, "" when absent
	// PolicyNames are all its inline policies.
	PolicyNames []string
}

// RoleSpec is the role a component wants: one inline policy, a trust policy.
type RoleSpec struct {
	Name, Path, Description string
	Stack                   string
	Trust                   string // assume-role policy document
	PolicyName, Policy      string // the inline policy
}

// FindRole reads role name with its tags and its inline policy policyName.
func FindRole(ctx context.Context, c *awsapi.Session, name, stackName, policyName string) (*Role, error) {
	role, err := c.IAM().FindRole(ctx, name)
	if errors.Is(err, awsapi.ErrNotFound) {
		return nil, engine.ErrNotFound
	}
	if err != nil {
		return nil, awsapi.Explain("read IAM role "+name, err)
	}
	r := &Role{ARN: role.ARN, Trust: role.Trust}
	tags := role.Tags
	if len(tags) == 0 { // not every IAM implementation includes them in GetRole
		if tags, err = c.IAM().Tags(ctx, name); err != nil {
			return nil, awsapi.Explain("read the tags of IAM role "+name, err)
		}
	}
	r.Tagged, r.OtherStack = stack.TagState(tags, stackName)
	if r.PolicyNames, err = c.IAM().ListRolePolicies(ctx, name); err != nil {
		return nil, awsapi.Explain("list the policies of IAM role "+name, err)
	}
	for _, p := range r.PolicyNames {
		if p != policyName {
			continue
		}
		doc, err := c.IAM().InlinePolicy(ctx, name, policyName)
		if err != nil && !errors.Is(err, awsapi.ErrNotFound) {
			return nil, awsapi.Explain("read the policy of IAM role "+name, err)
		}
		r.Policy = doc
	}
	return r, nil
}

// ObserveRole is FindRole with nil for a role that does not exist.
func ObserveRole(ctx context.Context, c *awsapi.Session, name, stackName, policyName string) (*Role, error) {
	return absent(FindRole(ctx, c, name, stackName, policyName))
}

// DiffRole plans the role and its inline policy: created when missing; otherwise tagged,
// its trust and policy put back when they differ. A role of another stack is refused.
func DiffRole(found *Role, want RoleSpec) ([]engine.Change, error) {
	policy := engine.Change{Action: PutRolePolicy, Resource: "IAM role policy", Name: want.Name + "/" + want.PolicyName, Reason: "missing"}
	if found == nil {
		return []engine.Change{{Action: CreateRole, Resource: "IAM role", Name: want.Name, Reason: "missing"}, policy}, nil
	}
	if found.OtherStack != "" {
		return nil, stack.OwnedByOther("IAM role", want.Name, found.OtherStack)
	}
	var cs []engine.Change
	if !found.Tagged {
		cs = append(cs, TagChange(TagRole, "IAM role", want.Name))
	}
	if !PolicyEqual(found.Trust, want.Trust) {
		cs = append(cs, engine.Change{Action: UpdateTrust, Resource: "IAM role", Name: want.Name, Reason: "trust policy differs"})
	}
	if !PolicyEqual(found.Policy, want.Policy) {
		if found.Policy != "" {
			policy.Reason = "differs"
		}
		cs = append(cs, policy)
	}
	return cs, nil
}

// DeleteRoleChanges deletes the role's inline policies, then the role.
func DeleteRoleChanges(found *Role, name string) []engine.Change {
	var cs []engine.Change
	for _, p := range found.PolicyNames {
		cs = append(cs, engine.Change{Action: DeleteRolePolicy, Resource: "IAM role policy", Name: name + "/" + p, Target: p})
	}
	return append(cs, engine.Change{Action: DeleteRole, Resource: "IAM role", Name: name})
}

// RoleKind creates, updates (trust) and deletes the role. ARN, when set, receives the
// role's ARN (created or adopted) for the steps after it.
type RoleKind struct {
	C    *awsapi.Session
	Spec RoleSpec
	ARN  *string
}

func (k RoleKind) setARN(arn string) {
	if k.ARN != nil {
		*k.ARN = arn
	}
}

func (k RoleKind) Actions() []engine.Action {
	return []engine.Action{CreateRole, UpdateTrust, DeleteRole}
}

func (k RoleKind) Create(ctx context.Context, _ engine.Change) error {
	r, err := k.C.IAM().CreateRole(ctx, iamapi.RoleSpec{Name: k.Spec.Name, Path: k.Spec.Path, Trust: k.Spec.Trust,
		Description: k.Spec.Description, Tags: map[string]string{stack.TagKey: k.Spec.Stack}})
	if err == nil {
		k.setARN(r.ARN)
	}
	return err
}

func (k RoleKind) AlreadyExists(err error) bool { return errors.Is(err, awsapi.ErrAlreadyExists) }

func (k RoleKind) Adopt(ctx context.Context, _ engine.Change) error {
	r, err := k.C.IAM().FindRole(ctx, k.Spec.Name)
	if err == nil {
		k.setARN(r.ARN)
	}
	return err
}

func (k RoleKind) Update(ctx context.Context, _ engine.Change) error {
	return k.C.IAM().UpdateTrust(ctx, k.Spec.Name, k.Spec.Trust)
}

func (k RoleKind) Delete(ctx context.Context, _ engine.Change) error {
	return k.C.IAM().DeleteRole(ctx, k.Spec.Name)
}

// RolePolicyKind puts the role's inline policy (create and update alike) and deletes
// inline policies by name (the change's Target).
type RolePolicyKind struct {
	C    *awsapi.Session
	Spec RoleSpec
}

func (k RolePolicyKind) Actions() []engine.Action {
	return []engine.Action{PutRolePolicy, DeleteRolePolicy}
}

func (k RolePolicyKind) Create(ctx context.Context, ch engine.Change) error { return k.Update(ctx, ch) }

func (k RolePolicyKind) Update(ctx context.Context, _ engine.Change) error {
	return k.C.IAM().PutInlinePolicy(ctx, k.Spec.Name, k.Spec.PolicyName, k.Spec.Policy)
}

func (k RolePolicyKind) Delete(ctx context.Context, ch engine.Change) error {
	return k.C.IAM().DeleteInlinePolicy(ctx, k.Spec.Name, ch.Target)
}

// PolicyEqual compares two IAM policy documents by meaning of their JSON (IAM returns
// them URL-encoded and re-formatted).
func PolicyEqual(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	pa, ok1 := ParsePolicy(a)
	pb, ok2 := ParsePolicy(b)
	if !ok1 || !ok2 {
		return false
	}
	return reflect.DeepEqual(normalise(pa), normalise(pb))
}

// ParsePolicy decodes a policy document, URL-encoded (as IAM returns it) or not.
func ParsePolicy(s string) (any, bool) {
	if u, err := url.QueryUnescape(s); err == nil && len(u) > 0 && u[0] == '{' {
		s = u
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, false
	}
	return v, true
}

// normalise turns one-element lists into their element (IAM accepts both spellings).
func normalise(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, x := range t {
			m[k] = normalise(x)
		}
		return m
	case []any:
		if len(t) == 1 {
			return normalise(t[0])
		}
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = normalise(x)
		}
		return l
	}
	return v
}
