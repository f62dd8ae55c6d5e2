package kinds

import (
	"context"
	"errors"
	"fmt"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/secretsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// SecretSpec is a Secrets Manager secret a component keeps. The reasons never show the
// value.
type SecretSpec struct {
	Name, Stack string
	// What the secret holds and who reads it (the create's reason), and why a put is
	// planned.
	What, Changed string
	// Tag plans the stack tag of an untagged secret ("" = only another stack's is refused).
	Tag engine.Action
}

// DiffSecret plans the secret: created when missing; refused while it is scheduled for
// deletion or when another stack's; its value put when same is false.
func DiffSecret(found *secretsapi.Secret, same bool, want SecretSpec) ([]engine.Change, error) {
	switch {
	case found == nil:
		return []engine.Change{{Action: CreateSecret, Resource: "secret", Name: want.Name, Reason: "missing; " + want.What}}, nil
	case found.DeletedDate != nil:
		return nil, &stack.Error{Msg: fmt.Sprintf("secret %s is scheduled for deletion: restore it (aws secretsmanager restore-secret --secret-id %s) or wait for its deletion, then deploy again", want.Name, want.Name)}
	}
	cs, err := Owned(found.Tags, want.Stack, "secret", want.Name, want.Tag, found.ARN)
	if err != nil {
		return nil, err
	}
	if !same {
		cs = append(cs, engine.Change{Action: PutSecretValue, Resource: "secret", Name: want.Name, Reason: want.Changed})
	}
	return cs, nil
}

// SecretKind creates the secret with Value (tagged), puts Value, and deletes it at once
// (no recovery window: a redeploy recreates it under its name). ARN, when not nil, is
// filled in for later steps.
type SecretKind struct {
	C                  *awsapi.Session
	Value, Description string
	Tags               map[string]string
	ARN                *string
}

func (k SecretKind) Actions() []engine.Action {
	return []engine.Action{CreateSecret, PutSecretValue, DeleteSecret}
}

func (k SecretKind) Create(ctx context.Context, ch engine.Change) error {
	arn, err := k.C.Secrets().Create(ctx, ch.Name, k.Value, k.Description, k.Tags)
	if err == nil && k.ARN != nil {
		*k.ARN = arn
	}
	return err
}

func (k SecretKind) AlreadyExists(err error) bool { return errors.Is(err, awsapi.ErrAlreadyExists) }

// Adopt: an earlier attempt's secret; its value is put again.
func (k SecretKind) Adopt(ctx context.Context, ch engine.Change) error {
	if k.ARN != nil {
		s, err := k.C.Secrets().Describe(ctx, ch.Name)
		if err != nil {
			return err
		}
		*k.ARN = s.ARN
	}
	return k.Update(ctx, ch)
}

func (k SecretKind) Update(ctx context.Context, ch engine.Change) error {
	_, err := k.C.Secrets().PutString(ctx, ch.Name, k.Value)
	return err
}

func (k SecretKind) Delete(ctx context.Context, ch engine.Change) error {
	return k.C.Secrets().Delete(ctx, ch.Name, 0)
}
