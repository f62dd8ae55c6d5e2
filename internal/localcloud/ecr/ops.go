package ecr

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// input is the union of the fields of the operations' inputs.
type input struct {
	RegistryID                 string            `json:"registryId"`
	RepositoryName             string            `json:"repositoryName"`
	RepositoryNames            []string          `json:"repositoryNames"`
	Tags                       []tag             `json:"tags"`
	TagKeys                    []string          `json:"tagKeys"`
	ResourceArn                string            `json:"resourceArn"`
	ImageTagMutability         string            `json:"imageTagMutability"`
	ImageScanningConfiguration *scanningConfig   `json:"imageScanningConfiguration"`
	EncryptionConfiguration    *encryptionConfig `json:"encryptionConfiguration"`
	Force                      bool              `json:"force"`
	LifecyclePolicyText        string            `json:"lifecyclePolicyText"`
	ImageIDs                   []imageID         `json:"imageIds"`
	Filter                     *struct {
		TagStatus string `json:"tagStatus"`
	} `json:"filter"`
	MaxResults int    `json:"maxResults"`
	NextToken  string `json:"nextToken"`
	// PutImage
	ImageManifest          string `json:"imageManifest"`
	ImageManifestMediaType string `json:"imageManifestMediaType"`
	ImageTag               string `json:"imageTag"`
	ImageDigest            string `json:"imageDigest"`
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type scanningConfig struct {
	ScanOnPush bool `json:"scanOnPush"`
}

type imageID struct {
	ImageDigest string `json:"imageDigest,omitempty"`
	ImageTag    string `json:"imageTag,omitempty"`
}

// tokenTTL is how long a GetAuthorizationToken password lets a client in (as AWS: 12h).
const tokenTTL = 12 * time.Hour

// maxTokens bounds the registry passwords kept (the oldest go first).
const maxTokens = 1000

// Ops is the ECR operation table.
func (r *Room) Ops() []core.Op {
	return []core.Op{
		core.Write("CreateRepository", r.with(r.createRepository)),
		core.Read("DescribeRepositories", r.with(r.describeRepositories)),
		core.Write("DeleteRepository", r.onRepo(r.deleteRepository)),
		core.Write("PutImageTagMutability", r.onRepo(r.putImageTagMutability)),
		core.Write("PutImageScanningConfiguration", r.onRepo(r.putImageScanningConfiguration)),
		core.Write("PutLifecyclePolicy", r.onRepo(r.putLifecyclePolicy)),
		core.Read("GetLifecyclePolicy", r.onRepo(r.getLifecyclePolicy)),
		core.Write("DeleteLifecyclePolicy", r.onRepo(r.deleteLifecyclePolicy)),
		core.Read("GetAuthorizationToken", r.with(r.getAuthorizationToken)),
		core.Read("DescribeImages", r.onRepo(r.describeImages)),
		core.Read("ListImages", r.onRepo(r.listImages)),
		core.Read("BatchGetImage", r.onRepo(r.batchGetImage)),
		core.Write("BatchDeleteImage", r.onRepo(r.batchDeleteImage)),
		core.Write("PutImage", r.putImage),
		core.Write("TagResource", r.with(r.tagResource)),
		core.Write("UntagResource", r.with(r.untagResource)),
		core.Read("ListTagsForResource", r.with(r.listTagsForResource)),
	}
}

// repoNameRE is ECR's repository name pattern.
var repoNameRE = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

func invalidParam(q *core.Request, msg string) {
	q.JSON11Error(http.StatusBadRequest, "InvalidParameterException", msg)
}

func (r *Room) createRepository(q *core.Request, in *input) {
	if len(in.RepositoryName) < 2 || len(in.RepositoryName) > 256 || !repoNameRE.MatchString(in.RepositoryName) {
		invalidParam(q, "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*' and be 2 to 256 characters long'")
		return
	}
	if r.st.Repos[repoKey(q.Region, in.RepositoryName)] != nil {
		q.JSON11Error(http.StatusBadRequest, "RepositoryAlreadyExistsException",
			"The repository with name '"+in.RepositoryName+"' already exists in the registry with id '"+core.AccountID+"'")
		return
	}
	mut := in.ImageTagMutability
	if mut == "" {
		mut = "MUTABLE"
	}
	if !validMutability(q, mut) {
		return
	}
	enc := encryptionConfig{EncryptionType: "AES256"}
	if in.EncryptionConfiguration != nil {
		enc = *in.EncryptionConfiguration
		switch enc.EncryptionType {
		case "AES256":
			if enc.KmsKey != "" {
				invalidParam(q, "Invalid parameter: a KMS key may only be given with encryptionType KMS")
				return
			}
		case "KMS", "KMS_DSSE":
			if enc.KmsKey == "" {
				enc.KmsKey = "arn:aws:kms:" + q.Region + ":" + core.AccountID + ":alias/aws/ecr"
			}
		default:
			invalidParam(q, "Invalid parameter at 'encryptionConfiguration.encryptionType': must be AES256, KMS or KMS_DSSE")
			return
		}
	}
	tags, ok := tagMap(q, in.Tags)
	if !ok {
		return
	}
	p := &repoRec{Name: in.RepositoryName, Region: q.Region, Created: time.Now().UTC(), Mutability: mut,
		Encryption: enc, Tags: tags, Images: map[string]*imageRec{}, ImageTags: map[string]string{}}
	if in.ImageScanningConfiguration != nil {
		p.ScanOnPush = in.ImageScanningConfiguration.ScanOnPush
	}
	r.st.Repos[repoKey(q.Region, p.Name)] = p
	r.commitLocked()
	q.JSON11(map[string]any{"repository": r.repoOut(p)})
}

func validMutability(q *core.Request, mut string) bool {
	if mut != "MUTABLE" && mut != "IMMUTABLE" {
		invalidParam(q, "Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE]'")
		return false
	}
	return true
}

// tagMap checks and converts the API's tag list.
func tagMap(q *core.Request, tags []tag) (map[string]string, bool) {
	out := map[string]string{}
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			invalidParam(q, "Invalid parameter: tag keys are 1 to 128 characters and values up to 256")
			return nil, false
		}
		out[t.Key] = t.Value
	}
	return out, true
}

