package container

import (
	"context"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/rudderctl/rudderctl/container/image"
)

// NewOwnImage wraps a built image (container/image) for the deploy: its digest is known
// before any AWS call, and Push sends it with an ECR login.
func NewOwnImage(ctx context.Context, img v1.Image) (*OwnImage, error) {
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	return &OwnImage{Digest: d.String(), Push: func(uri, tag, user, password string) (string, error) {
		ref, err := image.Push(ctx, img, uri, tag, image.Auth{Username: user, Password: password})
		if err != nil {
			return "", err
		}
		return ref[strings.LastIndex(ref, "@")+1:], nil
	}}, nil
}
