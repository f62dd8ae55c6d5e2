// Package s3 is the local cloud's S3 (REST-XML): the bucket and object calls a deploy of a
// large zip needs, path-style (http://HOST/bucket/key) and virtual-host style (Host:
// bucket.s3.localhost[:port]). Objects are stored by content under STATE_DIR/s3/<sha256hex>;
// buckets and object metadata live in STATE_DIR/s3.json.
package s3

import (
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// stateFile is the room's document; its fields are named as in the old state.json.
const stateFile = "s3.json"

type bucketRec struct {
	Name    string                `json:"name"`
	Region  string                `json:"region"`
	Created time.Time             `json:"created"`
	Tags    map[string]string     `json:"tags,omitempty"`
	Objects map[string]*objectRec `json:"objects"`
}

func (b *bucketRec) arn() string { return "arn:aws:s3:::" + b.Name }

type objectRec struct {
	Size         int64             `json:"size"`
	SHA256       string            `json:"sha256"` // hex; the blob's name
	ETag         string            `json:"etag"`   // quoted MD5 hex
	LastModified time.Time         `json:"last_modified"`
	ContentType  string            `json:"content_type,omitempty"`
	Checksums    map[string]string `json:"checksums,omitempty"` // CRC32, CRC32C, ... -> base64
	Meta         map[string]string `json:"meta,omitempty"`      // x-amz-meta-*
}
type doc struct {
	Buckets map[string]*bucketRec `json:"buckets"`
}

// Room is S3.
type Room struct {
	cloud *core.Cloud
	mu    sync.Mutex
	st    doc
}

// New returns the S3 room.
func New() *Room { return &Room{} }

func (*Room) Name() string { return "s3" }

func (r *Room) Open(c *core.Cloud) error {
	r.cloud = c
	r.st = doc{}
	if err := c.LoadDoc(stateFile, &r.st, true); err != nil {
		return err
	}
	if r.st.Buckets == nil {
		r.st.Buckets = map[string]*bucketRec{}
	}
	for _, b := range r.st.Buckets {
		if b.Objects == nil {
			b.Objects = map[string]*objectRec{}
		}
	}
	return nil
}

func (r *Room) Save() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cloud.SaveDoc(stateFile, &r.st)
}

func (*Room) Close() {}

// commitLocked saves after a change; a failed save is logged, not returned, since the
// change has already happened in memory. r.mu must be held.
func (r *Room) commitLocked() {
	if err := r.cloud.SaveDoc(stateFile, &r.st); err != nil {
		r.cloud.Logf("save state: %v", err)
	}
}

func (r *Room) blobPath(sha string) string { return r.cloud.Path("s3", sha) }

func (r *Room) Resources(match func(map[string]string) bool) []core.Resource {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []core.Resource
	for _, n := range core.SortedKeys(r.st.Buckets) {
		b := r.st.Buckets[n]
		if match(b.Tags) {
			out = append(out, core.Resource{Service: "s3", Type: "bucket", Name: b.Name, ARN: b.arn(), Tags: core.CopyMap(b.Tags)})
		}
	}
	return out
}

// ReadObject reads an object for Lambda's code from S3 (core.Objects), failing as
// GetObject does.
func (r *Room) ReadObject(region, bucket, key string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.st.Buckets[bucket]
	if b == nil {
		return nil, &core.ObjectError{Code: "NoSuchBucket", Message: "The specified bucket does not exist"}
	}
	if b.Region != region {
		return nil, &core.ObjectError{Code: "PermanentRedirect", Message: "The bucket is in this region: " + b.Region + ". Please use this region to retry the request"}
	}
	o := b.Objects[key]
	if o == nil {
		return nil, &core.ObjectError{Code: "NoSuchKey", Message: "The specified key does not exist."}
	}
	return os.ReadFile(r.blobPath(o.SHA256))
}

// Guess recognises an unsigned request by its virtual host.
func (*Room) Guess(req *http.Request) bool {
	_, ok := s3VirtualHost(req.Host)
	return ok
}

// Route names the operation; q.Args is bucket and key.
func (*Room) Route(q *core.Request) (string, bool) {
	q.W.Header().Set("X-Amz-Request-Id", q.RequestID)
	q.W.Header().Set("X-Amz-Id-2", q.RequestID)
	op, bucket, key := s3Route(q.R)
	if op == "" {
		q.RestXMLError(http.StatusNotImplemented, "NotImplemented", "A header or query you provided implies functionality that localcloud does not implement ("+q.R.Method+" "+q.R.URL.RequestURI()+")")
		return "", false
	}
	q.Args = []string{bucket, key}
	return op, true
}

func (*Room) Unknown(q *core.Request) {
	q.RestXMLError(http.StatusNotImplemented, "NotImplemented", "localcloud does not implement S3 "+q.Op)
}

