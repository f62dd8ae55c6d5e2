package ecr

// The OCI distribution API (the registry half of ECR) on the cloud's own listener:
// GET /v2/ (the auth check), blobs HEAD/GET, uploads (monolithic POST ?digest=, and POST,
// PATCH..., PUT ?digest=), manifests PUT/GET/HEAD/DELETE by tag or digest and tags/list.
// Clients authenticate with Basic AWS:<token of GetAuthorizationToken>; the token's region
// says which region's repositories the path names.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// The manifest media types the registry takes.
const (
	mediaOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	mediaOCIIndex       = "application/vnd.oci.image.index.v1+json"
	mediaDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mediaDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
)

func isIndex(mt string) bool { return mt == mediaOCIIndex || mt == mediaDockerList }

var (
	uploadPathRE   = regexp.MustCompile(`^/v2/(.+)/blobs/uploads/([^/]*)$`)
	blobPathRE     = regexp.MustCompile(`^/v2/(.+)/blobs/([^/]+)$`)
	manifestPathRE = regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`)
	tagsPathRE     = regexp.MustCompile(`^/v2/(.+)/tags/list$`)
	tagRE          = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// isRegistryPath: the paths of the distribution API (API Gateway's /v2/apis... are not).
func isRegistryPath(p string) bool {
	if p == "/v2/" || p == "/v2" {
		return true
	}
	return uploadPathRE.MatchString(p) || blobPathRE.MatchString(p) || manifestPathRE.MatchString(p) || tagsPathRE.MatchString(p)
}

// upload is a blob upload in progress.
type upload struct {
	region, repo string
	path         string
	size         int64
}

// statusWriter remembers the status for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
	w.ResponseWriter.WriteHeader(s)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (r *Room) serveRegistry(w0 http.ResponseWriter, req *http.Request) {
	start := time.Now()
	w := &statusWriter{ResponseWriter: w0}
	defer func() {
		r.cloud.AccessLogf("registry %s %s -> %d (%s)", req.Method, req.URL.Path, w.status, time.Since(start).Round(time.Microsecond))
	}()
	w.Header().Set("Docker-Distribution-Api-Version", "registry/2.0")
	region, ok := r.authorize(req)
	if !ok {
		_, _ = io.Copy(io.Discard, io.LimitReader(req.Body, 1<<20))
		w.Header().Set("WWW-Authenticate", `Basic realm="`+r.cloud.Endpoint()+`/",service="ecr.amazonaws.com"`)
		regError(w, http.StatusUnauthorized, "DENIED", "Not Authorized: send Basic auth AWS:<token> with a token of ecr GetAuthorizationToken")
		return
	}
	p := req.URL.Path
	switch {
	case p == "/v2/" || p == "/v2":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	case uploadPathRE.MatchString(p):
		m := uploadPathRE.FindStringSubmatch(p)
		r.serveUpload(w, req, region, m[1], m[2])
	case manifestPathRE.MatchString(p):
		m := manifestPathRE.FindStringSubmatch(p)
		r.serveManifest(w, req, region, m[1], m[2])
	case blobPathRE.MatchString(p):
		m := blobPathRE.FindStringSubmatch(p)
		r.serveBlob(w, req, region, m[1], m[2])
	case tagsPathRE.MatchString(p):
		r.serveTags(w, req, region, tagsPathRE.FindStringSubmatch(p)[1])
	}
}

// regError writes an error of the distribution API.
func regError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(map[string]any{"errors": []any{map[string]string{"code": code, "message": msg}}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// authorize checks Basic AWS:<token> and returns the token's region.
func (r *Room) authorize(req *http.Request) (string, bool) {
	a, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Basic ")
	if !ok {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(a))
	if err != nil {
		return "", false
	}
	user, token, ok := strings.Cut(string(raw), ":")
	if !ok || user != "AWS" {
		return "", false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.st.Tokens[token]
	if t == nil || time.Now().After(t.Expires) {
		return "", false
	}
	return t.Region, true
}

// repoExists answers NAME_UNKNOWN when the repository is not there.
func (r *Room) repoExists(w http.ResponseWriter, region, name string) bool {
	r.mu.Lock()
	p := r.st.Repos[repoKey(region, name)]
	r.mu.Unlock()
	if p == nil {
		regError(w, http.StatusNotFound, "NAME_UNKNOWN", "The repository with name '"+name+"' does not exist in the registry with id '"+core.AccountID+"'")
		return false
	}
	return true
}

func (r *Room) serveBlob(w http.ResponseWriter, req *http.Request, region, name, digest string) {
	if !r.repoExists(w, region, name) {
		return
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		regError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "blobs are deleted with their images")
		return
	}
	f, err := r.blobs.open(digest)
	if err != nil {
		regError(w, http.StatusNotFound, "BLOB_UNKNOWN", "blob "+digest+" is not in the registry")
		return
	}
	defer f.Close()
	w.Header().Set("Docker-Content-Digest", digest)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Etag", `"`+digest+`"`)
	http.ServeContent(w, req, "", time.Time{}, f)
}

func (r *Room) uploadLocation(w http.ResponseWriter, name, id string, size int64) {
	w.Header().Set("Location", "/v2/"+name+"/blobs/uploads/"+id)
	w.Header().Set("Docker-Upload-Uuid", id)
	w.Header().Set("Range", fmt.Sprintf("0-%d", max(size-1, 0)))
	w.Header().Set("Content-Length", "0")
}

func blobCreated(w http.ResponseWriter, name, digest string) {
	w.Header().Set("Location", "/v2/"+name+"/blobs/"+digest)
	w.Header().Set("Docker-Content-Digest", digest)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

func (r *Room) serveUpload(w http.ResponseWriter, req *http.Request, region, name, id string) {
	if !r.repoExists(w, region, name) {
		return
	}
	if id == "" {
		if req.Method != http.MethodPost {
			regError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "start an upload with POST")
			return
		}
		r.startUpload(w, req, region, name)
		return
	}
	r.mu.Lock()
	u := r.uploads[id]
	r.mu.Unlock()
	if u == nil || u.region != region || u.repo != name {
		regError(w, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", "upload "+id+" is not in progress")
		return
	}
	switch req.Method {
	case http.MethodGet:
		r.uploadLocation(w, name, id, u.size)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		r.dropUpload(id)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPatch:
		if cr := req.Header.Get("Content-Range"); cr != "" {
			if from, _, ok := strings.Cut(cr, "-"); !ok || from != strconv.FormatInt(u.size, 10) {
				r.uploadLocation(w, name, id, u.size)
				regError(w, http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID", "Content-Range "+cr+" does not continue the upload at "+strconv.FormatInt(u.size, 10))
				return
			}
		}
		if !r.appendChunk(w, req, id, u) {
			return
		}
		r.uploadLocation(w, name, id, u.size)
		w.WriteHeader(http.StatusAccepted)
	case http.MethodPut:
		if !r.appendChunk(w, req, id, u) {
			return
		}
		r.finishUpload(w, id, u, name, req.URL.Query().Get("digest"))
	default:
		regError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", req.Method+" on an upload")
	}
}

// startUpload answers POST .../blobs/uploads/: a mount of a blob the store has, a
// single-shot upload (?digest=), or a new session.
func (r *Room) startUpload(w http.ResponseWriter, req *http.Request, region, name string) {
	qv := req.URL.Query()
	if m := qv.Get("mount"); m != "" {
		// One store holds every repository's blobs, so any stored blob mounts.
		if _, ok := r.blobs.size(m); ok {
			blobCreated(w, name, m)
			return
		}
	}
	id := core.NewRequestID()
	path, err := r.blobs.newUpload(id)
	if err != nil {
		regError(w, http.StatusInternalServerError, "UNKNOWN", "start upload: "+err.Error())
		return
	}
	u := &upload{region: region, repo: name, path: path}
	r.mu.Lock()
	r.uploads[id] = u
	r.mu.Unlock()
	if d := qv.Get("digest"); d != "" {
		if r.appendChunk(w, req, id, u) {
			r.finishUpload(w, id, u, name, d)
		}
		return
	}
	r.uploadLocation(w, name, id, 0)
	w.WriteHeader(http.StatusAccepted)
}

// appendChunk writes the request body to the upload; false: answered (and dropped).
func (r *Room) appendChunk(w http.ResponseWriter, req *http.Request, id string, u *upload) bool {
	n, err := appendUpload(u.path, u.size, req.Body)
	if err != nil {
		r.dropUpload(id)
		if err == errBlobTooLarge {
			regError(w, http.StatusRequestEntityTooLarge, "SIZE_INVALID", fmt.Sprintf("a blob is at most %d bytes", maxBlob))
		} else {
			regError(w, http.StatusInternalServerError, "UNKNOWN", "upload: "+err.Error())
		}
		return false
	}
	u.size = n
	return true
}

func (r *Room) finishUpload(w http.ResponseWriter, id string, u *upload, name, digest string) {
	if !digestRE.MatchString(digest) {
		r.dropUpload(id)
		regError(w, http.StatusBadRequest, "DIGEST_INVALID", "digest "+strconv.Quote(digest)+" is not sha256:<64 hex>")
		return
	}
	err := r.blobs.commitUpload(u.path, digest)
	r.dropUpload(id)
	switch {
	case err == errDigestMismatch:
		regError(w, http.StatusBadRequest, "DIGEST_INVALID", "the uploaded content does not hash to "+digest)
	case err != nil:
		regError(w, http.StatusInternalServerError, "UNKNOWN", "store blob: "+err.Error())
	default:
		blobCreated(w, name, digest)
	}
}

func (r *Room) dropUpload(id string) {
	r.mu.Lock()
	u := r.uploads[id]
	delete(r.uploads, id)
	r.mu.Unlock()
	if u != nil {
		os.Remove(u.path)
	}
}

// manifest is the part of an image manifest or index the registry checks.
type manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        *descriptor  `json:"config"`
	Layers        []descriptor `json:"layers"`
	Manifests     []descriptor `json:"manifests"`
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	Platform  *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform,omitempty"`
}