// epoch is a timestamp as the JSON protocols send it (seconds, fractional).
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func (r *Room) repoOut(p *repoRec) map[string]any {
	enc := map[string]any{"encryptionType": p.Encryption.EncryptionType}
	if p.Encryption.KmsKey != "" {
		enc["kmsKey"] = p.Encryption.KmsKey
	}
	return map[string]any{
		"repositoryArn":              p.arn(),
		"registryId":                 core.AccountID,
		"repositoryName":             p.Name,
		"repositoryUri":              r.registryHost() + "/" + p.Name,
		"createdAt":                  epoch(p.Created),
		"imageTagMutability":         p.Mutability,
		"imageScanningConfiguration": map[string]any{"scanOnPush": p.ScanOnPush},
		"encryptionConfiguration":    enc,
	}
}

func (r *Room) describeRepositories(q *core.Request, in *input) {
	var repos []*repoRec
	if len(in.RepositoryNames) > 0 {
		for _, n := range in.RepositoryNames {
			p := r.st.Repos[repoKey(q.Region, n)]
			if p == nil {
				repoNotFound(q, n)
				return
			}
			repos = append(repos, p)
		}
	} else {
		for _, p := range r.st.Repos {
			if p.Region == q.Region {
				repos = append(repos, p)
			}
		}
		sort.Slice(repos, func(i, j int) bool { return repos[i].Name < repos[j].Name })
	}
	start, end, next := core.PageIndex(len(repos), in.NextToken, strconv.Itoa(in.MaxResults), 1000)
	out := []any{}
	for _, p := range repos[start:end] {
		out = append(out, r.repoOut(p))
	}
	resp := map[string]any{"repositories": out}
	if next != "" {
		resp["nextToken"] = next
	}
	q.JSON11(resp)
}

