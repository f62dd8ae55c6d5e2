package s3

import (
	"bufio"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// maxObjectBytes is a single PutObject's limit: 5 GiB.
const maxObjectBytes = 5 << 30

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

func (r *Room) putObject(q *core.Request) {
	bucket, key := q.Args[0], q.Args[1]
	cond, ok := readPutCondition(q)
	if !ok {
		return
	}
	r.mu.Lock()
	exists := r.st.Buckets[bucket] != nil
	var before *objectRec // the object when the request arrived, for 409 vs 412
	if exists {
		before = r.st.Buckets[bucket].Objects[key]
	}
	r.mu.Unlock()
	if !exists {
		noSuchBucket(q, bucket)
		return
	}
	if len(key) > 1024 {
		q.RestXMLError(http.StatusBadRequest, "KeyTooLongError", "Your key is too long")
		return
	}
	up, ok := r.receive(q)
	if up != nil {
		defer os.Remove(up.tmp)
	}
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.st.Buckets[bucket]
	if b == nil { // deleted while the body was read
		noSuchBucket(q, bucket)
		return
	}
	if !cond.check(q, before, b.Objects[key], key) {
		return
	}
	if _, err := os.Stat(r.blobPath(up.sha)); err != nil {
		if err := os.Rename(up.tmp, r.blobPath(up.sha)); err != nil {
			q.RestXMLError(http.StatusInternalServerError, "InternalError", "localcloud: "+err.Error())
			return
		}
	}
	o := up.object(q.R.Header)
	old := b.Objects[key]
	b.Objects[key] = o
	if old != nil && old.SHA256 != up.sha {
		r.gcBlobsLocked(old.SHA256)
	}
	r.commitLocked()
	q.W.Header().Set("ETag", o.ETag)
	q.W.Header().Set("X-Amz-Server-Side-Encryption", "AES256")
	for _, alg := range up.echo {
		q.W.Header().Set("X-Amz-Checksum-"+alg, up.checksums[alg])
		q.W.Header().Set("X-Amz-Checksum-Type", "FULL_OBJECT")
	}
	q.NoContent(http.StatusOK)
}

// upload is a PutObject body received into a temporary file of the blob store.
type upload struct {
	tmp       string
	size      int64
	sha       string            // hex SHA-256: the blob's name
	md5       []byte            // the ETag
	checksums map[string]string // algorithm -> base64
	echo      []string          // the checksums the client sent, answered back
}

// receive reads the body (plain or aws-chunked) into a temporary blob, checking its length
// and every digest the client sent. false = answered; a non-nil upload's tmp must be removed.
func (r *Room) receive(q *core.Request) (*upload, bool) {
	h := q.R.Header
	var body io.Reader = q.R.Body
	var chunked *awsChunkedReader
	if strings.Contains(h.Get("Content-Encoding"), "aws-chunked") || strings.HasPrefix(h.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		chunked = &awsChunkedReader{r: bufio.NewReaderSize(q.R.Body, 64<<10), trailers: http.Header{}}
		body = chunked
	}
	if q.R.ContentLength > maxObjectBytes {
		q.RestXMLError(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
		return nil, false
	}
	if err := os.MkdirAll(r.cloud.Path("s3"), 0o755); err != nil {
		q.RestXMLError(http.StatusInternalServerError, "InternalError", "localcloud: "+err.Error())
		return nil, false
	}
	tmp, err := os.CreateTemp(r.cloud.Path("s3"), ".tmp-*")
	if err != nil {
		q.RestXMLError(http.StatusInternalServerError, "InternalError", "localcloud: "+err.Error())
		return nil, false
	}
	up := &upload{tmp: tmp.Name()}
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
		q.RestXMLError(http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
		return up, false
	}
	if n > maxObjectBytes {
		q.RestXMLError(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
		return up, false
	}
	if dl := h.Get("X-Amz-Decoded-Content-Length"); chunked != nil && dl != "" && dl != strconv.FormatInt(n, 10) {
		q.RestXMLError(http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
		return up, false
	}
	up.size, up.md5 = n, md5H.Sum(nil)
	if want := h.Get("Content-Md5"); want != "" && want != base64.StdEncoding.EncodeToString(up.md5) {
		q.RestXMLError(http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.")
		return up, false
	}
	up.checksums = map[string]string{}
	for alg, s := range sums {
		got := base64.StdEncoding.EncodeToString(s.Sum(nil))
		want := h.Get("X-Amz-Checksum-" + alg)
		if chunked != nil && want == "" {
			want = chunked.trailers.Get("X-Amz-Checksum-" + alg)
		}
		if want != "" && want != got {
			q.RestXMLError(http.StatusBadRequest, "BadDigest", "The "+alg+" you specified did not match the calculated checksum.")
			return up, false
		}
		up.checksums[alg] = got
		if want != "" {
			up.echo = append(up.echo, alg)
		}
	}
	up.sha = hex.EncodeToString(shaH.Sum(nil))
	if v := h.Get("X-Amz-Content-Sha256"); len(v) == 64 && chunked == nil && !strings.EqualFold(v, up.sha) {
		q.RestXMLError(http.StatusBadRequest, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
		return up, false
	}
	return up, true
}

// object is the metadata of the received object (Content-Type, x-amz-meta-*).
func (up *upload) object(h http.Header) *objectRec {
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
	o := &objectRec{Size: up.size, SHA256: up.sha, ETag: `"` + hex.EncodeToString(up.md5) + `"`, LastModified: time.Now().UTC().Truncate(time.Second),
		ContentType: ct, Checksums: up.checksums}
	if len(meta) > 0 {
		o.Meta = meta
	}
	return o
}

func (r *Room) getObject(q *core.Request, head bool) {
	bucket, key := q.Args[0], q.Args[1]
	r.mu.Lock()
	b := r.st.Buckets[bucket]
	var o *objectRec
	if b != nil {
		o = b.Objects[key]
	}
	var f *os.File
	var err error
	if o != nil {
		// Open under the lock: a concurrent overwrite may remove the blob afterwards, but
		// the open file stays readable.
		f, err = os.Open(r.blobPath(o.SHA256))
	}
	r.mu.Unlock()
	switch {
	case b == nil:
		noSuchBucket(q, bucket)
		return
	case o == nil:
		q.RestXMLError(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", "Key", key)
		return
	case err != nil:
		q.RestXMLError(http.StatusInternalServerError, "InternalError", "localcloud: object data lost: "+err.Error())
		return
	}
	defer f.Close()
	hd := q.W.Header()
	hd.Set("ETag", o.ETag)
	hd.Set("Content-Type", o.ContentType)
	hd.Set("Accept-Ranges", "bytes")
	hd.Set("X-Amz-Server-Side-Encryption", "AES256")
	for k, v := range o.Meta {
		hd.Set("X-Amz-Meta-"+k, v)
	}
	if strings.EqualFold(q.R.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") && q.R.Header.Get("Range") == "" {
		for alg, v := range o.Checksums {
			hd.Set("X-Amz-Checksum-"+alg, v)
		}
		hd.Set("X-Amz-Checksum-Type", "FULL_OBJECT")
	}
	q.Status = http.StatusOK
	if head && q.R.Header.Get("Range") == "" {
		hd.Set("Content-Length", strconv.FormatInt(o.Size, 10))
		hd.Set("Last-Modified", o.LastModified.UTC().Format(http.TimeFormat))
		q.W.WriteHeader(http.StatusOK)
		return
	}
	http.ServeContent(q.W, q.R, "", o.LastModified, f)
}

// gcBlobsLocked removes a blob no object refers to any more. r.mu must be held.
func (r *Room) gcBlobsLocked(sha string) {
	for _, b := range r.st.Buckets {
		for _, o := range b.Objects {
			if o.SHA256 == sha {
				return
			}
		}
	}
	_ = os.Remove(r.blobPath(sha))
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
func readPutCondition(q *core.Request) (putCondition, bool) {
	pc, bad := parsePutCondition(q.R.Header)
	if bad != "" {
		q.RestXMLError(http.StatusNotImplemented, "NotImplemented", "A header you provided implies functionality that is not implemented", "Header", bad)
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

// check decides at commit time (r.mu held), answering as S3 does when the condition fails:
// 409 ConditionalRequestConflict when it held on arrival and another write or delete of the
// key got in while this body was read, 404 NoSuchKey for If-Match on a missing key, else
// 412 PreconditionFailed.
func (pc putCondition) check(q *core.Request, before, now *objectRec, key string) bool {
	if pc.holds(now) {
		return true
	}
	switch {
	case pc.holds(before) && before != now:
		q.RestXMLError(http.StatusConflict, "ConditionalRequestConflict", "A conflicting conditional operation is currently in progress against this resource. Please try again.", "Key", key)
	case pc.ifMatch != "" && now == nil:
		q.RestXMLError(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", "Key", key)
	default:
		cond := "If-Match"
		if pc.ifNoneMatch {
			cond = "If-None-Match"
		}
		q.RestXMLError(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", "Condition", cond)
	}
	return false
}
