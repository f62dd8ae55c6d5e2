package localcloud

// S3 (REST-XML): the bucket and object calls a deploy of a large zip needs, path-style
// (http://HOST/bucket/key) and virtual-host style (Host: bucket.s3.localhost[:port]).
// Objects are stored by content under STATE_DIR/s3/<sha256hex>; buckets and object
// metadata live in state.json like the rest of the control plane.

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	s3NS            = "http://s3.amazonaws.com/doc/2006-03-01/"
	maxObjectBytes  = 5 << 30 // a single PutObject: 5 GiB
	s3OwnerID       = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"
	s3DefaultRegion = "us-east-1"
)

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

func (c *Cloud) blobPath(sha string) string { return filepath.Join(c.stateDir, "s3", sha) }

// s3Error writes S3's error document.
func (q *request) s3Error(status int, code, msg string, extra ...string) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Error>")
	el := func(k, v string) {
		b.WriteString("<" + k + ">")
		_ = xml.EscapeText(&b, []byte(v))
		b.WriteString("</" + k + ">")
	}
	el("Code", code)
	el("Message", msg)
	for i := 0; i+1 < len(extra); i += 2 {
		el(extra[i], extra[i+1])
	}
	el("RequestId", q.requestID)
	el("HostId", q.requestID)
	b.WriteString("</Error>")
	q.w.Header().Set("Content-Type", "application/xml")
	q.w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	q.w.WriteHeader(status)
	q.status = status
	_, _ = q.w.Write(b.Bytes())
}

func (q *request) s3XML(status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		q.s3Error(http.StatusInternalServerError, "InternalError", "localcloud: encode response")
		return
	}
	b = append([]byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"), b...)
	q.w.Header().Set("Content-Type", "application/xml")
	q.w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	q.w.WriteHeader(status)
	q.status = status
	_, _ = q.w.Write(b)
}