func (r *Room) deleteRepository(q *core.Request, in *input, p *repoRec) {
	if len(p.Images) > 0 && !in.Force {
		q.JSON11Error(http.StatusBadRequest, "RepositoryNotEmptyException",
			"The repository with name '"+p.Name+"' in registry with id '"+core.AccountID+"' cannot be deleted because it still contains images")
		return
	}
	out := r.repoOut(p)
	delete(r.st.Repos, repoKey(p.Region, p.Name))
	r.commitLocked()
	q.JSON11(map[string]any{"repository": out})
}

func (r *Room) putImageTagMutability(q *core.Request, in *input, p *repoRec) {
	if !validMutability(q, in.ImageTagMutability) {
		return
	}
	p.Mutability = in.ImageTagMutability
	r.commitLocked()
	q.JSON11(map[string]any{"registryId": core.AccountID, "repositoryName": p.Name, "imageTagMutability": p.Mutability})
}

func (r *Room) putImageScanningConfiguration(q *core.Request, in *input, p *repoRec) {
	if in.ImageScanningConfiguration == nil {
		invalidParam(q, "Invalid parameter: imageScanningConfiguration is required")
		return
	}
	p.ScanOnPush = in.ImageScanningConfiguration.ScanOnPush
	r.commitLocked()
	q.JSON11(map[string]any{"registryId": core.AccountID, "repositoryName": p.Name,
		"imageScanningConfiguration": map[string]any{"scanOnPush": p.ScanOnPush}})
}

func (r *Room) putLifecyclePolicy(q *core.Request, in *input, p *repoRec) {
	if _, err := parsePolicy(in.LifecyclePolicyText); err != nil {
		invalidParam(q, "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: "+err.Error()+"'")
		return
	}
	p.Policy = in.LifecyclePolicyText
	if gone := p.applyPolicyLocked(time.Now().UTC()); len(gone) > 0 {
		r.cloud.Logf("ecr: lifecycle policy of %s expired %d image(s)", p.Name, len(gone))
	}
	r.commitLocked()
	q.JSON11(map[string]any{"registryId": core.AccountID, "repositoryName": p.Name, "lifecyclePolicyText": p.Policy})
}

func policyNotFound(q *core.Request, p *repoRec) {
	q.JSON11Error(http.StatusBadRequest, "LifecyclePolicyNotFoundException",
		"Lifecycle policy does not exist for the repository with name '"+p.Name+"' in the registry with id '"+core.AccountID+"'")
}

func (r *Room) policyOut(p *repoRec) map[string]any {
	out := map[string]any{"registryId": core.AccountID, "repositoryName": p.Name, "lifecyclePolicyText": p.Policy}
	if !p.PolicyEval.IsZero() {
		out["lastEvaluatedAt"] = epoch(p.PolicyEval)
	}
	return out
}

func (r *Room) getLifecyclePolicy(q *core.Request, in *input, p *repoRec) {
	if p.Policy == "" {
		policyNotFound(q, p)
		return
	}
	q.JSON11(r.policyOut(p))
}

func (r *Room) deleteLifecyclePolicy(q *core.Request, in *input, p *repoRec) {
	if p.Policy == "" {
		policyNotFound(q, p)
		return
	}
	out := r.policyOut(p)
	p.Policy, p.PolicyEval = "", time.Time{}
	r.commitLocked()
	q.JSON11(out)
}

// getAuthorizationToken issues a registry password for this region's repositories: the
// registry accepts Basic auth "AWS:<token>" until expiresAt.
func (r *Room) getAuthorizationToken(q *core.Request, in *input) {
	now := time.Now().UTC()
	for k, t := range r.st.Tokens {
		if now.After(t.Expires) {
			delete(r.st.Tokens, k)
		}
	}
	// A client that logs in before every push would grow the list for 12 hours: keep the
	// newest maxTokens.
	for len(r.st.Tokens) >= maxTokens {
		oldest := ""
		for k, t := range r.st.Tokens {
			if oldest == "" || t.Expires.Before(r.st.Tokens[oldest].Expires) {
				oldest = k
			}
		}
		delete(r.st.Tokens, oldest)
	}
	token := core.RandomID(64)
	exp := now.Add(tokenTTL)
	r.st.Tokens[token] = &tokenRec{Region: q.Region, Expires: exp}
	r.commitLocked()
	q.JSON11(map[string]any{"authorizationData": []any{map[string]any{
		"authorizationToken": base64.StdEncoding.EncodeToString([]byte("AWS:" + token)),
		"expiresAt":          epoch(exp),
		"proxyEndpoint":      r.cloud.Endpoint(),
	}}})
}

