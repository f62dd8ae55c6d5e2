package kinds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/ec2api"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
)

// GroupsSpec is a component's security groups, each known by its part ("alb", "tasks"...),
// and the ingress rules each admits.
type GroupsSpec struct {
	Stack string
	Parts []string // in creation order
	Name  func(part string) string
	// Rules are a part's wanted ingress rules, with the group ids known so far ("" for a
	// group still to create); Words says them for a person.
	Rules func(part string) []ec2api.Rule
	Words func(part string) string
	// Tag plans the stack tag of an untagged group ("" = only another stack's is refused).
	Tag engine.Action
}

// DiffGroups plans each group (created when missing) and its rules: a wanted rule missing
// (or whose source group is still to create) is added, a rule found that is not wanted is
// revoked.
func DiffGroups(found map[string]*ec2api.SecurityGroup, want GroupsSpec) ([]engine.Change, error) {
	var cs []engine.Change
	for _, part := range want.Parts {
		name := want.Name(part)
		g := found[part]
		var rules []ec2api.Rule
		if g == nil {
			cs = append(cs, engine.Change{Action: CreateSecurityGroup, Resource: "security group", Name: name, Reason: "missing", Target: part})
		} else {
			tag, err := Owned(g.Tags, want.Stack, "security group", name, want.Tag, g.ID)
			if err != nil {
				return nil, err
			}
			cs = append(cs, tag...)
			rules = g.Ingress
		}
		wanted := want.Rules(part)
		for _, r := range wanted {
			if (r.FromGroup == "" && r.CIDR == "") || !slices.ContainsFunc(rules, r.Same) {
				cs = append(cs, engine.Change{Action: AllowIngress, Resource: "security group rule", Name: name, Reason: "missing: " + want.Words(part), Target: part})
			}
		}
		for _, r := range rules {
			if !slices.ContainsFunc(wanted, r.Same) {
				cs = append(cs, engine.Change{Action: RevokeIngress, Resource: "security group rule", Name: name, Reason: "not ours to allow: " + describeRule(r), Target: ruleTarget(part, r)})
			}
		}
	}
	return cs, nil
}

// ruleTarget is a revoke's Target: "part rule-json".
func ruleTarget(part string, r ec2api.Rule) string {
	b, _ := json.Marshal(r)
	return part + " " + string(b)
}

func describeRule(r ec2api.Rule) string {
	from := r.FromGroup
	if r.CIDR != "" {
		from = r.CIDR
	}
	return fmt.Sprintf("%s %d-%d from %s", r.Protocol, r.FromPort, r.ToPort, from)
}

// SecurityGroupKind creates a group (Target: its part; Why says what it is for) in VPC
// and records its id in IDs; deletes one by id.
type SecurityGroupKind struct {
	C    *awsapi.Session
	VPC  string
	Why  map[string]string // by part
	Tags map[string]string
	IDs  *IDs
}

func (k SecurityGroupKind) Actions() []engine.Action {
	return []engine.Action{CreateSecurityGroup, DeleteSecurityGroup}
}

func (k SecurityGroupKind) Create(ctx context.Context, ch engine.Change) error {
	id, err := k.C.EC2().CreateSecurityGroup(ctx, k.VPC, ch.Name, k.Why[ch.Target], k.Tags)
	if err == nil {
		k.IDs.Set(ch.Target, id)
	}
	return err
}

func (k SecurityGroupKind) AlreadyExists(err error) bool {
	return errors.Is(err, awsapi.ErrAlreadyExists)
}

func (k SecurityGroupKind) Adopt(ctx context.Context, ch engine.Change) error {
	g, err := k.C.EC2().FindSecurityGroup(ctx, k.VPC, ch.Name)
	if err == nil {
		k.IDs.Set(ch.Target, g.ID)
	}
	return err
}

func (k SecurityGroupKind) Update(ctx context.Context, ch engine.Change) error {
	return engine.Unsupported{}.Update(ctx, ch)
}

// Delete retries while the group is in use (the ALB's or a task's interfaces go away a
// little after them).
func (k SecurityGroupKind) Delete(ctx context.Context, ch engine.Change) error {
	return RetryWhile(ctx, ec2api.IsInUse, func() error { return k.C.EC2().DeleteSecurityGroup(ctx, ch.Target) })
}

// RuleKind adds a group's wanted ingress rules (Target: the part; Rules answers them with
// the ids known when it runs) and revokes a rule found that is not wanted (Target: "part
// rule-json").
type RuleKind struct {
	C     *awsapi.Session
	IDs   *IDs
	Rules func(part string) []ec2api.Rule
}

func (k RuleKind) Actions() []engine.Action { return []engine.Action{AllowIngress, RevokeIngress} }

func (k RuleKind) Create(ctx context.Context, ch engine.Change) error {
	part := ch.Target
	for _, rule := range k.Rules(part) {
		if err := k.C.EC2().AllowIngress(ctx, k.IDs.Get(part), rule); err != nil && !errors.Is(err, awsapi.ErrAlreadyExists) {
			return err
		}
	}
	return nil
}

func (k RuleKind) Update(ctx context.Context, ch engine.Change) error { return k.Create(ctx, ch) }

func (k RuleKind) Delete(ctx context.Context, ch engine.Change) error {
	part, js, _ := strings.Cut(ch.Target, " ")
	var rule ec2api.Rule
	if err := json.Unmarshal([]byte(js), &rule); err != nil {
		return engine.Plain(fmt.Errorf("internal: rule %q: %v", js, err))
	}
	return k.C.EC2().RevokeIngress(ctx, k.IDs.Get(part), rule)
}