func (*Room) Throttle(q *core.Request) {
	q.RestXMLError(http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
}

func (*Room) Fail(q *core.Request) {
	q.RestXMLError(http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again. (localcloud: injected fault)")
}

func noSuchBucket(q *core.Request, name string) {
	q.RestXMLError(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist", "BucketName", name)
}

// Ops is the S3 operation table.
func (r *Room) Ops() []core.Op {
	return []core.Op{
		core.Read("ListBuckets", r.locked(r.listBuckets)),
		core.Write("CreateBucket", withBody(r.locked2(r.createBucket))),
		core.Read("HeadBucket", r.onBucket(headBucket)),
		core.Read("GetBucketLocation", r.onBucket(getBucketLocation)),
		core.Write("DeleteBucket", r.onBucket(r.deleteBucket)),
		core.Write("PutBucketTagging", withBody(r.onBucketBody(r.putBucketTagging))),
		core.Read("GetBucketTagging", r.onBucket(getBucketTagging)),
		core.Write("DeleteBucketTagging", r.onBucket(r.deleteBucketTagging)),
		core.Read("ListObjectsV2", r.onBucket(listObjectsV2)),
		core.Write("DeleteObject", r.onBucket(r.deleteObject)),
		core.Write("PutObject", r.putObject),
		core.Read("GetObject", func(q *core.Request) { r.getObject(q, false) }),
		core.Read("HeadObject", func(q *core.Request) { r.getObject(q, true) }),
	}
}

// withBody reads a small XML body (a bucket's configuration) before h.
func withBody(h func(q *core.Request, body []byte)) func(*core.Request) {
	return func(q *core.Request) {
		b, err := core.ReadLimited(q.R.Body, 1<<20)
		if err != nil {
			q.RestXMLError(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
			return
		}
		h(q, b)
	}
}

func (r *Room) locked(h func(q *core.Request)) func(*core.Request) {
	return func(q *core.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		h(q)
	}
}

func (r *Room) locked2(h func(q *core.Request, body []byte)) func(*core.Request, []byte) {
	return func(q *core.Request, body []byte) {
		r.mu.Lock()
		defer r.mu.Unlock()
		h(q, body)
	}
}

// onBucket runs h under the lock on the bucket the call names (NoSuchBucket when it is not there).
func (r *Room) onBucket(h func(q *core.Request, b *bucketRec)) func(*core.Request) {
	return r.locked(func(q *core.Request) {
		b := r.st.Buckets[q.Args[0]]
		if b == nil {
			noSuchBucket(q, q.Args[0])
			return
		}
		h(q, b)
	})
}

func (r *Room) onBucketBody(h func(q *core.Request, b *bucketRec, body []byte)) func(*core.Request, []byte) {
	return func(q *core.Request, body []byte) {
		r.onBucket(func(q *core.Request, b *bucketRec) { h(q, b, body) })(q)
	}
}

// s3VirtualHost recognises "<bucket>.s3.localhost[:port]" and "<bucket>.s3.<region>.localhost[:port]".
func s3VirtualHost(host string) (string, bool) {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.ToLower(h)
	if !strings.HasSuffix(h, ".localhost") {
		return "", false
	}
	h = strings.TrimSuffix(h, ".localhost")
	if i := strings.LastIndex(h, ".s3"); i > 0 && i+3 == len(h) {
		return h[:i], true
	}
	if i := strings.LastIndex(h, ".s3."); i > 0 && !strings.Contains(h[i+4:], ".") {
		return h[:i], true
	}
	return "", false
}

// s3Route names the operation of a request, with its bucket and key.
func s3Route(r *http.Request) (op, bucket, key string) {
	path := r.URL.Path
	if b, ok := s3VirtualHost(r.Host); ok {
		bucket, key = b, strings.TrimPrefix(path, "/")
	} else {
		rest := strings.TrimPrefix(path, "/")
		bucket, key, _ = strings.Cut(rest, "/")
	}
	qs := r.URL.Query()
	has := func(k string) bool { _, ok := qs[k]; return ok }
	m := r.Method
	switch {
	case bucket == "":
		if m == http.MethodGet {
			return "ListBuckets", "", ""
		}
	case key == "":
		switch {
		case has("tagging") && m == http.MethodPut:
			return "PutBucketTagging", bucket, ""
		case has("tagging") && m == http.MethodGet:
			return "GetBucketTagging", bucket, ""
		case has("tagging") && m == http.MethodDelete:
			return "DeleteBucketTagging", bucket, ""
		case has("location") && m == http.MethodGet:
			return "GetBucketLocation", bucket, ""
		case len(qs) > 0 && !has("list-type") && !has("x-id"):
			// other sub-resources (policy, versioning, lifecycle, ...) are not implemented
			return "", bucket, ""
		case m == http.MethodPut:
			return "CreateBucket", bucket, ""
		case m == http.MethodHead:
			return "HeadBucket", bucket, ""
		case m == http.MethodDelete:
			return "DeleteBucket", bucket, ""
		case m == http.MethodGet && qs.Get("list-type") == "2":
			return "ListObjectsV2", bucket, ""
		}
	default:
		if has("uploads") || has("uploadId") || has("tagging") || has("acl") || has("retention") || has("legal-hold") || has("attributes") {
			return "", bucket, key
		}
		switch m {
		case http.MethodPut:
			if r.Header.Get("X-Amz-Copy-Source") != "" {
				return "", bucket, key
			}
			return "PutObject", bucket, key
		case http.MethodHead:
			return "HeadObject", bucket, key
		case http.MethodGet:
			return "GetObject", bucket, key
		case http.MethodDelete:
			return "DeleteObject", bucket, key
		}
	}
	return "", bucket, key
}