// resolve finds the image an imageId names: by digest, by tag, or both (which must agree).
func (p *repoRec) resolve(id imageID) (*imageRec, string) {
	d := id.ImageDigest
	if id.ImageTag != "" {
		td, ok := p.ImageTags[id.ImageTag]
		if !ok {
			return nil, "ImageNotFound"
		}
		if d != "" && d != td {
			return nil, "ImageTagDoesNotMatchDigest"
		}
		d = td
	}
	if im := p.Images[d]; im != nil {
		return im, ""
	}
	return nil, "ImageNotFound"
}

func failure(id imageID, code string) map[string]any {
	reason := "Requested image not found"
	switch code {
	case "ImageTagDoesNotMatchDigest":
		reason = "Invalid image digest for the image tag"
	case "MissingDigestAndTag":
		reason = "Invalid request parameters: both tag and digest cannot be null"
	}
	return map[string]any{"imageId": id, "failureCode": code, "failureReason": reason}
}

// matchesTagStatus applies the filter tagStatus TAGGED | UNTAGGED | ANY.
func (p *repoRec) matchesTagStatus(im *imageRec, status string) bool {
	tagged := len(p.tagsOf(im.Digest)) > 0
	switch status {
	case "TAGGED":
		return tagged
	case "UNTAGGED":
		return !tagged
	}
	return true
}

// sortedImages is the repository's images, newest push first.
func (p *repoRec) sortedImages() []*imageRec {
	out := make([]*imageRec, 0, len(p.Images))
	for _, im := range p.Images {
		out = append(out, im)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Pushed.Equal(out[j].Pushed) {
			return out[i].Pushed.After(out[j].Pushed)
		}
		return out[i].Digest < out[j].Digest
	})
	return out
}

func (p *repoRec) imageDetail(im *imageRec) map[string]any {
	d := map[string]any{
		"registryId": core.AccountID, "repositoryName": p.Name, "imageDigest": im.Digest,
		"imageSizeInBytes": im.Size, "imagePushedAt": epoch(im.Pushed), "imageManifestMediaType": im.MediaType,
	}
	if tags := p.tagsOf(im.Digest); len(tags) > 0 {
		d["imageTags"] = tags
	}
	if im.ArtifactType != "" {
		d["artifactMediaType"] = im.ArtifactType
	}
	return d
}

func (r *Room) describeImages(q *core.Request, in *input, p *repoRec) {
	var images []*imageRec
	if len(in.ImageIDs) > 0 {
		for _, id := range in.ImageIDs {
			im, code := p.resolve(id)
			if code != "" {
				q.JSON11Error(http.StatusBadRequest, "ImageNotFoundException",
					"The image with imageId {imageDigest:'"+id.ImageDigest+"', imageTag:'"+id.ImageTag+"'} does not exist within the repository with name '"+p.Name+"' in the registry with id '"+core.AccountID+"'")
				return
			}
			images = append(images, im)
		}
	} else {
		for _, im := range p.sortedImages() {
			if in.Filter == nil || p.matchesTagStatus(im, in.Filter.TagStatus) {
				images = append(images, im)
			}
		}
	}
	start, end, next := core.PageIndex(len(images), in.NextToken, strconv.Itoa(in.MaxResults), 1000)
	out := []any{}
	for _, im := range images[start:end] {
		out = append(out, p.imageDetail(im))
	}
	resp := map[string]any{"imageDetails": out}
	if next != "" {
		resp["nextToken"] = next
	}
	q.JSON11(resp)
}

