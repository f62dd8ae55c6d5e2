package container

import (
	"context"
	"errors"
	"fmt"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
)

// The stack's ECR repository (rudderctl's own image), its lifecycle policy and the push.

type repositoryKind struct{ r *run }

func (k repositoryKind) Actions() []engine.Action {
	return []engine.Action{CreateRepository, DeleteRepository}
}

func (k repositoryKind) Create(ctx context.Context, ch engine.Change) error {
	repo, err := k.r.c.ECR().CreateRepository(ctx, ch.Name, k.r.d.Names.Tags())
	if err == nil {
		k.r.ids.RepoURI = repo.URI
	}
	return err
}

func (k repositoryKind) AlreadyExists(err error) bool { return errors.Is(err, awsapi.ErrAlreadyExists) }

func (k repositoryKind) Adopt(ctx context.Context, ch engine.Change) error {
	repo, err := k.r.c.ECR().FindRepository(ctx, ch.Name)
	if err == nil {
		k.r.ids.RepoURI = repo.URI
	}
	return err
}

func (k repositoryKind) Update(ctx context.Context, ch engine.Change) error {
	return engine.Unsupported{}.Update(ctx, ch)
}

// Delete deletes the repository with its images.
func (k repositoryKind) Delete(ctx context.Context, ch engine.Change) error {
	return k.r.c.ECR().DeleteRepository(ctx, ch.Name)
}

func lifecycleKind(r *run) engine.Kind {
	put := func(ctx context.Context, ch engine.Change) error {
		return r.c.ECR().PutLifecyclePolicy(ctx, ch.Name, LifecyclePolicy)
	}
	return engine.Func{Acts: []engine.Action{PutLifecycle}, OnCreate: put, OnUpdate: put}
}

func (r *run) ecrTags() engine.Kind {
	return engine.Func{Acts: []engine.Action{TagECR}, OnUpdate: func(ctx context.Context, ch engine.Change) error {
		return r.c.ECR().TagRepository(ctx, ch.Target, r.d.Names.Tags())
	}}
}

// pushKind pushes rudderctl's image with a registry login from GetAuthorizationToken.
type pushKind struct{ r *run }

func (k pushKind) Actions() []engine.Action { return []engine.Action{PushImage} }

func (k pushKind) Create(ctx context.Context, _ engine.Change) error {
	img := k.r.d.Image
	login, err := k.r.c.ECR().Login(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(k.r.progress, "  pushing %s to %s:%s...\n", short(img.Digest), k.r.ids.RepoURI, ImageTag)
	digest, err := img.Push(k.r.ids.RepoURI, ImageTag, login.User, login.Password)
	if err != nil {
		return engine.Plain(fmt.Errorf("could not push rudderctl's image to %s: %v; check that the registry is reachable and run the deploy again", k.r.ids.RepoURI, err))
	}
	if digest != img.Digest {
		return engine.Plain(fmt.Errorf("the registry holds %s for the image rudderctl built as %s: the push was altered on the way; run the deploy again", digest, img.Digest))
	}
	return nil
}

func (k pushKind) Update(ctx context.Context, ch engine.Change) error { return k.Create(ctx, ch) }

func (k pushKind) Delete(ctx context.Context, ch engine.Change) error {
	return engine.Unsupported{}.Delete(ctx, ch)
}
