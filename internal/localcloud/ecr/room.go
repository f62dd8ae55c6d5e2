// Package ecr is the local cloud's Elastic Container Registry: the repository API (JSON 1.1,
// target prefix AmazonEC2ContainerRegistry_V20150921) and, on the same listener under /v2/,
// an OCI distribution registry that go-containerregistry and other registry clients push to
// and pull from (Basic auth with a token of GetAuthorizationToken). Blobs are kept
// content-addressed under the state dir; images pushed to a repository show in
// DescribeImages and can be unpacked for the ECS tasks the cloud runs (core.Images).
package ecr

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// stateFile keeps the repositories, their images and the registry's tokens.
const stateFile = "ecr.json"

// targetPrefix is the JSON 1.1 X-Amz-Target prefix of ECR.
const targetPrefix = "AmazonEC2ContainerRegistry_V20150921"

type doc struct {
	Repos  map[string]*repoRec  `json:"repos"`  // by repoKey(region, name)
	Tokens map[string]*tokenRec `json:"tokens"` // registry passwords by token
}

type repoRec struct {
	Name       string               `json:"name"`
	Region     string               `json:"region"`
	Created    time.Time            `json:"created"`
	Mutability string               `json:"mutability"` // MUTABLE | IMMUTABLE
	ScanOnPush bool                 `json:"scanOnPush"`
	Encryption encryptionConfig     `json:"encryption"`
	Tags       map[string]string    `json:"tags"`
	Policy     string               `json:"policy,omitempty"` // lifecycle policy text
	PolicyEval time.Time            `json:"policyEval,omitzero"`
	Images     map[string]*imageRec `json:"images"`    // by manifest digest
	ImageTags  map[string]string    `json:"imageTags"` // tag -> manifest digest
}

type encryptionConfig struct {
	EncryptionType string `json:"encryptionType"`
	KmsKey         string `json:"kmsKey,omitempty"`
}

type imageRec struct {
	Digest       string    `json:"digest"`
	MediaType    string    `json:"mediaType"`
	ArtifactType string    `json:"artifactType,omitempty"` // the config's media type
	Size         int64     `json:"size"`                   // compressed layers
	Pushed       time.Time `json:"pushed"`
	Children     []string  `json:"children,omitempty"` // an index: the manifests it lists
}

type tokenRec struct {
	Region  string    `json:"region"`
	Expires time.Time `json:"expires"`
}

func repoKey(region, name string) string { return region + "/" + name }

func (p *repoRec) arn() string {
	return "arn:aws:ecr:" + p.Region + ":" + core.AccountID + ":repository/" + p.Name
}

// tagsOf is the sorted tags pointing at digest.
func (p *repoRec) tagsOf(digest string) []string {
	var out []string
	for _, t := range core.SortedKeys(p.ImageTags) {
		if p.ImageTags[t] == digest {
			out = append(out, t)
		}
	}
	return out
}

// Room is ECR.
type Room struct {
	cloud *core.Cloud
	mu    sync.Mutex
	st    doc
	blobs *blobStore

	uploads map[string]*upload // registry upload sessions, by id (not persisted)

	unpackMu sync.Mutex
	unpacks  map[string]*sync.Mutex // one lock per manifest digest being unpacked
}

// New returns the ECR room.
func New() *Room { return &Room{} }

func (*Room) Name() string { return "ecr" }

func (*Room) Route(q *core.Request) (string, bool) { return q.JSON11Target(targetPrefix) }

func (*Room) Unknown(q *core.Request) {
	q.JSON11Error(http.StatusBadRequest, "UnknownOperationException", "localcloud does not implement ECR "+q.Op)
}

