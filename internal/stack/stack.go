// Package stack is what every component of a rudderctl stack shares: the stack's name and
// tags, the naming rules of its AWS resources, its S3 bucket and the lock in that bucket.
// It knows nothing of any one component.
//
// The cloud is the only record: everything a stack owns carries TagKey=<stack> and is
// found again by tag or by name; there is no local state file.
package stack

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// TagKey marks everything a stack owns: rudderctl:stack=<stack>.
const TagKey = "rudderctl:stack"

// ComponentTagKey names the component a resource belongs to (rudderctl:component=<name>),
// for components whose resources cannot be told apart by name alone (resources made
// before it carry TagKey only).
const ComponentTagKey = "rudderctl:component"

// Stack is one deployed stack in one account and region.
type Stack struct {
	Name    string
	Account string
	Region  string
}

// Tags is the tag set put on every resource of the stack.
func Tags(stack string) map[string]string { return map[string]string{TagKey: stack} }

// ComponentTags is Tags plus the component tag.
func ComponentTags(stack, component string) map[string]string {
	return map[string]string{TagKey: stack, ComponentTagKey: component}
}

// TagState reads a resource's tags: ours = tagged with this stack; other = the stack it
// is tagged with when that is another one ("" when untagged or ours).
func TagState(tags map[string]string, stack string) (ours bool, other string) {
	v, ok := tags[TagKey]
	switch {
	case ok && v == stack:
		return true, ""
	case ok:
		return false, v
	}
	return false, ""
}

// ResourceName is the AWS name of a component's resources: rudderctl-<stack>-<component>.
func ResourceName(stack, component string) string {
	return "rudderctl-" + stack + "-" + component
}

// BucketName is the stack's bucket in one account and region (the stack lock, and
// artifacts too large for a direct upload): rudderctl-<stack>-<account>-<region>, a valid
// S3 name of at most 63 characters (bucket names are global, hence the account and
// region). When that is too long the stack part is shortened and a hash of the full stack
// name keeps it unique.
func BucketName(stack, account, region string) string {
	tail := "-" + strings.ToLower(account) + "-" + strings.ToLower(region)
	name := "rudderctl-" + stack + tail
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(stack))
	h := hex.EncodeToString(sum[:])[:8]
	keep := 63 - len("rudderctl-") - len(tail) - len("-"+h)
	short := strings.TrimRight(stack[:max(0, min(keep, len(stack)))], "-")
	if short == "" {
		return "rudderctl-" + h + tail
	}
	return "rudderctl-" + short + "-" + h + tail
}

// Error is a refusal found while planning: for example a resource with our name that
// belongs to someone else. Nothing was changed.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// OwnedByOther is the refusal for a resource carrying another stack's tag.
func OwnedByOther(resource, name, other string) error {
	return &Error{fmt.Sprintf("%s %s belongs to stack %q: it is tagged %s=%s; pick another --stack or destroy that stack", resource, name, other, TagKey, other)}
}
