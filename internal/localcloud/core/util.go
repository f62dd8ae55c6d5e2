package core

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"sort"
	"strconv"
	"time"
)

// NewRequestID is a random UUID, as AWS request ids look.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// RandomID is n random lower-case letters and digits (API, route, integration ids).
func RandomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// ErrTooLarge is returned by ReadLimited for a body over its limit.
var ErrTooLarge = errors.New("too large")

// ReadLimited reads at most max bytes; more is ErrTooLarge.
func ReadLimited(r io.Reader, max int) ([]byte, error) {
	return ReadSized(r, -1, max)
}

// ReadSized is ReadLimited into a buffer sized once when the length is known (Content-Length),
// instead of growing (and copying) it a dozen times for a large body.
func ReadSized(r io.Reader, size int64, max int) ([]byte, error) {
	if size >= 0 && size <= int64(max) {
		b := make([]byte, size, size+1)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		var extra [1]byte // a body longer than announced is an error of the client's
		if n, _ := r.Read(extra[:]); n > 0 {
			return nil, errors.New("request body longer than its Content-Length")
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > max {
		return nil, ErrTooLarge
	}
	return b, nil
}

// SortedKeys is the keys of a map, sorted.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CopyMap is a copy of a string map (never nil).
func CopyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// PageIndex pages a list by a numeric marker.
func PageIndex(n int, marker, maxItems string, def int) (start, end int, next string) {
	max, _ := strconv.Atoi(maxItems)
	if max <= 0 || max > def {
		max = def
	}
	if marker != "" {
		start, _ = strconv.Atoi(marker)
		if start < 0 || start > n {
			start = n
		}
	}
	end = min(start+max, n)
	if end < n {
		next = strconv.Itoa(end)
	}
	return start, end, next
}

// IsoTime is a time as IAM writes it.
func IsoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
