package ecr_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/localcloud/core"
	"github.com/rudderctl/rudderctl/internal/testenv"
)

const region = "eu-west-1"

func start(t *testing.T) (*localcloud.Cloud, *ecr.Client) {
	t.Helper()
	o := localcloud.Options{Addr: "127.0.0.1:0", StateDir: t.TempDir()}
	if testing.Verbose() {
		o.Log = os.Stderr
	}
	c, err := localcloud.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	cfg := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", ""),
		BaseEndpoint: aws.String(c.Endpoint()), Retryer: func() aws.Retryer { return aws.NopRetryer{} }}
	return c, ecr.NewFromConfig(cfg)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantCode checks that err is the API error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("want %s, got %v", code, err)
	}
}

func digestHex(t *testing.T, l v1.Layer) string {
	t.Helper()
	d, err := l.Digest()
	must(t, err)
	return d.Hex
}

func host(c *localcloud.Cloud) string { return strings.TrimPrefix(c.Endpoint(), "http://") }

// login is what a client does with GetAuthorizationToken: decode user:password.
func login(t *testing.T, cl *ecr.Client) (authn.Authenticator, string) {
	t.Helper()
	out, err := cl.GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	must(t, err)
	ad := out.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(*ad.AuthorizationToken)
	must(t, err)
	user, pass, _ := strings.Cut(string(raw), ":")
	if user != "AWS" || pass == "" || ad.ExpiresAt == nil || ad.ProxyEndpoint == nil {
		t.Fatalf("authorization data: %+v (user %q)", ad, user)
	}
	return &authn.Basic{Username: user, Password: pass}, pass
}

func mkRepo(t *testing.T, cl *ecr.Client, repo string) *types.Repository {
	t.Helper()
	out, err := cl.CreateRepository(context.Background(), &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo)})
	must(t, err)
	return out.Repository
}

func push(t *testing.T, auth authn.Authenticator, ref string, img v1.Image) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	must(t, err)
	must(t, remote.Write(r, img, remote.WithAuth(auth)))
	d, err := img.Digest()
	must(t, err)
	return d.String()
}