func (r *Room) listImages(q *core.Request, in *input, p *repoRec) {
	var ids []imageID
	for _, im := range p.sortedImages() {
		if in.Filter != nil && !p.matchesTagStatus(im, in.Filter.TagStatus) {
			continue
		}
		tags := p.tagsOf(im.Digest)
		if len(tags) == 0 {
			ids = append(ids, imageID{ImageDigest: im.Digest})
		}
		for _, t := range tags {
			ids = append(ids, imageID{ImageDigest: im.Digest, ImageTag: t})
		}
	}
	start, end, next := core.PageIndex(len(ids), in.NextToken, strconv.Itoa(in.MaxResults), 1000)
	resp := map[string]any{"imageIds": append([]imageID{}, ids[start:end]...)}
	if next != "" {
		resp["nextToken"] = next
	}
	q.JSON11(resp)
}

func (r *Room) batchGetImage(q *core.Request, in *input, p *repoRec) {
	images, failures := []any{}, []any{}
	for _, id := range in.ImageIDs {
		if id.ImageDigest == "" && id.ImageTag == "" {
			failures = append(failures, failure(id, "MissingDigestAndTag"))
			continue
		}
		im, code := p.resolve(id)
		if code != "" {
			failures = append(failures, failure(id, code))
			continue
		}
		body, err := r.blobs.read(im.Digest, maxManifest)
		if err != nil {
			failures = append(failures, failure(id, "ImageNotFound"))
			continue
		}
		out := imageID{ImageDigest: im.Digest, ImageTag: id.ImageTag}
		images = append(images, map[string]any{"registryId": core.AccountID, "repositoryName": p.Name,
			"imageId": out, "imageManifest": string(body), "imageManifestMediaType": im.MediaType})
	}
	q.JSON11(map[string]any{"images": images, "failures": failures})
}

// batchDeleteImage deletes images by digest (with every tag) or removes a tag (the image
// goes with its last tag), as ECR does.
func (r *Room) batchDeleteImage(q *core.Request, in *input, p *repoRec) {
	deleted, failures := []any{}, []any{}
	for _, id := range in.ImageIDs {
		if id.ImageDigest == "" && id.ImageTag == "" {
			failures = append(failures, failure(id, "MissingDigestAndTag"))
			continue
		}
		im, code := p.resolve(id)
		if code != "" {
			failures = append(failures, failure(id, code))
			continue
		}
		if id.ImageTag != "" && id.ImageDigest == "" {
			delete(p.ImageTags, id.ImageTag)
			deleted = append(deleted, imageID{ImageDigest: im.Digest, ImageTag: id.ImageTag})
			if len(p.tagsOf(im.Digest)) > 0 {
				continue
			}
		} else {
			for _, t := range p.tagsOf(im.Digest) {
				deleted = append(deleted, imageID{ImageDigest: im.Digest, ImageTag: t})
			}
			if len(p.tagsOf(im.Digest)) == 0 {
				deleted = append(deleted, imageID{ImageDigest: im.Digest})
			}
		}
		p.deleteImage(im.Digest)
	}
	r.commitLocked()
	q.JSON11(map[string]any{"imageIds": deleted, "failures": failures})
}

// deleteImage removes an image and its tags (the blobs stay in the content-addressed
// store, which other images may share).
func (p *repoRec) deleteImage(digest string) {
	for _, t := range p.tagsOf(digest) {
		delete(p.ImageTags, t)
	}
	delete(p.Images, digest)
}

// repoARNRE is a repository ARN: region and name.
var repoARNRE = regexp.MustCompile(`^arn:aws:ecr:([a-z0-9-]+):([0-9]{12}):repository/(.+)$`)

// repoByARN finds a repository by its ARN (TagResource and friends).
func (r *Room) repoByARN(q *core.Request, arn string) *repoRec {
	m := repoARNRE.FindStringSubmatch(arn)
	if m == nil {
		invalidParam(q, "Invalid parameter at 'resourceArn' failed to satisfy constraint: '"+arn+"' is not a repository ARN")
		return nil
	}
	p := r.st.Repos[repoKey(m[1], m[3])]
	if p == nil || m[2] != core.AccountID {
		repoNotFound(q, m[3])
		return nil
	}
	return p
}

func (r *Room) tagResource(q *core.Request, in *input) {
	p := r.repoByARN(q, in.ResourceArn)
	if p == nil {
		return
	}
	tags, ok := tagMap(q, in.Tags)
	if !ok {
		return
	}
	for k, v := range tags {
		p.Tags[k] = v
	}
	r.commitLocked()
	q.JSON11(map[string]any{})
}

