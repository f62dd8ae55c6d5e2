package stack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"sync"
	"syscall"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/s3api"
)

// The stack lock: one object in the stack's bucket, written with S3's conditional writes so
// that two deploys (destroys, rollbacks) of one stack never change it at the same time.
//
//   - take:      PutObject If-None-Match: *  (412/409 = someone holds it)
//   - renew:     PutObject If-Match: <our ETag>, every lockTTL/4, moving the expiry on
//   - take over: PutObject If-Match: <the stale lock's ETag>, only when it has expired (or
//     its holder is a process of this host that no longer runs); two takers cannot both win
//   - release:   DeleteObject, after checking the ETag is still ours
const LockKey = "rudderctl/stack.lock"

// Lock timing; tests shorten LockWait.
var (
	lockTTL      = 10 * time.Minute // a holder that stops renewing loses the lock after this
	LockWait     = 3 * time.Minute  // how long a second deploy waits before it gives up
	lockPoll     = 2 * time.Second
	lockProgress = 15 * time.Second // how often a waiting deploy says it is still waiting
)

// LockRecord is the lock object's content: who holds it, since when, until when.
type LockRecord struct {
	Stack     string    `json:"stack"`
	Operation string    `json:"operation"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	User      string    `json:"user,omitempty"`
	Token     string    `json:"token"`
	Since     time.Time `json:"since"`
	Expires   time.Time `json:"expires"`
}

// Holder says who holds the lock, since when, until when.
func (r LockRecord) Holder() string {
	who := fmt.Sprintf("%s on host %s (pid %d", r.Operation, r.Host, r.PID)
	if r.User != "" {
		who += ", user " + r.User
	}
	return who + fmt.Sprintf(") since %s, expiring %s unless renewed", r.Since.UTC().Format(time.RFC3339), r.Expires.UTC().Format(time.RFC3339))
}

// Stale reports whether the lock may be taken over: expired, or held by a process of this
// host that is gone (a deploy killed here and run again need not wait for the expiry).
func (r LockRecord) Stale(now time.Time, host string) bool {
	if now.After(r.Expires) {
		return true
	}
	return r.Host == host && r.PID > 0 && !processAlive(r.PID)
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// LockHeldError says another run holds the stack and did not finish in time.
type LockHeldError struct {
	Stack  string
	Holder LockRecord
	Waited time.Duration
}

func (e *LockHeldError) Error() string {
	return fmt.Sprintf("stack %q is locked: %s, and it did not finish within %s; nothing was changed. Run again once it is done (`rudderctl status --stack %s`); a lock whose holder died is taken over once it expires",
		e.Stack, e.Holder.Holder(), e.Waited.Round(time.Second), e.Stack)
}

// Lock is a held stack lock.
type Lock struct {
	c      *awsapi.Session
	bucket string
	rec    LockRecord
	mu     sync.Mutex
	etag   string
	lost   error
	stop   chan struct{}
	done   chan struct{}
}

func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// AcquireLock takes the stack lock in bucket (which must exist), waiting up to LockWait
// while another run holds it, and taking over a stale one.
func AcquireLock(ctx context.Context, c *awsapi.Session, bucket, stack, operation string, progress io.Writer) (*Lock, error) {
	host, _ := os.Hostname()
	rec := LockRecord{Stack: stack, Operation: operation, Host: host, PID: os.Getpid(), Token: newToken()}
	if u, err := user.Current(); err == nil {
		rec.User = u.Username
	}
	l := &Lock{c: c, bucket: bucket, rec: rec}
	start := time.Now()
	var lastSaid time.Time
	lastHolder := ""
	for {
		ok, err := l.put(ctx, "", true)
		if err != nil {
			return nil, err
		}
		if ok {
			break
		}
		cur, etag, err := ReadLock(ctx, c, bucket)
		if err != nil {
			return nil, err
		}
		switch {
		case etag == "": // released meanwhile: try again at once
			continue
		case cur == nil || cur.Stale(time.Now(), host):
			what := "an unreadable lock"
			if cur != nil {
				what = "the stale lock of " + cur.Holder()
			}
			ok, err := l.put(ctx, etag, false)
			if err != nil {
				return nil, err
			}
			if ok {
				fmt.Fprintf(progress, "took over %s\n", what)
				l.startRenewing()
				return l, nil
			}
			continue // someone else took it over first
		}
		if waited := time.Since(start); waited >= LockWait {
			return nil, &LockHeldError{Stack: stack, Holder: *cur, Waited: waited}
		}
		if h := cur.Holder(); h != lastHolder || time.Since(lastSaid) >= lockProgress {
			fmt.Fprintf(progress, "waiting for the stack lock: held by %s (waited %s of at most %s)\n", h, time.Since(start).Round(time.Second), LockWait)
			lastHolder, lastSaid = h, time.Now()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
	l.startRenewing()
	return l, nil
}

// put writes the lock record: create-only (ifNoneMatch) or replacing the object with ETag
// ifMatch. false = the condition failed (someone else holds or changed it).
func (l *Lock) put(ctx context.Context, ifMatch string, ifNoneMatch bool) (bool, error) {
	l.mu.Lock()
	rec := l.rec
	l.mu.Unlock()
	now := time.Now().UTC()
	if rec.Since.IsZero() || ifNoneMatch || ifMatch != l.etag {
		rec.Since = now
	}
	rec.Expires = now.Add(lockTTL)
	body, _ := json.Marshal(rec)
	etag, err := l.c.S3().PutObject(ctx, s3api.Object{Bucket: l.bucket, Key: LockKey, Body: bytes.NewReader(body),
		Length: int64(len(body)), ContentType: "application/json", IfNoneMatch: ifNoneMatch, IfMatch: ifMatch})
	if errors.Is(err, awsapi.ErrPreconditionFailed) { // NoSuchKey too: the lock we replace is gone
		return false, nil
	}
	if err != nil {
		return false, awsapi.Explain("take the stack lock s3://"+l.bucket+"/"+LockKey, err)
	}
	l.mu.Lock()
	l.rec, l.etag = rec, etag
	l.mu.Unlock()
	return true, nil
}

// ReadLock reads the lock; etag "" = there is none.
func ReadLock(ctx context.Context, c *awsapi.Session, bucket string) (*LockRecord, string, error) {
	b, etag, err := c.S3().GetObject(ctx, bucket, LockKey, 64<<10)
	if errors.Is(err, awsapi.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", awsapi.Explain("read the stack lock s3://"+bucket+"/"+LockKey, err)
	}
	var rec LockRecord
	if json.Unmarshal(b, &rec) != nil || rec.Expires.IsZero() {
		return nil, etag, nil
	}
	return &rec, etag, nil
}

// startRenewing moves the expiry on while the lock is held, so a long deploy keeps it and a
// dead one loses it after lockTTL.
func (l *Lock) startRenewing() {
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(l.done)
		t := time.NewTicker(lockTTL / 4)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
				l.mu.Lock()
				etag := l.etag
				l.mu.Unlock()
				ctx, cancel := context.WithTimeout(context.Background(), lockTTL/4)
				ok, err := l.put(ctx, etag, false)
				cancel()
				if err == nil && !ok {
					err = errors.New("another run took the lock over (this one looked dead to it)")
				}
				if err != nil {
					l.mu.Lock()
					l.lost = err
					l.mu.Unlock()
				}
			}
		}
	}()
}

// Release stops renewing and deletes the lock if it is still ours. A failure is reported,
// not fatal: the lock then expires after lockTTL.
func (l *Lock) Release(ctx context.Context, progress io.Writer) {
	if l.stop != nil {
		close(l.stop)
		<-l.done
		l.stop = nil
	}
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if err = l.deleteIfOurs(ctx); err == nil {
			return
		}
	}
	fmt.Fprintf(progress, "warning: could not release the stack lock s3://%s/%s (%v); it expires by itself within %s\n", l.bucket, LockKey, err, lockTTL)
}

func (l *Lock) deleteIfOurs(ctx context.Context) error {
	_, etag, err := ReadLock(ctx, l.c, l.bucket)
	if err != nil || etag == "" {
		return err
	}
	l.mu.Lock()
	ours := etag == l.etag
	l.mu.Unlock()
	if !ours {
		return nil // taken over: not ours to delete
	}
	err = l.c.S3().DeleteObject(ctx, l.bucket, LockKey)
	if errors.Is(err, awsapi.ErrNotFound) {
		return nil
	}
	return err
}
