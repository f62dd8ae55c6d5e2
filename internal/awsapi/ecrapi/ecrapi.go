// Package ecrapi is the part of ECR rudderctl uses: repositories with their tags and
// lifecycle policy, image lookups and the registry credentials (GetAuthorizationToken).
// Errors are *awserr.Error (errors.Is(err, awserr.ErrNotFound)).
package ecrapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
)

// Client is ECR, domain-shaped.
type Client struct {
	sdk *ecr.Client
}

// New wraps an SDK client (awsapi.Session builds it).
func New(c *ecr.Client) *Client { return &Client{sdk: c} }

var codes = awserr.Codes{
	"RepositoryNotFoundException":      awserr.ErrNotFound,
	"LifecyclePolicyNotFoundException": awserr.ErrNotFound,
	"ImageNotFoundException":           awserr.ErrNotFound,
	"RepositoryAlreadyExistsException": awserr.ErrAlreadyExists,
	"RepositoryNotEmptyException":      awserr.ErrConflict,
}

func wrap(what string, err error) error { return awserr.Wrap(what, err, codes) }

// Repository is an ECR repository.
type Repository struct {
	ARN, Name, URI string
	Tags           map[string]string
}

// FindRepository reads a repository with its tags; ErrNotFound when there is none.
func (c *Client) FindRepository(ctx context.Context, name string) (*Repository, error) {
	out, err := c.sdk.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}})
	if err != nil {
		return nil, wrap("read ECR repository "+name, err)
	}
	for _, r := range out.Repositories {
		if aws.ToString(r.RepositoryName) != name {
			continue
		}
		repo := &Repository{ARN: aws.ToString(r.RepositoryArn), Name: name, URI: aws.ToString(r.RepositoryUri)}
		tags, err := c.sdk.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: r.RepositoryArn})
		if err != nil {
			return nil, wrap("read the tags of ECR repository "+name, err)
		}
		repo.Tags = map[string]string{}
		for _, t := range tags.Tags {
			repo.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		return repo, nil
	}
	return nil, &awserr.Error{What: "read ECR repository " + name, Kind: awserr.ErrNotFound, Err: fmt.Errorf("no repository %s", name)}
}

// CreateRepository creates a tagged repository (immutable tags off: a tag names the
// current build) and returns it.
func (c *Client) CreateRepository(ctx context.Context, name string, tags map[string]string) (*Repository, error) {
	out, err := c.sdk.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name), Tags: tagList(tags),
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true}})
	if err != nil {
		return nil, wrap("create ECR repository "+name, err)
	}
	r := out.Repository
	return &Repository{ARN: aws.ToString(r.RepositoryArn), Name: name, URI: aws.ToString(r.RepositoryUri), Tags: tags}, nil
}

// TagRepository adds tags to a repository by ARN.
func (c *Client) TagRepository(ctx context.Context, arn string, tags map[string]string) error {
	_, err := c.sdk.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: aws.String(arn), Tags: tagList(tags)})
	return wrap("tag "+arn, err)
}

// DeleteRepository deletes a repository and its images.
func (c *Client) DeleteRepository(ctx context.Context, name string) error {
	_, err := c.sdk.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String(name), Force: true})
	return wrap("delete ECR repository "+name, err)
}

// LifecyclePolicy is the repository's lifecycle policy text; ErrNotFound when it has none.
func (c *Client) LifecyclePolicy(ctx context.Context, name string) (string, error) {
	out, err := c.sdk.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(name)})
	if err != nil {
		return "", wrap("read the lifecycle policy of "+name, err)
	}
	return aws.ToString(out.LifecyclePolicyText), nil
}

// PutLifecyclePolicy sets the repository's lifecycle policy.
func (c *Client) PutLifecyclePolicy(ctx context.Context, name, policy string) error {
	_, err := c.sdk.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String(name), LifecyclePolicyText: aws.String(policy)})
	return wrap("set the lifecycle policy of "+name, err)
}

// ImageDigest is the digest the tag points at; ErrNotFound when the tag is absent.
func (c *Client) ImageDigest(ctx context.Context, repo, tag string) (string, error) {
	out, err := c.sdk.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String(tag)}}})
	if err != nil {
		return "", wrap("read image "+repo+":"+tag, err)
	}
	for _, d := range out.ImageDetails {
		return aws.ToString(d.ImageDigest), nil
	}
	return "", &awserr.Error{What: "read image " + repo + ":" + tag, Kind: awserr.ErrNotFound, Err: fmt.Errorf("no image %s:%s", repo, tag)}
}

// Auth is a registry login: the registry host and the basic-auth user and password.
type Auth struct {
	Registry, User, Password string
}

// Login reads a registry login (GetAuthorizationToken): "AWS" and a 12-hour token.
func (c *Client) Login(ctx context.Context) (*Auth, error) {
	out, err := c.sdk.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return nil, wrap("get an ECR login", err)
	}
	if len(out.AuthorizationData) == 0 {
		return nil, wrap("get an ECR login", fmt.Errorf("ECR answered no authorization data"))
	}
	d := out.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(d.AuthorizationToken))
	if err != nil {
		return nil, wrap("get an ECR login", fmt.Errorf("the authorization token is not base64: %v", err))
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil, wrap("get an ECR login", fmt.Errorf("the authorization token is not user:password"))
	}
	host := aws.ToString(d.ProxyEndpoint)
	host = strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://")
	return &Auth{Registry: host, User: user, Password: pass}, nil
}

func tagList(tags map[string]string) []types.Tag {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []types.Tag
	for _, k := range keys {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}