func (r *Room) serveManifest(w http.ResponseWriter, req *http.Request, region, name, ref string) {
	if !r.repoExists(w, region, name) {
		return
	}
	switch req.Method {
	case http.MethodPut:
		r.putManifest(w, req, region, name, ref)
	case http.MethodGet, http.MethodHead:
		r.getManifest(w, req, region, name, ref)
	case http.MethodDelete:
		r.deleteManifest(w, region, name, ref)
	default:
		regError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", req.Method+" on a manifest")
	}
}

func (r *Room) putManifest(w http.ResponseWriter, req *http.Request, region, name, ref string) {
	body, err := core.ReadLimited(req.Body, maxManifest)
	if err != nil {
		regError(w, http.StatusBadRequest, "MANIFEST_INVALID", "manifest body: "+err.Error())
		return
	}
	mt := req.Header.Get("Content-Type")
	m, size, err := r.checkManifest(region, name, mt, body)
	if err != nil {
		code := "MANIFEST_INVALID"
		if strings.Contains(err.Error(), "is not in") {
			code = "MANIFEST_BLOB_UNKNOWN"
		}
		regError(w, http.StatusBadRequest, code, err.Error())
		return
	}
	byDigest := strings.HasPrefix(ref, "sha256:")
	if !byDigest && !tagRE.MatchString(ref) {
		regError(w, http.StatusBadRequest, "TAG_INVALID", "tag "+strconv.Quote(ref)+" is not a valid tag")
		return
	}
	digest, err := r.blobs.put(body)
	if err != nil {
		regError(w, http.StatusInternalServerError, "UNKNOWN", "store manifest: "+err.Error())
		return
	}
	if byDigest && ref != digest {
		regError(w, http.StatusBadRequest, "DIGEST_INVALID", "the manifest hashes to "+digest+", not "+ref)
		return
	}
	artifact := ""
	if m.Config != nil {
		artifact = m.Config.MediaType
	}
	var children []string
	for _, d := range m.Manifests {
		children = append(children, d.Digest)
	}
	if msg := r.recordImage(region, name, ref, byDigest, &imageRec{Digest: digest, MediaType: mt, ArtifactType: artifact, Size: size, Children: children}); msg != "" {
		regError(w, http.StatusBadRequest, "TAG_INVALID", msg)
		return
	}
	w.Header().Set("Location", "/v2/"+name+"/manifests/"+digest)
	w.Header().Set("Docker-Content-Digest", digest)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// checkManifest parses a manifest and checks what it references is stored; size is the
// image's size as DescribeImages gives it (its layers, compressed; an index: its largest
// image).
func (r *Room) checkManifest(region, name, mt string, body []byte) (*manifest, int64, error) {
	switch mt {
	case mediaOCIManifest, mediaDockerManifest, mediaOCIIndex, mediaDockerList:
	default:
		return nil, 0, fmt.Errorf("manifest media type %q is not supported (OCI image manifest or index, Docker v2 schema 2 manifest or list)", mt)
	}
	var m manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, 0, fmt.Errorf("manifest is not JSON: %v", err)
	}
	if m.SchemaVersion != 2 || (m.MediaType != "" && m.MediaType != mt) {
		return nil, 0, fmt.Errorf("manifest schemaVersion %d / mediaType %q does not match Content-Type %s", m.SchemaVersion, m.MediaType, mt)
	}
	if isIndex(mt) {
		size, err := r.indexSize(region, name, m.Manifests)
		return &m, size, err
	}
	if m.Config == nil {
		return nil, 0, fmt.Errorf("manifest has no config")
	}
	var size int64
	for i, d := range append([]descriptor{*m.Config}, m.Layers...) {
		have, ok := r.blobs.size(d.Digest)
		if !ok {
			return nil, 0, fmt.Errorf("blob %s is not in the registry; push it first", d.Digest)
		}
		if have != d.Size {
			return nil, 0, fmt.Errorf("blob %s has %d bytes, the manifest says %d", d.Digest, have, d.Size)
		}
		if i > 0 {
			size += d.Size
		}
	}
	return &m, size, nil
}