func TestRepositoryAPI(t *testing.T) {
	c, cl := start(t)
	ctx := context.Background()
	out, err := cl.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName:             aws.String("team/app"),
		ImageTagMutability:         types.ImageTagMutabilityImmutable,
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true},
		EncryptionConfiguration:    &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms},
		Tags:                       []types.Tag{{Key: aws.String("rudderctl:stack"), Value: aws.String("s1")}},
	})
	must(t, err)
	r := out.Repository
	if *r.RepositoryUri != host(c)+"/team/app" || *r.RepositoryArn != "arn:aws:ecr:eu-west-1:"+core.AccountID+":repository/team/app" ||
		r.ImageTagMutability != types.ImageTagMutabilityImmutable || !r.ImageScanningConfiguration.ScanOnPush ||
		r.EncryptionConfiguration.EncryptionType != types.EncryptionTypeKms || r.EncryptionConfiguration.KmsKey == nil || r.CreatedAt == nil {
		t.Fatalf("repository: %+v", r)
	}
	_, err = cl.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("team/app")})
	wantCode(t, err, "RepositoryAlreadyExistsException")
	_, err = cl.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("Bad_Name")})
	wantCode(t, err, "InvalidParameterException")

	d, err := cl.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
	must(t, err)
	if len(d.Repositories) != 1 || *d.Repositories[0].RepositoryName != "team/app" {
		t.Fatalf("describe: %+v", d.Repositories)
	}
	_, err = cl.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"nope"}})
	wantCode(t, err, "RepositoryNotFoundException")

	tags, err := cl.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: r.RepositoryArn})
	must(t, err)
	if len(tags.Tags) != 1 || *tags.Tags[0].Value != "s1" {
		t.Fatalf("tags: %+v", tags.Tags)
	}
	_, err = cl.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: r.RepositoryArn, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	must(t, err)
	_, err = cl.UntagResource(ctx, &ecr.UntagResourceInput{ResourceArn: r.RepositoryArn, TagKeys: []string{"rudderctl:stack"}})
	must(t, err)
	tags, err = cl.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: r.RepositoryArn})
	must(t, err)
	if len(tags.Tags) != 1 || *tags.Tags[0].Key != "k" {
		t.Fatalf("tags after tag/untag: %+v", tags.Tags)
	}

	_, err = cl.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecr:eu-west-1:" + core.AccountID + ":repository/gone")})
	wantCode(t, err, "RepositoryNotFoundException")

	_, err = cl.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("team/app")})
	wantCode(t, err, "LifecyclePolicyNotFoundException")
	for _, bad := range []string{
		`{}`, `not json`,
		`{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}]}`,
		`{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"sinceImagePushed","countNumber":3},"action":{"type":"expire"}}]}`,
		`{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}},` +
			`{"rulePriority":2,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`,
	} {
		_, err = cl.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String("team/app"), LifecyclePolicyText: aws.String(bad)})
		wantCode(t, err, "InvalidParameterException")
	}
	pol := `{"rules":[{"rulePriority":1,"description":"keep 5","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}`
	_, err = cl.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String("team/app"), LifecyclePolicyText: aws.String(pol)})
	must(t, err)
	g, err := cl.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("team/app")})
	must(t, err)
	if *g.LifecyclePolicyText != pol {
		t.Fatalf("policy: %s", *g.LifecyclePolicyText)
	}
	_, err = cl.DeleteLifecyclePolicy(ctx, &ecr.DeleteLifecyclePolicyInput{RepositoryName: aws.String("team/app")})
	must(t, err)
	_, err = cl.DeleteLifecyclePolicy(ctx, &ecr.DeleteLifecyclePolicyInput{RepositoryName: aws.String("team/app")})
	wantCode(t, err, "LifecyclePolicyNotFoundException")

	if res := c.Resources("k", ""); len(res) != 1 || res[0].Type != "repository" {
		t.Fatalf("resources: %+v", res)
	}
	_, err = cl.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("team/app")})
	must(t, err)
	_, err = cl.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("team/app")})
	wantCode(t, err, "RepositoryNotFoundException")
}