func (q *request) noSuchBucket(name string) {
	q.s3Error(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist", "BucketName", name)
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

func (c *Cloud) serveS3(q *request) {
	q.w.Header().Set("X-Amz-Request-Id", q.requestID)
	q.w.Header().Set("X-Amz-Id-2", q.requestID)
	op, bucket, key := s3Route(q.r)
	if op == "" {
		q.op = "?"
		q.s3Error(http.StatusNotImplemented, "NotImplemented", "A header or query you provided implies functionality that localcloud does not implement ("+q.r.Method+" "+q.r.URL.RequestURI()+")")
		return
	}
	if !q.begin(op) {
		return
	}
	switch op {
	case "PutObject":
		c.s3PutObject(q, bucket, key)
		return
	case "GetObject", "HeadObject":
		c.s3GetObject(q, bucket, key, op == "HeadObject")
		return
	}
	var body []byte
	if op == "CreateBucket" || op == "PutBucketTagging" {
		b, err := readLimited(q.r.Body, 1<<20)
		if err != nil {
			q.s3Error(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
			return
		}
		body = b
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch op {
	case "ListBuckets":
		c.s3ListBuckets(q)
		return
	case "CreateBucket":
		c.s3CreateBucket(q, bucket, body)
		return
	}
	b := c.st.Buckets[bucket]
	if b == nil {
		q.noSuchBucket(bucket)
		return
	}
	switch op {
	case "HeadBucket":
		q.w.Header().Set("X-Amz-Bucket-Region", b.Region)
		q.w.Header().Set("X-Amz-Bucket-Arn", b.arn())
		q.noContent(http.StatusOK)
	case "GetBucketLocation":
		loc := b.Region
		if loc == s3DefaultRegion {
			loc = ""
		}
		q.s3XML(http.StatusOK, struct {
			XMLName xml.Name `xml:"LocationConstraint"`
			NS      string   `xml:"xmlns,attr"`
			Value   string   `xml:",chardata"`
		}{NS: s3NS, Value: loc})
	case "DeleteBucket":
		if len(b.Objects) > 0 {
			q.s3Error(http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty", "BucketName", bucket)
			return
		}
		delete(c.st.Buckets, bucket)
		c.commitLocked()
		q.noContent(http.StatusNoContent)
	case "PutBucketTagging":
		c.s3PutTagging(q, b, body)
	case "GetBucketTagging":
		if len(b.Tags) == 0 {
			q.s3Error(http.StatusNotFound, "NoSuchTagSet", "The TagSet does not exist", "BucketName", bucket)
			return
		}
		var out tagging
		out.NS = s3NS
		for _, k := range sortedKeys(b.Tags) {
			out.TagSet = append(out.TagSet, s3Tag{Key: k, Value: b.Tags[k]})
		}
		q.s3XML(http.StatusOK, out)
	case "DeleteBucketTagging":
		b.Tags = nil
		c.commitLocked()
		q.noContent(http.StatusNoContent)
	case "ListObjectsV2":
		c.s3ListObjects(q, b)
	case "DeleteObject":
		if old := b.Objects[key]; old != nil {
			delete(b.Objects, key)
			c.gcBlobsLocked(old.SHA256)
			c.commitLocked()
		}
		q.noContent(http.StatusNoContent)
	}
}

var (
	bucketNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	ipLikeRE     = regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)
)

func validBucketName(n string) bool {
	return bucketNameRE.MatchString(n) && !strings.Contains(n, "..") && !ipLikeRE.MatchString(n) &&
		!strings.HasPrefix(n, "xn--") && !strings.HasPrefix(n, "sthree-") &&
		!strings.HasSuffix(n, "-s3alias") && !strings.HasSuffix(n, "--ol-s3")
}

func (c *Cloud) s3CreateBucket(q *request, name string, body []byte) {
	if !validBucketName(name) {
		q.s3Error(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.", "BucketName", name)
		return
	}
	var cfg struct {
		LocationConstraint string `xml:"LocationConstraint"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := xml.Unmarshal(body, &cfg); err != nil {
			q.s3Error(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
			return
		}
	}
	region := cfg.LocationConstraint
	switch {
	case region == s3DefaultRegion:
		q.s3Error(http.StatusBadRequest, "InvalidLocationConstraint", "The specified location-constraint is not valid", "LocationConstraint", region)
		return
	case region == "" && q.region != s3DefaultRegion:
		q.s3Error(http.StatusBadRequest, "IllegalLocationConstraintException", "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.")
		return
	case region != "" && q.region != s3DefaultRegion && region != q.region:
		q.s3Error(http.StatusBadRequest, "IllegalLocationConstraintException", "The "+region+" location constraint is incompatible for the region specific endpoint this request was sent to.")
		return
	case region == "":
		region = s3DefaultRegion
	}
	if b := c.st.Buckets[name]; b != nil {
		// us-east-1 answers a create of a bucket you own with success (legacy behaviour).
		if b.Region == s3DefaultRegion && region == s3DefaultRegion {
			q.w.Header().Set("Location", "/"+name)
			q.noContent(http.StatusOK)
			return
		}
		q.s3Error(http.StatusConflict, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.", "BucketName", name)
		return
	}
	c.st.Buckets[name] = &bucketRec{Name: name, Region: region, Created: time.Now().UTC(), Objects: map[string]*objectRec{}}
	c.commitLocked()
	q.w.Header().Set("Location", "/"+name)
	q.noContent(http.StatusOK)
}

type s3Tag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	TagSet  []s3Tag  `xml:"TagSet>Tag"`
}

func (c *Cloud) s3PutTagging(q *request, b *bucketRec, body []byte) {
	var in tagging
	if err := xml.Unmarshal(body, &in); err != nil {
		q.s3Error(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
		return
	}
	if len(in.TagSet) > 50 {
		q.s3Error(http.StatusBadRequest, "InvalidTag", "Object tags cannot be greater than 50")
		return
	}
	tags := map[string]string{}
	for _, t := range in.TagSet {
		switch {
		case t.Key == "" || len(t.Key) > 128:
			q.s3Error(http.StatusBadRequest, "InvalidTag", "The TagKey you have provided is invalid")
			return
		case len(t.Value) > 256:
			q.s3Error(http.StatusBadRequest, "InvalidTag", "The TagValue you have provided is invalid")
			return
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			q.s3Error(http.StatusBadRequest, "InvalidTag", "System tags cannot be added/updated by requester")
			return
		}
		if _, dup := tags[t.Key]; dup {
			q.s3Error(http.StatusBadRequest, "InvalidTag", "Cannot provide multiple Tags with the same key")
			return
		}
		tags[t.Key] = t.Value
	}
	b.Tags = tags
	c.commitLocked()
	q.noContent(http.StatusNoContent)
}

func (c *Cloud) s3ListBuckets(q *request) {
	qs := q.r.URL.Query()
	prefix := qs.Get("prefix")
	max := 10000
	if v := qs.Get("max-buckets"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			q.s3Error(http.StatusBadRequest, "InvalidArgument", "max-buckets must be between 1 and 10000")
			return
		}
		max = n
	}
	after := qs.Get("continuation-token")
	if after != "" {
		b, err := base64.RawURLEncoding.DecodeString(after)
		if err != nil {
			q.s3Error(http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect")
			return
		}
		after = string(b)
	}
	type bucketXML struct {
		Name         string `xml:"Name"`
		CreationDate string `xml:"CreationDate"`
		BucketRegion string `xml:"BucketRegion"`
		BucketArn    string `xml:"BucketArn"`
	}
	out := struct {
		XMLName xml.Name `xml:"ListAllMyBucketsResult"`
		NS      string   `xml:"xmlns,attr"`
		Buckets struct {
			Bucket []bucketXML `xml:"Bucket"`
		} `xml:"Buckets"`
		OwnerID           string `xml:"Owner>ID"`
		OwnerName         string `xml:"Owner>DisplayName"`
		ContinuationToken string `xml:"ContinuationToken,omitempty"`
		Prefix            string `xml:"Prefix,omitempty"`
	}{NS: s3NS, OwnerID: s3OwnerID, OwnerName: "localcloud", Prefix: prefix}
	names := sortedKeys(c.st.Buckets)
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) || (after != "" && n <= after) {
			continue
		}
		if len(out.Buckets.Bucket) == max {
			out.ContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(out.Buckets.Bucket[len(out.Buckets.Bucket)-1].Name))
			break
		}
		b := c.st.Buckets[n]
		out.Buckets.Bucket = append(out.Buckets.Bucket, bucketXML{Name: n, CreationDate: s3Time(b.Created), BucketRegion: b.Region, BucketArn: b.arn()})
	}
	q.s3XML(http.StatusOK, out)
}

func s3Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (c *Cloud) s3ListObjects(q *request, b *bucketRec) {
	qs := q.r.URL.Query()
	prefix, delim, startAfter := qs.Get("prefix"), qs.Get("delimiter"), qs.Get("start-after")
	encode := qs.Get("encoding-type") == "url"
	if e := qs.Get("encoding-type"); e != "" && e != "url" {
		q.s3Error(http.StatusBadRequest, "InvalidArgument", "Invalid Encoding Method specified in Request")
		return
	}
	max := 1000
	if v := qs.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			q.s3Error(http.StatusBadRequest, "InvalidArgument", "Provided max-keys not an integer or within integer range")
			return
		}
		max = min(n, 1000)
	}
	after := startAfter
	token := qs.Get("continuation-token")
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			q.s3Error(http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect")
			return
		}
		after = string(raw)
	}
	enc := func(s string) string {
		if encode {
			return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
		}
		return s
	}
	type objXML struct {
		Key          string `xml:"Key"`
		LastModified string `xml:"LastModified"`
		ETag         string `xml:"ETag"`
		Size         int64  `xml:"Size"`
		StorageClass string `xml:"StorageClass"`
	}
	type prefixXML struct {
		Prefix string `xml:"Prefix"`
	}
	out := struct {
		XMLName               xml.Name    `xml:"ListBucketResult"`
		NS                    string      `xml:"xmlns,attr"`
		Name                  string      `xml:"Name"`
		Prefix                string      `xml:"Prefix"`
		Delimiter             string      `xml:"Delimiter,omitempty"`
		MaxKeys               int         `xml:"MaxKeys"`
		EncodingType          string      `xml:"EncodingType,omitempty"`
		KeyCount              int         `xml:"KeyCount"`
		IsTruncated           bool        `xml:"IsTruncated"`
		ContinuationToken     string      `xml:"ContinuationToken,omitempty"`
		NextContinuationToken string      `xml:"NextContinuationToken,omitempty"`
		StartAfter            string      `xml:"StartAfter,omitempty"`
		Contents              []objXML    `xml:"Contents"`
		CommonPrefixes        []prefixXML `xml:"CommonPrefixes"`
	}{NS: s3NS, Name: b.Name, Prefix: enc(prefix), Delimiter: enc(delim), MaxKeys: max, ContinuationToken: token, StartAfter: enc(startAfter)}
	if encode {
		out.EncodingType = "url"
	}
	seenPrefix := map[string]bool{}
	last := ""
	for _, k := range sortedKeys(b.Objects) {
		if !strings.HasPrefix(k, prefix) || (after != "" && k <= after) {
			continue
		}
		entry := k
		isPrefix := false
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				entry = k[:len(prefix)+i+len(delim)]
				isPrefix = true
				if seenPrefix[entry] {
					continue
				}
			}
		}
		if out.KeyCount == max {
			out.IsTruncated = true
			out.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(last))
			break
		}
		out.KeyCount++
		if isPrefix {
			seenPrefix[entry] = true
			out.CommonPrefixes = append(out.CommonPrefixes, prefixXML{enc(entry)})
			// Skip everything under this prefix on the next page too.
			last = entry + "\xff"
			continue
		}
		o := b.Objects[k]
		out.Contents = append(out.Contents, objXML{Key: enc(k), LastModified: s3Time(o.LastModified), ETag: o.ETag, Size: o.Size, StorageClass: "STANDARD"})
		last = k
	}
	q.s3XML(http.StatusOK, out)
}

// checksumHash is the hash S3 uses for a checksum algorithm (x-amz-checksum-<alg>).
func checksumHash(alg string) hash.Hash {
	switch alg {
	case "CRC32":
		return crc32.NewIEEE()
	case "CRC32C":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "CRC64NVME":
		return crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5))
	case "SHA1":
		return sha1.New()
	case "SHA256":
		return sha256.New()
	}
	return nil
}

var checksumAlgs = []string{"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"}

// awsChunkedReader decodes Content-Encoding aws-chunked bodies ("<hex size>[;chunk-signature=..]\r\n
// <data>\r\n" ... "0\r\n" trailers "\r\n"), collecting trailing headers.
type awsChunkedReader struct {
	r        *bufio.Reader
	left     int64
	done     bool
	trailers http.Header
}

func (a *awsChunkedReader) Read(p []byte) (int, error) {
	for a.left == 0 {
		if a.done {
			return 0, io.EOF
		}
		line, err := a.r.ReadString('\n')
		if err != nil {
			return 0, fmt.Errorf("aws-chunked: %w", io.ErrUnexpectedEOF)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" { // the CRLF that ends a chunk's data
			continue
		}
		sz, _, _ := strings.Cut(line, ";")
		n, err := strconv.ParseInt(strings.TrimSpace(sz), 16, 64)
		if err != nil || n < 0 {
			return 0, errors.New("aws-chunked: bad chunk size")
		}
		if n == 0 {
			a.done = true
			for {
				t, err := a.r.ReadString('\n')
				t = strings.TrimRight(t, "\r\n")
				if t == "" || err != nil {
					break
				}
				if k, v, ok := strings.Cut(t, ":"); ok {
					a.trailers.Set(strings.TrimSpace(k), strings.TrimSpace(v))
				}
			}
			return 0, io.EOF
		}
		a.left = n
	}
	if int64(len(p)) > a.left {
		p = p[:a.left]
	}
	n, err := a.r.Read(p)
	a.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (c *Cloud) s3PutObject(q *request, bucket, key string) {
	cond, ok := readPutCondition(q)
	if !ok {
		return
	}
	c.mu.Lock()
	exists := c.st.Buckets[bucket] != nil
	var before *objectRec // the object when the request arrived, for 409 vs 412
	if exists {
		before = c.st.Buckets[bucket].Objects[key]
	}
	c.mu.Unlock()
	if !exists {
		q.noSuchBucket(bucket)
		return
	}
	if len(key) > 1024 {
		q.s3Error(http.StatusBadRequest, "KeyTooLongError", "Your key is too long")
		return
	}
	h := q.r.Header
	var body io.Reader = q.r.Body
	var chunked *awsChunkedReader
	if strings.Contains(h.Get("Content-Encoding"), "aws-chunked") || strings.HasPrefix(h.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		chunked = &awsChunkedReader{r: bufio.NewReaderSize(q.r.Body, 64<<10), trailers: http.Header{}}
		body = chunked
	}
	if q.r.ContentLength > maxObjectBytes {
		q.s3Error(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
		return
	}
	if err := os.MkdirAll(filepath.Join(c.stateDir, "s3"), 0o755); err != nil {
		q.s3Error(http.StatusInternalServerError, "InternalError", "localcloud: "+err.Error())
		return
	}
	tmp, err := os.CreateTemp(filepath.Join(c.stateDir, "s3"), ".tmp-*")
	if err != nil {
		q.s3Error(http.StatusInternalServerError, "InternalError", "localcloud: "+err.Error())
		return
	}
	defer os.Remove(tmp.Name())
	shaH, md5H := sha256.New(), md5.New()
	sums := map[string]hash.Hash{"CRC32": crc32.NewIEEE()}
	for _, alg := range checksumAlgs {
		if h.Get("X-Amz-Checksum-"+alg) != "" || strings.EqualFold(h.Get("X-Amz-Sdk-Checksum-Algorithm"), alg) || strings.Contains(strings.ToUpper(h.Get("X-Amz-Trailer")), "X-AMZ-CHECKSUM-"+alg) {
			sums[alg] = checksumHash(alg)
		}
	}
	writers := []io.Writer{tmp, shaH, md5H}
	for _, s := range sums {
		writers = append(writers, s)
	}
	n, err := io.Copy(io.MultiWriter(writers...), io.LimitReader(body, maxObjectBytes+1))
	tmp.Close()
	if err != nil {
		q.s3Error(http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
		return
	}
	if n > maxObjectBytes {
		q.s3Error(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
		return
	}
	if dl := h.Get("X-Amz-Decoded-Content-Length"); chunked != nil && dl != "" && dl != strconv.FormatInt(n, 10) {
		q.s3Error(http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
		return
	}
	md5Sum := md5H.Sum(nil)
	if want := h.Get("Content-Md5"); want != "" && want != base64.StdEncoding.EncodeToString(md5Sum) {
		q.s3Error(http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.")
		return
	}
	checksums := map[string]string{}
	for alg, s := range sums {
		got := base64.StdEncoding.EncodeToString(s.Sum(nil))
		want := h.Get("X-Amz-Checksum-" + alg)
		if chunked != nil && want == "" {
			want = chunked.trailers.Get("X-Amz-Checksum-" + alg)
		}
		if want != "" && want != got {
			q.s3Error(http.StatusBadRequest, "BadDigest", "The "+alg+" you specified did not match the calculated checksum.")
			return
		}
		checksums[alg] = got
	}
	sha := hex.EncodeToString(shaH.Sum(nil))
	if v := h.Get("X-Amz-Content-Sha256"); len(v) == 64 && chunked == nil && !strings.EqualFold(v, sha) {
		q.s3Error(http.StatusBadRequest, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
		return
	}
	meta := map[string]string{}
	for k, v := range h {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-meta-") && len(v) > 0 {
			meta[strings.TrimPrefix(lk, "x-amz-meta-")] = v[0]
		}
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "binary/octet-stream"
	}
	o := &objectRec{Size: n, SHA256: sha, ETag: `"` + hex.EncodeToString(md5Sum) + `"`, LastModified: time.Now().UTC().Truncate(time.Second),
		ContentType: ct, Checksums: checksums}
	if len(meta) > 0 {
		o.Meta = meta
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.st.Buckets[bucket]
	if b == nil { // deleted while the body was read
		q.noSuchBucket(bucket)
		return
	}
	if !cond.check(q, before, b.Objects[key], key) {
		return
	}
	if _, err := os.Stat(c.blobPath(sha)); err != nil {
		if err := os.Rename(tmp.Name(), c.blobPath(sha)); err != nil {
			q.s3Error(http.StatusInternalServerError, "InternalError", "localcloud: "+err.Error())
			return
		}
	}
	old := b.Objects[key]
	b.Objects[key] = o
	if old != nil && old.SHA256 != sha {
		c.gcBlobsLocked(old.SHA256)
	}
	c.commitLocked()
	q.w.Header().Set("ETag", o.ETag)
	q.w.Header().Set("X-Amz-Server-Side-Encryption", "AES256")
	for alg := range sums {
		if h.Get("X-Amz-Checksum-"+alg) != "" || (chunked != nil && chunked.trailers.Get("X-Amz-Checksum-"+alg) != "") {
			q.w.Header().Set("X-Amz-Checksum-"+alg, checksums[alg])
			q.w.Header().Set("X-Amz-Checksum-Type", "FULL_OBJECT")
		}
	}
	q.noContent(http.StatusOK)
}

func (c *Cloud) s3GetObject(q *request, bucket, key string, head bool) {
	c.mu.Lock()
	b := c.st.Buckets[bucket]
	var o *objectRec
	if b != nil {
		o = b.Objects[key]
	}
	var f *os.File
	var err error
	if o != nil {
		// Open under the lock: a concurrent overwrite may remove the blob afterwards, but
		// the open file stays readable.
		f, err = os.Open(c.blobPath(o.SHA256))
	}
	c.mu.Unlock()
	switch {
	case b == nil:
		q.noSuchBucket(bucket)
		return
	case o == nil:
		q.s3Error(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", "Key", key)
		return
	case err != nil:
		q.s3Error(http.StatusInternalServerError, "InternalError", "localcloud: object data lost: "+err.Error())
		return
	}
	defer f.Close()
	hd := q.w.Header()
	hd.Set("ETag", o.ETag)
	hd.Set("Content-Type", o.ContentType)
	hd.Set("Accept-Ranges", "bytes")
	hd.Set("X-Amz-Server-Side-Encryption", "AES256")
	for k, v := range o.Meta {
		hd.Set("X-Amz-Meta-"+k, v)
	}
	if strings.EqualFold(q.r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") && q.r.Header.Get("Range") == "" {
		for alg, v := range o.Checksums {
			hd.Set("X-Amz-Checksum-"+alg, v)
		}
		hd.Set("X-Amz-Checksum-Type", "FULL_OBJECT")
	}
	q.status = http.StatusOK
	if head && q.r.Header.Get("Range") == "" {
		hd.Set("Content-Length", strconv.FormatInt(o.Size, 10))
		hd.Set("Last-Modified", o.LastModified.UTC().Format(http.TimeFormat))
		q.w.WriteHeader(http.StatusOK)
		return
	}
	http.ServeContent(q.w, q.r, "", o.LastModified, f)
}

// gcBlobsLocked removes a blob no object refers to any more. c.mu must be held.
func (c *Cloud) gcBlobsLocked(sha string) {
	for _, b := range c.st.Buckets {
		for _, o := range b.Objects {
			if o.SHA256 == sha {
				return
			}
		}
	}
	_ = os.Remove(c.blobPath(sha))
}

// s3Code reads a function's code from the local S3 for CreateFunction/UpdateFunctionCode,
// answering as Lambda does when it cannot. c.mu must be held.
func (c *Cloud) s3Code(q *request, bucket, key string) ([]byte, bool) {
	fail := func(code, msg string) ([]byte, bool) {
		q.invalidParam("Error occurred while GetObject. S3 Error Code: " + code + ". S3 Error Message: " + msg)
		return nil, false
	}
	if key == "" {
		q.invalidParam("Please provide a source for function code.")
		return nil, false
	}
	b := c.st.Buckets[bucket]
	if b == nil {
		return fail("NoSuchBucket", "The specified bucket does not exist")
	}
	if b.Region != q.region {
		return fail("PermanentRedirect", "The bucket is in this region: "+b.Region+". Please use this region to retry the request")
	}
	o := b.Objects[key]
	if o == nil {
		return fail("NoSuchKey", "The specified key does not exist.")
	}
	data, err := os.ReadFile(c.blobPath(o.SHA256))
	if err != nil {
		q.lambdaError(http.StatusInternalServerError, "ServiceException", "localcloud: read object: "+err.Error())
		return nil, false
	}
	return data, true
}

// s3Sorted is the bucket names, sorted (for Resources).
func (c *Cloud) s3Sorted() []*bucketRec {
	out := make([]*bucketRec, 0, len(c.st.Buckets))
	for _, b := range c.st.Buckets {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// putCondition is PutObject's conditional write (S3 supports both headers since 2024):
// If-None-Match: * writes only when the key is absent; If-Match: <ETag> only when the
// object is there with that ETag.
type putCondition struct {
	ifNoneMatch bool
	ifMatch     string
}

func parsePutCondition(h http.Header) (putCondition, string) {
	var pc putCondition
	if v := h.Get("If-None-Match"); v != "" {
		if strings.TrimSpace(v) != "*" {
			return pc, "If-None-Match"
		}
		pc.ifNoneMatch = true
	}
	pc.ifMatch = strings.TrimSpace(h.Get("If-Match"))
	return pc, ""
}

// readPutCondition reads the headers; false = answered (If-None-Match other than *).
func readPutCondition(q *request) (putCondition, bool) {
	pc, bad := parsePutCondition(q.r.Header)
	if bad != "" {
		q.s3Error(http.StatusNotImplemented, "NotImplemented", "A header you provided implies functionality that is not implemented", "Header", bad)
		return pc, false
	}
	return pc, true
}

func (pc putCondition) holds(o *objectRec) bool {
	if pc.ifNoneMatch && o != nil {
		return false
	}
	if pc.ifMatch != "" && (o == nil || strings.Trim(o.ETag, `"`) != strings.Trim(pc.ifMatch, `"`)) {
		return false
	}
	return true
}

// check decides at commit time (c.mu held), answering as S3 does when the condition fails:
// 409 ConditionalRequestConflict when it held on arrival and another write or delete of the
// key got in while this body was read, 404 NoSuchKey for If-Match on a missing key, else
// 412 PreconditionFailed.
func (pc putCondition) check(q *request, before, now *objectRec, key string) bool {
	if pc.holds(now) {
		return true
	}
	switch {
	case pc.holds(before) && before != now:
		q.s3Error(http.StatusConflict, "ConditionalRequestConflict", "A conflicting conditional operation is currently in progress against this resource. Please try again.", "Key", key)
	case pc.ifMatch != "" && now == nil:
		q.s3Error(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", "Key", key)
	default:
		cond := "If-Match"
		if pc.ifNoneMatch {
			cond = "If-None-Match"
		}
		q.s3Error(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", "Condition", cond)
	}
	return false
}