func (r *Room) indexSize(region, name string, children []descriptor) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.st.Repos[repoKey(region, name)]
	var size int64
	for _, d := range children {
		var im *imageRec
		if p != nil {
			im = p.Images[d.Digest]
		}
		if im == nil {
			return 0, fmt.Errorf("manifest %s is not in the repository; push it first", d.Digest)
		}
		size = max(size, im.Size)
	}
	return size, nil
}

// recordImage adds a pushed manifest to the repository (and its tag), then applies the
// lifecycle policy (after a push by tag). It returns why a tag cannot move ("" = done).
func (r *Room) recordImage(region, name, ref string, byDigest bool, im *imageRec) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.st.Repos[repoKey(region, name)]
	if p == nil {
		return "the repository " + name + " was deleted during the push"
	}
	if !byDigest {
		if old, ok := p.ImageTags[ref]; ok && old != im.Digest && p.Mutability == "IMMUTABLE" {
			return "The image tag '" + ref + "' already exists in the '" + name + "' repository and cannot be overwritten because the repository is immutable."
		}
	}
	now := time.Now().UTC()
	if p.Images[im.Digest] == nil {
		im.Pushed = now
		p.Images[im.Digest] = im
	}
	// The policy runs on pushes by tag: the images of an index are pushed by digest just
	// before it, and must not expire before the index that lists them arrives.
	if !byDigest {
		p.ImageTags[ref] = im.Digest
		if gone := p.applyPolicyLocked(now); len(gone) > 0 {
			r.cloud.Logf("ecr: lifecycle policy of %s expired %s", name, strings.Join(gone, ", "))
		}
	}
	r.commitLocked()
	return ""
}