// TestPushPull pushes with go-containerregistry, pulls back, and reads the image through
// the API.
func TestPushPull(t *testing.T) {
	c, cl := start(t)
	ctx := context.Background()
	mkRepo(t, cl, "app")
	auth, _ := login(t, cl)
	img, err := random.Image(2048, 3)
	must(t, err)
	ref := host(c) + "/app:v1"
	digest := push(t, auth, ref, img)

	r, err := name.ParseReference(ref)
	must(t, err)
	pulled, err := remote.Image(r, remote.WithAuth(auth))
	must(t, err)
	pd, err := pulled.Digest()
	must(t, err)
	if pd.String() != digest {
		t.Fatalf("pulled %s, pushed %s", pd, digest)
	}
	// Every layer comes back byte for byte (its digest is checked by the reader).
	layers, err := pulled.Layers()
	must(t, err)
	for _, l := range layers {
		rc, err := l.Compressed()
		must(t, err)
		_, err = io.Copy(io.Discard, rc)
		must(t, err)
		rc.Close()
	}
	byDigest, err := name.ParseReference(host(c) + "/app@" + digest)
	must(t, err)
	if _, err := remote.Head(byDigest, remote.WithAuth(auth)); err != nil {
		t.Fatal(err)
	}

	di, err := cl.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("app")})
	must(t, err)
	if len(di.ImageDetails) != 1 {
		t.Fatalf("images: %+v", di.ImageDetails)
	}
	im := di.ImageDetails[0]
	var size int64
	for _, l := range layers {
		s, _ := l.Size()
		size += s
	}
	if *im.ImageDigest != digest || len(im.ImageTags) != 1 || im.ImageTags[0] != "v1" || *im.ImageSizeInBytes != size || im.ImagePushedAt == nil {
		t.Fatalf("image detail: %+v (want size %d)", im, size)
	}
	li, err := cl.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("app")})
	must(t, err)
	if len(li.ImageIds) != 1 || *li.ImageIds[0].ImageTag != "v1" {
		t.Fatalf("list images: %+v", li.ImageIds)
	}
	bg, err := cl.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String("app"),
		ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}, {ImageTag: aws.String("nope")}}})
	must(t, err)
	raw, _ := img.RawManifest()
	if len(bg.Images) != 1 || *bg.Images[0].ImageManifest != string(raw) || len(bg.Failures) != 1 || bg.Failures[0].FailureCode != types.ImageFailureCodeImageNotFound {
		t.Fatalf("batch get: %+v", bg)
	}
	_, err = cl.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("app"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("nope")}}})
	wantCode(t, err, "ImageNotFoundException")

	// PutImage retags the pushed manifest; the same tag again is ImageAlreadyExists.
	put := func(tag string) error {
		_, err := cl.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("app"), ImageManifest: aws.String(string(raw)),
			ImageTag: aws.String(tag)})
		return err
	}
	must(t, put("stable"))
	wantCode(t, put("stable"), "ImageAlreadyExistsException")
	repoRef, err := name.NewRepository(host(c) + "/app")
	must(t, err)
	tagList, err := remote.List(repoRef, remote.WithAuth(auth))
	must(t, err)
	if strings.Join(tagList, ",") != "stable,v1" {
		t.Fatalf("tags/list: %v", tagList)
	}
	li, err = cl.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("app")})
	must(t, err)
	if len(li.ImageIds) != 2 || *li.ImageIds[0].ImageDigest != digest || *li.ImageIds[1].ImageDigest != digest {
		t.Fatalf("after PutImage: %+v", li.ImageIds)
	}
	_, err = cl.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("app"), ImageTag: aws.String("x"),
		ImageManifest: aws.String(strings.Replace(string(raw), digestHex(t, layers[0]), strings.Repeat("e", 64), 1))})
	wantCode(t, err, "LayersNotFoundException")

	_, err = cl.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("app")})
	wantCode(t, err, "RepositoryNotEmptyException")
	del, err := cl.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String("app"), ImageIds: []types.ImageIdentifier{{ImageDigest: aws.String(digest)}}})
	must(t, err)
	if len(del.ImageIds) != 2 || len(del.Failures) != 0 {
		t.Fatalf("batch delete: %+v", del)
	}
	if _, err := remote.Head(r, remote.WithAuth(auth)); err == nil {
		t.Fatal("the deleted image still answers")
	}
	_, err = cl.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("app")})
	must(t, err)
}

// TestRegistryAuth: no auth or a wrong token is 401 with a Basic challenge.
func TestRegistryAuth(t *testing.T) {
	c, cl := start(t)
	mkRepo(t, cl, "app")
	_, token := login(t, cl)
	get := func(user, pass string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, c.Endpoint()+"/v2/", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		resp.Body.Close()
		return resp
	}
	resp := get("", "")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic realm=") {
		t.Fatalf("no auth: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if resp := get("AWS", token+"x"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad token: %d", resp.StatusCode)
	}
	if resp := get("admin", token); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad user: %d", resp.StatusCode)
	}
	if resp := get("AWS", token); resp.StatusCode != http.StatusOK {
		t.Fatalf("good token: %d", resp.StatusCode)
	}
	img, err := random.Image(100, 1)
	must(t, err)
	r, _ := name.ParseReference(host(c) + "/app:x")
	err = remote.Write(r, img, remote.WithAuth(&authn.Basic{Username: "AWS", Password: "wrong"}))
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized {
		t.Fatalf("push with a bad token: %v", err)
	}
}