func (r *Room) untagResource(q *core.Request, in *input) {
	p := r.repoByARN(q, in.ResourceArn)
	if p == nil {
		return
	}
	for _, k := range in.TagKeys {
		delete(p.Tags, k)
	}
	r.commitLocked()
	q.JSON11(map[string]any{})
}

func (r *Room) listTagsForResource(q *core.Request, in *input) {
	p := r.repoByARN(q, in.ResourceArn)
	if p == nil {
		return
	}
	out := []tag{}
	for _, k := range core.SortedKeys(p.Tags) {
		out = append(out, tag{Key: k, Value: p.Tags[k]})
	}
	q.JSON11(map[string]any{"tags": out})
}

// putImage is PutImage: a manifest whose blobs were uploaded through the registry, stored
// under a tag (or by digest alone), as the registry's manifest PUT does; AWS's error codes.
func (r *Room) putImage(q *core.Request) {
	in, ok := decode(q)
	if !ok {
		return
	}
	r.mu.Lock()
	p := r.st.Repos[repoKey(q.Region, in.RepositoryName)]
	r.mu.Unlock()
	if p == nil {
		repoNotFound(q, in.RepositoryName)
		return
	}
	body := []byte(in.ImageManifest)
	mt := in.ImageManifestMediaType
	if mt == "" {
		var m manifest
		_ = json.Unmarshal(body, &m)
		mt = m.MediaType
	}
	if in.ImageTag != "" && !tagRE.MatchString(in.ImageTag) {
		invalidParam(q, "Invalid parameter at 'imageTag': "+strconv.Quote(in.ImageTag)+" is not a valid tag")
		return
	}
	m, size, err := r.checkManifest(q.Region, in.RepositoryName, mt, body)
	if err != nil {
		if strings.Contains(err.Error(), "is not in") {
			q.JSON11Error(http.StatusBadRequest, "LayersNotFoundException", err.Error())
		} else {
			invalidParam(q, "Invalid parameter at 'imageManifest': "+err.Error())
		}
		return
	}
	sum := sha256.Sum256(body)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if in.ImageDigest != "" && in.ImageDigest != digest {
		invalidParam(q, "Invalid parameter at 'imageDigest': the manifest hashes to "+digest)
		return
	}
	r.mu.Lock()
	dup := in.ImageTag != "" && p.ImageTags[in.ImageTag] == digest || in.ImageTag == "" && p.Images[digest] != nil
	r.mu.Unlock()
	if dup {
		q.JSON11Error(http.StatusBadRequest, "ImageAlreadyExistsException",
			"Image with digest '"+digest+"' and tag '"+in.ImageTag+"' already exists in the repository with name '"+p.Name+"' in registry with id '"+core.AccountID+"'")
		return
	}
	if _, err := r.blobs.put(body); err != nil {
		q.JSON11Error(http.StatusInternalServerError, "ServerException", "store manifest: "+err.Error())
		return
	}
	var children []string
	for _, d := range m.Manifests {
		children = append(children, d.Digest)
	}
	ref, byDigest := in.ImageTag, in.ImageTag == ""
	if byDigest {
		ref = digest
	}
	artifact := ""
	if m.Config != nil {
		artifact = m.Config.MediaType
	}
	if msg := r.recordImage(q.Region, p.Name, ref, byDigest, &imageRec{Digest: digest, MediaType: mt, ArtifactType: artifact, Size: size, Children: children}); msg != "" {
		code := "ImageTagAlreadyExistsException"
		if !strings.HasPrefix(msg, "The image tag") {
			code = "RepositoryNotFoundException"
		}
		q.JSON11Error(http.StatusBadRequest, code, msg)
		return
	}
	q.JSON11(map[string]any{"image": map[string]any{"registryId": core.AccountID, "repositoryName": p.Name,
		"imageId": imageID{ImageDigest: digest, ImageTag: in.ImageTag}, "imageManifest": in.ImageManifest, "imageManifestMediaType": mt}})
}