func (*Room) Throttle(q *core.Request) {
	q.JSON11Error(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
}

func (*Room) Fail(q *core.Request) {
	q.JSON11Error(http.StatusInternalServerError, "ServerException", "localcloud: injected fault")
}

func (r *Room) Open(c *core.Cloud) error {
	r.cloud = c
	r.uploads = map[string]*upload{}
	r.unpacks = map[string]*sync.Mutex{}
	r.blobs = &blobStore{dir: c.Path("ecr")}
	// Upload sessions live in memory only: what a previous run left half-uploaded is dropped.
	_ = os.RemoveAll(filepath.Join(r.blobs.dir, "uploads"))
	if err := c.LoadDoc(stateFile, &r.st, false); err != nil {
		return err
	}
	if r.st.Repos == nil {
		r.st.Repos = map[string]*repoRec{}
	}
	if r.st.Tokens == nil {
		r.st.Tokens = map[string]*tokenRec{}
	}
	for _, p := range r.st.Repos {
		if p.Images == nil {
			p.Images = map[string]*imageRec{}
		}
		if p.ImageTags == nil {
			p.ImageTags = map[string]string{}
		}
		if p.Tags == nil {
			p.Tags = map[string]string{}
		}
	}
	return nil
}

func (r *Room) Save() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cloud.SaveDoc(stateFile, &r.st)
}

func (r *Room) Close() {}

// commitLocked writes the document after a change. r.mu must be held.
func (r *Room) commitLocked() {
	if err := r.cloud.SaveDoc(stateFile, &r.st); err != nil {
		r.cloud.Logf("save ecr: %v", err)
	}
}

func (r *Room) Resources(match func(map[string]string) bool) []core.Resource {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []core.Resource
	for _, p := range r.st.Repos {
		if match(p.Tags) {
			out = append(out, core.Resource{Service: "ecr", Type: "repository", Name: p.Name, ARN: p.arn(), Tags: core.CopyMap(p.Tags)})
		}
	}
	return out
}

// registryHost is the host:port registry clients reach this cloud's registry at (its own
// listener): the host part of every repositoryUri.
func (r *Room) registryHost() string {
	return strings.TrimPrefix(r.cloud.Endpoint(), "http://")
}

// ServeHost serves the OCI distribution API under /v2/ on the cloud's listener. Registry
// clients do not sign with SigV4, which tells their requests from API Gateway's /v2/apis
// calls; only the registry's own path shapes are taken.
func (r *Room) ServeHost(w http.ResponseWriter, req *http.Request) bool {
	if strings.HasPrefix(req.Header.Get("Authorization"), "AWS4-HMAC-SHA256") || req.URL.Query().Has("X-Amz-Credential") {
		return false
	}
	if !isRegistryPath(req.URL.Path) {
		return false
	}
	r.serveRegistry(w, req)
	return true
}

// Guess takes unsigned ECR API calls (by their X-Amz-Target).
func (*Room) Guess(req *http.Request) bool {
	return strings.HasPrefix(req.Header.Get("X-Amz-Target"), targetPrefix+".")
}

// decode reads the JSON 1.1 input of an operation.
func decode(q *core.Request) (*input, bool) {
	in := &input{}
	b, err := core.ReadLimited(q.R.Body, 1<<20)
	if err != nil {
		q.JSON11Error(http.StatusBadRequest, "SerializationException", "request body: "+err.Error())
		return nil, false
	}
	if len(b) > 0 {
		if err := json.Unmarshal(b, in); err != nil {
			q.JSON11Error(http.StatusBadRequest, "SerializationException", err.Error())
			return nil, false
		}
	}
	return in, true
}

// with decodes the input and runs h under the room's lock.
func (r *Room) with(h func(q *core.Request, in *input)) func(*core.Request) {
	return func(q *core.Request) {
		in, ok := decode(q)
		if !ok {
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		h(q, in)
	}
}

// onRepo is with on the repository the input names (RepositoryNotFoundException when it
// is not there).
func (r *Room) onRepo(h func(q *core.Request, in *input, p *repoRec)) func(*core.Request) {
	return r.with(func(q *core.Request, in *input) {
		if in.RegistryID != "" && in.RegistryID != core.AccountID {
			q.JSON11Error(http.StatusBadRequest, "InvalidParameterException", "registryId "+in.RegistryID+" is not this account's ("+core.AccountID+")")
			return
		}
		p := r.st.Repos[repoKey(q.Region, in.RepositoryName)]
		if p == nil {
			repoNotFound(q, in.RepositoryName)
			return
		}
		h(q, in, p)
	})
}

func repoNotFound(q *core.Request, name string) {
	q.JSON11Error(http.StatusBadRequest, "RepositoryNotFoundException",
		"The repository with name '"+name+"' does not exist in the registry with id '"+core.AccountID+"'")
}