// TestChunkedUpload drives the upload protocol by hand: POST, two PATCHes, PUT ?digest=;
// a single-shot POST ?digest=; a wrong digest is refused.
func TestChunkedUpload(t *testing.T) {
	c, cl := start(t)
	mkRepo(t, cl, "app")
	_, token := login(t, cl)
	do := func(method, url string, body []byte, hdr ...string) *http.Response {
		t.Helper()
		if strings.HasPrefix(url, "/") {
			url = c.Endpoint() + url
		}
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		req.SetBasicAuth("AWS", token)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		resp.Body.Close()
		return resp
	}
	blob := bytes.Repeat([]byte("0123456789"), 1000)
	sum := sha256.Sum256(blob)
	digest := "sha256:" + hex.EncodeToString(sum[:])

	resp := do("POST", "/v2/app/blobs/uploads/", nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	resp = do("PATCH", loc, blob[:4000], "Content-Range", "0-3999")
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Range") != "0-3999" {
		t.Fatalf("PATCH 1: %d %q", resp.StatusCode, resp.Header.Get("Range"))
	}
	if resp := do("PATCH", loc, blob[4000:], "Content-Range", "10-20"); resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("PATCH out of order: %d", resp.StatusCode)
	}
	resp = do("PATCH", resp.Header.Get("Location"), blob[4000:])
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("PATCH 2: %d", resp.StatusCode)
	}
	resp = do("PUT", loc+"?digest="+digest, nil)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Docker-Content-Digest") != digest {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	resp = do("HEAD", "/v2/app/blobs/"+digest, nil)
	if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(blob)) {
		t.Fatalf("HEAD blob: %d %d", resp.StatusCode, resp.ContentLength)
	}

	other := []byte("single shot")
	s2 := sha256.Sum256(other)
	d2 := "sha256:" + hex.EncodeToString(s2[:])
	if resp := do("POST", "/v2/app/blobs/uploads/?digest="+d2, other); resp.StatusCode != http.StatusCreated {
		t.Fatalf("single-shot POST: %d", resp.StatusCode)
	}
	if resp := do("POST", "/v2/app/blobs/uploads/?digest="+digest, []byte("not it")); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("wrong digest: %d", resp.StatusCode)
	}
	if resp := do("HEAD", "/v2/app/blobs/sha256:"+strings.Repeat("0", 64), nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("absent blob: %d", resp.StatusCode)
	}
	if resp := do("HEAD", "/v2/nope/blobs/"+digest, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("absent repository: %d", resp.StatusCode)
	}
	// A manifest naming a blob the registry does not have is refused.
	man := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":2},"layers":[]}`, strings.Repeat("1", 64))
	if resp := do("PUT", "/v2/app/manifests/v1", []byte(man), "Content-Type", "application/vnd.oci.image.manifest.v1+json"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("manifest with an unknown blob: %d", resp.StatusCode)
	}
}

// TestLifecycleCountRule: with "keep 2 tagged v*" and "keep 1 untagged", a third tagged
// push expires the oldest tagged image.
func TestLifecycleCountRule(t *testing.T) {
	c, cl := start(t)
	ctx := context.Background()
	mkRepo(t, cl, "app")
	pol := `{"rules":[
	  {"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}},
	  {"rulePriority":2,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`
	_, err := cl.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String("app"), LifecyclePolicyText: aws.String(pol)})
	must(t, err)
	auth, _ := login(t, cl)
	var digests []string
	for _, tag := range []string{"v1", "v2", "v3"} {
		img, err := random.Image(256, 1)
		must(t, err)
		digests = append(digests, push(t, auth, host(c)+"/app:"+tag, img))
	}
	di, err := cl.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("app")})
	must(t, err)
	have := map[string]bool{}
	for _, im := range di.ImageDetails {
		have[*im.ImageDigest] = true
	}
	if len(have) != 2 || have[digests[0]] || !have[digests[1]] || !have[digests[2]] {
		t.Fatalf("after 3 pushes with keep-2: %v (pushed %v)", have, digests)
	}
	g, err := cl.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("app")})
	must(t, err)
	if g.LastEvaluatedAt == nil {
		t.Fatal("lastEvaluatedAt not set after a push")
	}
}

// layerTar is a tar layer of files (name -> content; "->target" makes a symlink).
func layerTar(t *testing.T, files map[string]string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for n, body := range files {
		if target, ok := strings.CutPrefix(body, "->"); ok {
			must(t, tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}))
			continue
		}
		must(t, tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(body))}))
		_, err := tw.Write([]byte(body))
		must(t, err)
	}
	must(t, tw.Close())
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	must(t, err)
	return l
}

func image(t *testing.T, entrypoint []string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	must(t, err)
	img, err = mutate.Config(img, v1.Config{Entrypoint: entrypoint, Env: []string{"A=1"}, WorkingDir: "/app"})
	must(t, err)
	return img
}

