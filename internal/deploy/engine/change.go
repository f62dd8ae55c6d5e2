// Package engine is the reconcile engine every deploy target shares: a plan is a list of
// Changes, each carried out by the Kind of resource it touches. The engine, not the kinds,
// owns what every change needs alike: progress lines, adopting a resource an earlier
// attempt created ("already exists -> adopt"), ignoring "not found" on delete, explaining
// AWS errors, hiding the secret, the "run it again to finish" hint, and running steps in
// dependency order (independent steps in parallel).
//
// A kind is one file: find (ErrNotFound when absent), desired (pure), diff (pure: found vs
// desired -> Changes), and create / update / delete / wait (see Kind). See
// docs/ADDING_A_RESOURCE_KIND.md.
package engine

import (
	"fmt"
	"strings"

	"github.com/rudderctl/rudderctl/internal/awsapi"
)

// Action is one kind of mutating call (or short sequence of calls) a change makes.
type Action string

// Change is one step of a plan. Its JSON (plan --json) holds only what is shown.
type Change struct {
	Action   Action `json:"action"`
	Resource string `json:"resource"` // "IAM role", "Lambda function", ...
	Name     string `json:"name"`     // shown to people; never holds a secret
	Reason   string `json:"reason,omitempty"`
	// Target is the id the call acts on (route id, integration id, version, API id...),
	// or for a new route its key. Not shown (a route key holds the secret).
	Target string `json:"-"`
	// API is the API id the change belongs to ("" = the one being created or kept).
	API string `json:"-"`
	// ID names the step for Needs ("" = not needed by any other step by name).
	ID string `json:"-"`
	// Needs are the IDs of the steps this one waits for. nil = every step before it (plan
	// order, the safe default); an empty, non-nil slice = none: it may run at once.
	Needs []string `json:"-"`
}

// Verb is what a change does to its resource.
type Verb string

const (
	Create Verb = "create"
	Update Verb = "update"
	Delete Verb = "delete"
)

// creates and deletes are the actions whose names do not start with Create / Delete.
var (
	createActions = map[Action]bool{}
	deleteActions = map[Action]bool{}
)

// RegisterVerb declares the verb of an action whose name does not tell it (PublishVersion
// creates, RemovePermission deletes). Call it from a kind's package init.
func RegisterVerb(a Action, v Verb) {
	switch v {
	case Create:
		createActions[a] = true
	case Delete:
		deleteActions[a] = true
	}
}

// Verb is "create", "update" or "delete".
func (c Change) Verb() string {
	a := string(c.Action)
	switch {
	case c.Reason == "missing", strings.HasPrefix(a, "Create"), createActions[c.Action]:
		return string(Create)
	case strings.HasPrefix(a, "Delete"), deleteActions[c.Action]:
		return string(Delete)
	}
	return string(Update)
}

// String is the line shown for the change.
func (c Change) String() string {
	mark := map[string]string{"create": "+", "update": "~", "delete": "-"}[c.Verb()]
	s := fmt.Sprintf("%s %s %s: %s", mark, c.Resource, c.Name, c.Action)
	if c.Reason != "" {
		s += " (" + c.Reason + ")"
	}
	return s
}

// ErrNotFound is what a kind's find returns when the resource does not exist: the AWS
// clients' own not-found, so a find may pass a client's error through.
var ErrNotFound = awsapi.ErrNotFound

// Redact hides secret in anything shown to a person.
func Redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "<secret>")
}
