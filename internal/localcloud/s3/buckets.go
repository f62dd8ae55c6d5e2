package s3

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

const (
	ns            = "http://s3.amazonaws.com/doc/2006-03-01/"
	ownerID       = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"
	defaultRegion = "us-east-1"
)

func headBucket(q *core.Request, b *bucketRec) {
	q.W.Header().Set("X-Amz-Bucket-Region", b.Region)
	q.W.Header().Set("X-Amz-Bucket-Arn", b.arn())
	q.NoContent(http.StatusOK)
}

func getBucketLocation(q *core.Request, b *bucketRec) {
	loc := b.Region
	if loc == defaultRegion {
		loc = ""
	}
	q.RestXML(http.StatusOK, struct {
		XMLName xml.Name `xml:"LocationConstraint"`
		NS      string   `xml:"xmlns,attr"`
		Value   string   `xml:",chardata"`
	}{NS: ns, Value: loc})
}

func (r *Room) deleteBucket(q *core.Request, b *bucketRec) {
	if len(b.Objects) > 0 {
		q.RestXMLError(http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty", "BucketName", b.Name)
		return
	}
	delete(r.st.Buckets, b.Name)
	r.commitLocked()
	q.NoContent(http.StatusNoContent)
}

func getBucketTagging(q *core.Request, b *bucketRec) {
	if len(b.Tags) == 0 {
		q.RestXMLError(http.StatusNotFound, "NoSuchTagSet", "The TagSet does not exist", "BucketName", b.Name)
		return
	}
	var out tagging
	out.NS = ns
	for _, k := range core.SortedKeys(b.Tags) {
		out.TagSet = append(out.TagSet, s3Tag{Key: k, Value: b.Tags[k]})
	}
	q.RestXML(http.StatusOK, out)
}

func (r *Room) deleteBucketTagging(q *core.Request, b *bucketRec) {
	b.Tags = nil
	r.commitLocked()
	q.NoContent(http.StatusNoContent)
}

func (r *Room) deleteObject(q *core.Request, b *bucketRec) {
	if old := b.Objects[q.Args[1]]; old != nil {
		delete(b.Objects, q.Args[1])
		r.gcBlobsLocked(old.SHA256)
		r.commitLocked()
	}
	q.NoContent(http.StatusNoContent)
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

func (r *Room) createBucket(q *core.Request, body []byte) {
	name := q.Args[0]
	if !validBucketName(name) {
		q.RestXMLError(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.", "BucketName", name)
		return
	}
	var cfg struct {
		LocationConstraint string `xml:"LocationConstraint"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := xml.Unmarshal(body, &cfg); err != nil {
			q.RestXMLError(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
			return
		}
	}
	region := cfg.LocationConstraint
	switch {
	case region == defaultRegion:
		q.RestXMLError(http.StatusBadRequest, "InvalidLocationConstraint", "The specified location-constraint is not valid", "LocationConstraint", region)
		return
	case region == "" && q.Region != defaultRegion:
		q.RestXMLError(http.StatusBadRequest, "IllegalLocationConstraintException", "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.")
		return
	case region != "" && q.Region != defaultRegion && region != q.Region:
		q.RestXMLError(http.StatusBadRequest, "IllegalLocationConstraintException", "The "+region+" location constraint is incompatible for the region specific endpoint this request was sent to.")
		return
	case region == "":
		region = defaultRegion
	}
	if b := r.st.Buckets[name]; b != nil {
		// us-east-1 answers a create of a bucket you own with success (legacy behaviour).
		if b.Region == defaultRegion && region == defaultRegion {
			q.W.Header().Set("Location", "/"+name)
			q.NoContent(http.StatusOK)
			return
		}
		q.RestXMLError(http.StatusConflict, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.", "BucketName", name)
		return
	}
	r.st.Buckets[name] = &bucketRec{Name: name, Region: region, Created: time.Now().UTC(), Objects: map[string]*objectRec{}}
	r.commitLocked()
	q.W.Header().Set("Location", "/"+name)
	q.NoContent(http.StatusOK)
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

func (r *Room) putBucketTagging(q *core.Request, b *bucketRec, body []byte) {
	var in tagging
	if err := xml.Unmarshal(body, &in); err != nil {
		q.RestXMLError(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
		return
	}
	if len(in.TagSet) > 50 {
		q.RestXMLError(http.StatusBadRequest, "InvalidTag", "Object tags cannot be greater than 50")
		return
	}
	tags := map[string]string{}
	for _, t := range in.TagSet {
		switch {
		case t.Key == "" || len(t.Key) > 128:
			q.RestXMLError(http.StatusBadRequest, "InvalidTag", "The TagKey you have provided is invalid")
			return
		case len(t.Value) > 256:
			q.RestXMLError(http.StatusBadRequest, "InvalidTag", "The TagValue you have provided is invalid")
			return
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			q.RestXMLError(http.StatusBadRequest, "InvalidTag", "System tags cannot be added/updated by requester")
			return
		}
		if _, dup := tags[t.Key]; dup {
			q.RestXMLError(http.StatusBadRequest, "InvalidTag", "Cannot provide multiple Tags with the same key")
			return
		}
		tags[t.Key] = t.Value
	}
	b.Tags = tags
	r.commitLocked()
	q.NoContent(http.StatusNoContent)
}

func (r *Room) listBuckets(q *core.Request) {
	qs := q.R.URL.Query()
	prefix := qs.Get("prefix")
	max := 10000
	if v := qs.Get("max-buckets"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			q.RestXMLError(http.StatusBadRequest, "InvalidArgument", "max-buckets must be between 1 and 10000")
			return
		}
		max = n
	}
	after := qs.Get("continuation-token")
	if after != "" {
		b, err := base64.RawURLEncoding.DecodeString(after)
		if err != nil {
			q.RestXMLError(http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect")
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
	}{NS: ns, OwnerID: ownerID, OwnerName: "localcloud", Prefix: prefix}
	names := core.SortedKeys(r.st.Buckets)
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) || (after != "" && n <= after) {
			continue
		}
		if len(out.Buckets.Bucket) == max {
			out.ContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(out.Buckets.Bucket[len(out.Buckets.Bucket)-1].Name))
			break
		}
		b := r.st.Buckets[n]
		out.Buckets.Bucket = append(out.Buckets.Bucket, bucketXML{Name: n, CreationDate: s3Time(b.Created), BucketRegion: b.Region, BucketArn: b.arn()})
	}
	q.RestXML(http.StatusOK, out)
}

func s3Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func listObjectsV2(q *core.Request, b *bucketRec) {
	qs := q.R.URL.Query()
	prefix, delim, startAfter := qs.Get("prefix"), qs.Get("delimiter"), qs.Get("start-after")
	encode := qs.Get("encoding-type") == "url"
	if e := qs.Get("encoding-type"); e != "" && e != "url" {
		q.RestXMLError(http.StatusBadRequest, "InvalidArgument", "Invalid Encoding Method specified in Request")
		return
	}
	max := 1000
	if v := qs.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			q.RestXMLError(http.StatusBadRequest, "InvalidArgument", "Provided max-keys not an integer or within integer range")
			return
		}
		max = min(n, 1000)
	}
	after := startAfter
	token := qs.Get("continuation-token")
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			q.RestXMLError(http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect")
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
	}{NS: ns, Name: b.Name, Prefix: enc(prefix), Delimiter: enc(delim), MaxKeys: max, ContinuationToken: token, StartAfter: enc(startAfter)}
	if encode {
		out.EncodingType = "url"
	}
	seenPrefix := map[string]bool{}
	last := ""
	for _, k := range core.SortedKeys(b.Objects) {
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
	q.RestXML(http.StatusOK, out)
}