// TestUnpackImage: an image pushed to the registry unpacks into a root with its files
// (whiteouts applied), its config comes back, and layers cannot write outside the root.
func TestUnpackImage(t *testing.T) {
	c, cl := start(t)
	mkRepo(t, cl, "tools")
	auth, _ := login(t, cl)
	img := image(t, []string{"/bin/hello"},
		layerTar(t, map[string]string{"bin/hello": "#!/bin/sh\necho hello from the image\n", "etc/old": "x"}),
		layerTar(t, map[string]string{"etc/.wh.old": "", "etc/new": "y"}))
	digest := push(t, auth, host(c)+"/tools:v1", img)

	images := core.Peer[core.Images](c)
	if images == nil {
		t.Fatal("no room implements core.Images")
	}
	u, mine, err := images.UnpackImage(host(c) + "/tools:v1")
	if !mine || err != nil {
		t.Fatalf("unpack: mine=%v err=%v", mine, err)
	}
	if u.Digest != digest || strings.Join(u.Entrypoint, " ") != "/bin/hello" || strings.Join(u.Env, ",") != "A=1" || u.WorkingDir != "/app" {
		t.Fatalf("unpacked: %+v", u)
	}
	out, err := exec.Command(filepath.Join(u.Root, "bin/hello")).Output()
	if err != nil || string(out) != "hello from the image\n" {
		t.Fatalf("run the image's program: %q %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(u.Root, "etc/old")); !os.IsNotExist(err) {
		t.Fatalf("whiteout not applied: %v", err)
	}
	if _, err := os.Stat(filepath.Join(u.Root, "etc/new")); err != nil {
		t.Fatal(err)
	}
	// The ECR host name of this account and region is an alias; by digest works too.
	u2, mine, err := images.UnpackImage(core.AccountID + ".dkr.ecr." + region + ".amazonaws.com/tools@" + digest)
	if !mine || err != nil || u2.Root != u.Root {
		t.Fatalf("alias by digest: %+v %v %v", u2, mine, err)
	}
	port := strings.Split(host(c), ":")[1]
	if u3, mine, err := images.UnpackImage("localhost:" + port + "/tools:v1"); !mine || err != nil || u3.Digest != digest {
		t.Fatalf("localhost alias: %v %v", mine, err)
	}
	if _, mine, _ := images.UnpackImage("localhost:1/tools:v1"); mine {
		t.Fatal("another port is another registry")
	}
	if _, mine, _ := images.UnpackImage("rudderlabs/rudder-transformer:latest"); mine {
		t.Fatal("an upstream image is not the local registry's")
	}
	if _, mine, _ := images.UnpackImage("123456789012.dkr.ecr.us-east-1.amazonaws.com/tools:v1"); mine {
		t.Fatal("another account's registry is not the local one")
	}
	if _, mine, err := images.UnpackImage(host(c) + "/tools:v9"); !mine || err == nil {
		t.Fatalf("a missing tag: mine=%v err=%v", mine, err)
	}

	// A symlink to a directory outside, then a file through it: refused, nothing written.
	outside := t.TempDir()
	evil := image(t, []string{"/x"},
		layerTar(t, map[string]string{"link": "->" + outside}),
		layerTar(t, map[string]string{"link/pwned": "x"}))
	push(t, auth, host(c)+"/tools:evil", evil)
	if _, _, err := images.UnpackImage(host(c) + "/tools:evil"); err == nil {
		t.Fatal("a layer writing through a symlink was unpacked")
	}
	if _, err := os.Stat(filepath.Join(outside, "pwned")); !os.IsNotExist(err) {
		t.Fatalf("a layer wrote outside the root: %v", err)
	}
}

// TestAWSCLI: the AWS CLI reads the repository.
func TestAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("the AWS CLI is slow to start")
	}
	c, cl := start(t)
	mkRepo(t, cl, "cli-repo")
	awsBin := testenv.LookPath(t, "aws", "the AWS CLI checks the wire format; apt-get install awscli, as scripts/test.sh does")
	cmd := exec.Command(awsBin, "--endpoint-url", c.Endpoint(), "--region", region, "--output", "json", "ecr", "describe-repositories")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x", "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws ecr describe-repositories: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"repositoryUri": "`+host(c)+`/cli-repo"`) {
		t.Fatalf("aws ecr describe-repositories: %s", out)
	}
	// get-login-password decodes the token as docker login would use it.
	cmd = exec.Command(awsBin, "--endpoint-url", c.Endpoint(), "--region", region, "ecr", "get-login-password")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x", "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "HOME="+t.TempDir())
	pw, err := cmd.Output()
	must(t, err)
	req, _ := http.NewRequest(http.MethodGet, c.Endpoint()+"/v2/", nil)
	req.SetBasicAuth("AWS", strings.TrimSpace(string(pw)))
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/ with the CLI's login password: %d", resp.StatusCode)
	}
}

// TestIndex: an image index pushes with its images; UnpackImage picks this machine's
// platform; an untagged-count rule does not expire the images the index lists.
func TestIndex(t *testing.T) {
	c, cl := start(t)
	ctx := context.Background()
	mkRepo(t, cl, "multi")
	pol := `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`
	_, err := cl.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String("multi"), LifecyclePolicyText: aws.String(pol)})
	must(t, err)
	auth, _ := login(t, cl)
	mine := image(t, []string{"/bin/hello"}, layerTar(t, map[string]string{"bin/hello": "native"}))
	other := image(t, []string{"/bin/hello"}, layerTar(t, map[string]string{"bin/hello": "foreign"}))
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: other, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "s390x"}}},
		mutate.IndexAddendum{Add: mine, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}})
	ref, err := name.ParseReference(host(c) + "/multi:v1")
	must(t, err)
	must(t, remote.WriteIndex(ref, idx, remote.WithAuth(auth)))

	di, err := cl.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("multi")})
	must(t, err)
	if len(di.ImageDetails) != 3 {
		t.Fatalf("index and its 2 images, got %d: %+v", len(di.ImageDetails), di.ImageDetails)
	}
	u, _, err := core.Peer[core.Images](c).UnpackImage(host(c) + "/multi:v1")
	must(t, err)
	md, _ := mine.Digest()
	if u.Digest != md.String() {
		t.Fatalf("unpacked %s, want this platform's %s", u.Digest, md)
	}
	if b, err := os.ReadFile(filepath.Join(u.Root, "bin/hello")); err != nil || string(b) != "native" {
		t.Fatalf("unpacked content: %q %v", b, err)
	}
}

// TestRestart: repositories, images and tokens survive a restart on the same state dir.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	c, err := localcloud.Start(context.Background(), localcloud.Options{Addr: "127.0.0.1:0", StateDir: dir})
	must(t, err)
	cl := ecr.NewFromConfig(aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider("x", "x", ""), BaseEndpoint: aws.String(c.Endpoint())})
	mkRepo(t, cl, "keep")
	auth, _ := login(t, cl)
	img, err := random.Image(512, 2)
	must(t, err)
	addr := host(c)
	// Our own transport, so its spare connections can be closed: the cloud's Close waits
	// for connections that never sent a request.
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	r0, _ := name.ParseReference(addr + "/keep:v1")
	must(t, remote.Write(r0, img, remote.WithAuth(auth), remote.WithTransport(tr)))
	d0, _ := img.Digest()
	digest := d0.String()
	tr.CloseIdleConnections()
	must(t, c.Close())

	c2, err := localcloud.Start(context.Background(), localcloud.Options{Addr: addr, StateDir: dir})
	must(t, err)
	defer c2.Close()
	r, _ := name.ParseReference(addr + "/keep:v1")
	got, err := remote.Image(r, remote.WithAuth(auth))
	must(t, err)
	if d, _ := got.Digest(); d.String() != digest {
		t.Fatalf("after restart: %s, want %s", d, digest)
	}
	if _, err := remote.Head(r, remote.WithAuth(&authn.Basic{Username: "AWS", Password: "stale"})); err == nil {
		t.Fatal("a token never issued was accepted after restart")
	}
}