// lookupLocked resolves a tag or digest in a repository. r.mu held.
func (p *repoRec) lookupLocked(ref string) *imageRec {
	if strings.HasPrefix(ref, "sha256:") {
		return p.Images[ref]
	}
	if d, ok := p.ImageTags[ref]; ok {
		return p.Images[d]
	}
	return nil
}

func (r *Room) getManifest(w http.ResponseWriter, req *http.Request, region, name, ref string) {
	r.mu.Lock()
	var im *imageRec
	if p := r.st.Repos[repoKey(region, name)]; p != nil {
		if found := p.lookupLocked(ref); found != nil {
			cp := *found
			im = &cp
		}
	}
	r.mu.Unlock()
	if im == nil {
		regError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "Requested image not found: "+name+":"+ref)
		return
	}
	body, err := r.blobs.read(im.Digest, maxManifest)
	if err != nil {
		regError(w, http.StatusInternalServerError, "UNKNOWN", "read manifest: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", im.MediaType)
	w.Header().Set("Docker-Content-Digest", im.Digest)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if req.Method == http.MethodGet {
		_, _ = io.Copy(w, bytes.NewReader(body))
	}
}

func (r *Room) deleteManifest(w http.ResponseWriter, region, name, ref string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.st.Repos[repoKey(region, name)]
	var im *imageRec
	if p != nil {
		im = p.lookupLocked(ref)
	}
	if im == nil {
		regError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "Requested image not found: "+name+":"+ref)
		return
	}
	if strings.HasPrefix(ref, "sha256:") {
		p.deleteImage(im.Digest)
	} else {
		delete(p.ImageTags, ref)
	}
	r.commitLocked()
	w.WriteHeader(http.StatusAccepted)
}

// serveTags lists a repository's tags (n and last page it, as the distribution API says).
func (r *Room) serveTags(w http.ResponseWriter, req *http.Request, region, name string) {
	if !r.repoExists(w, region, name) {
		return
	}
	r.mu.Lock()
	tags := []string{}
	if p := r.st.Repos[repoKey(region, name)]; p != nil {
		tags = append(tags, core.SortedKeys(p.ImageTags)...)
	}
	r.mu.Unlock()
	if last := req.URL.Query().Get("last"); last != "" {
		i := sort.SearchStrings(tags, last)
		for i < len(tags) && tags[i] <= last {
			i++
		}
		tags = tags[i:]
	}
	if n, err := strconv.Atoi(req.URL.Query().Get("n")); err == nil && n >= 0 && n < len(tags) {
		tags = tags[:n]
		if n > 0 {
			w.Header().Set("Link", fmt.Sprintf(`</v2/%s/tags/list?n=%d&last=%s>; rel="next"`, name, n, tags[n-1]))
		}
	}
	b, _ := json.Marshal(map[string]any{"name": name, "tags": tags})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
