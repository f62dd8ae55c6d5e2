package standin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// router delivers router jobs to their webhooks with rudder-server's rules
// (router/handle_lifecycle.go): 2xx succeeded; other 2xx-4xx aborted except 408 and 429;
// >= 500, 408, 429 and connection errors failed and retried with backoff (min..max, doubling),
// aborted only when both maxFailedCountForJob and retryTimeWindow are exceeded. Order per
// destination and user is kept: a later job waits while an earlier one of the same user is
// failing (rudder-server's barrier).
type router struct {
	cfg    Config
	db     *pgxpool.Pool
	client *http.Client
	log    *slog.Logger
	floor  int64 // every router job up to this id is terminal: later scans start above it
}

const routerLoopJobs = 1000

// restRequest is the transformer's output for a REST destination.
type restRequest struct {
	Method   string         `json:"method"`
	Endpoint string         `json:"endpoint"`
	Headers  map[string]any `json:"headers"`
	Params   map[string]any `json:"params"`
	Body     map[string]any `json:"body"`
	Files    map[string]any `json:"files"`
}

// round delivers what is due; it returns how many jobs it attempted.
func (r *router) round(ctx context.Context) (int, error) {
	jobs, err := r.scan(ctx)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	var order []string
	perKey := map[string][]job{}
	blocked := map[string]bool{}
	for _, j := range jobs {
		dest, _ := j.Parameters["destination_id"].(string)
		key := dest + "\x00" + j.UserID
		if blocked[key] {
			continue
		}
		if j.State == "failed" && j.RetryTime.After(now) {
			blocked[key] = true // not due yet: later jobs of this user wait behind it
			continue
		}
		if _, seen := perKey[key]; !seen {
			order = append(order, key)
		}
		perKey[key] = append(perKey[key], j)
	}
	var (
		mu       sync.Mutex
		statuses []status
		wg       sync.WaitGroup
		sem      = make(chan struct{}, r.cfg.RouterWorkers)
	)
	for _, key := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func(list []job) {
			defer func() { <-sem; wg.Done() }()
			for _, j := range list {
				s := r.deliver(ctx, j)
				mu.Lock()
				statuses = append(statuses, s)
				mu.Unlock()
				if s.State == "failed" {
					return // the barrier: the rest of this user's jobs wait
				}
			}
		}(perKey[key])
	}
	wg.Wait()
	if len(statuses) == 0 {
		return 0, nil
	}
	// Deliveries happened: their statuses are stored even when the node is stopping.
	storeCtx := context.WithoutCancel(ctx)
	err = pgx.BeginFunc(storeCtx, r.db, func(tx pgx.Tx) error {
		return insertStatuses(storeCtx, tx, rtStatus, statuses)
	})
	if err != nil {
		return 0, fmt.Errorf("storing delivery statuses: %w", err)
	}
	return len(statuses), nil
}

// scan reads the pending jobs above floor and moves floor up to just below the first pending
// job (or to the highest job when none is pending), in one snapshot so that a job committed
// meanwhile is not stepped over. The processor commits router jobs in id order.
func (r *router) scan(ctx context.Context) ([]job, error) {
	var jobs []job
	var maxID int64
	err := pgx.BeginTxFunc(ctx, r.db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if jobs, err = pendingJobs(ctx, tx, rtJobs, rtStatus, r.floor, routerLoopJobs); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT COALESCE(max(job_id), 0) FROM `+rtJobs).Scan(&maxID)
	})
	if err != nil {
		return nil, err
	}
	if len(jobs) > 0 {
		r.floor = jobs[0].ID - 1
	} else {
		r.floor = max(r.floor, maxID)
	}
	return jobs, nil
}

// deliver sends one job and returns its new status.
func (r *router) deliver(ctx context.Context, j job) status {
	attempt := j.Attempt + 1
	code, body, err := r.send(ctx, j)
	st := status{JobID: j.ID, Attempt: attempt, ErrorCode: strconv.Itoa(code), Response: truncate(body, 500)}
	switch {
	case err == nil && code >= 200 && code < 300:
		st.State = "succeeded"
	case err == nil && !retryable(code):
		st.State = "aborted"
		r.log.Warn("destination refused a job: aborted", "job", j.ID, "status", code)
	default:
		if err != nil {
			st.Response = err.Error()
		}
		first := j.FirstTry
		if first.Before(time.Unix(1, 0)) {
			first = time.Now()
		}
		if attempt >= r.cfg.RouterMaxFailedCount && time.Since(first) > r.cfg.RouterRetryTimeWindow {
			st.State = "aborted"
			r.log.Error("job failed past the retry window: aborted", "job", j.ID, "attempts", attempt)
			break
		}
		st.State = "failed"
		st.RetryTime = time.Now().Add(r.backoff(attempt))
	}
	return st
}

func (r *router) backoff(attempt int) time.Duration {
	d := r.cfg.RouterMinBackoff
	for i := 1; i < attempt && d < r.cfg.RouterMaxBackoff; i++ {
		d *= 2
	}
	return min(d, r.cfg.RouterMaxBackoff)
}

// send makes the REST request of the transformer's output, with X-Rudder-Instance set to
// INSTANCE_ID so one can tell which node delivered.
func (r *router) send(ctx context.Context, j job) (int, string, error) {
	var out restRequest
	if err := json.Unmarshal(j.Payload, &out); err != nil || out.Endpoint == "" {
		return 400, "the router job is not a REST request", nil
	}
	target, err := url.Parse(out.Endpoint)
	if err != nil {
		return 400, "invalid endpoint", nil
	}
	q := target.Query()
	for k, v := range out.Params {
		q.Set(k, fmt.Sprint(v))
	}
	target.RawQuery = q.Encode()
	var body io.Reader
	contentType := ""
	if js, ok := out.Body["JSON"].(map[string]any); ok && len(js) > 0 {
		b, _ := json.Marshal(js)
		body, contentType = bytes.NewReader(b), "application/json"
	} else if form, ok := out.Body["FORM"].(map[string]any); ok && len(form) > 0 {
		v := url.Values{}
		for k, x := range form {
			v.Set(k, fmt.Sprint(x))
		}
		body, contentType = bytes.NewBufferString(v.Encode()), "application/x-www-form-urlencoded"
	}
	method := out.Method
	if method == "" {
		method = http.MethodPost
	}
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(tctx, method, target.String(), body)
	if err != nil {
		return 400, "invalid request", nil
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range out.Headers {
		req.Header.Set(k, fmt.Sprint(v))
	}
	req.Header.Set("X-Rudder-Instance", r.cfg.InstanceID)
	req.Header.Set("User-Agent", "RudderLabs")
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, "", redact(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b), nil
}
