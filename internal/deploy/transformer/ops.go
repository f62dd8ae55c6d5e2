package transformer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/logsapi"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// Status is what exists for a stack. It never holds the secret.
type Status struct {
	Stack      string          `json:"stack"`
	Region     string          `json:"region"`
	Deployed   bool            `json:"deployed"`
	Role       *StatusItem     `json:"role"`
	LogGroup   *StatusItem     `json:"log_group"`
	Function   *FunctionStatus `json:"function"`
	API        *APIStatus      `json:"api"`
	Permission bool            `json:"permission"`
	Bucket     *StatusItem     `json:"bucket,omitempty"` // the stack's bucket (lock, zips over 50 MB), when there is one
	Lock       string          `json:"lock,omitempty"`   // who holds the stack lock, when someone does
	Endpoint   string          `json:"endpoint,omitempty"`
	Problems   []string        `json:"problems"`
}

type StatusItem struct {
	Name   string `json:"name"`
	ARN    string `json:"arn,omitempty"`
	Detail string `json:"detail,omitempty"`
}

type FunctionStatus struct {
	Name         string   `json:"name"`
	ARN          string   `json:"arn"`
	State        string   `json:"state"`
	LastUpdate   string   `json:"last_update"`
	Runtime      string   `json:"runtime"`
	Arch         string   `json:"arch"`
	Memory       int32    `json:"memory"`
	Timeout      int32    `json:"timeout"`
	CodeSha256   string   `json:"code_sha256"`
	Versions     []string `json:"versions"`
	AliasVersion string   `json:"alias_version,omitempty"`
}

type APIStatus struct {
	ID           string `json:"id"`
	Endpoint     string `json:"endpoint"`
	Routes       int    `json:"routes"`
	Integrations int    `json:"integrations"`
	Stage        bool   `json:"stage"`
	Duplicates   int    `json:"duplicates,omitempty"`
}

// GetStatus observes the stack (read-only).
func GetStatus(ctx context.Context, c *awsapi.Session, stackName, region string) (*Status, error) {
	n := NamesFor(stackName)
	o, err := Observe(ctx, c, n)
	if err != nil {
		return nil, err
	}
	s := &Status{Stack: stackName, Region: region, Problems: []string{}}
	if o.Role != nil {
		s.Role = &StatusItem{Name: n.Role, ARN: o.Role.ARN}
		if o.Role.Policy == "" {
			s.Problems = append(s.Problems, "the role has no "+PolicyName+" policy (the function cannot write logs)")
		}
	}
	if o.Logs != nil {
		s.LogGroup = &StatusItem{Name: n.LogGroup, ARN: o.Logs.ARN, Detail: fmt.Sprintf("retention %d days", o.Logs.Retention)}
	}
	if f := o.Func; f != nil {
		fs := &FunctionStatus{Name: n.Function, ARN: f.ARN, State: f.State, LastUpdate: f.LastUpdate, Runtime: f.Config.Runtime,
			Arch: f.Config.Arch, Memory: f.Config.Memory, Timeout: f.Config.Timeout, CodeSha256: f.CodeSha256, Versions: []string{}}
		for _, v := range o.Versions {
			fs.Versions = append(fs.Versions, v.Number)
		}
		if o.Alias != nil {
			fs.AliasVersion = o.Alias.Version
		} else {
			s.Problems = append(s.Problems, "no alias "+AliasName+" (the API has nothing to invoke)")
		}
		if f.State != "Active" {
			s.Problems = append(s.Problems, "function state "+f.State)
		}
		if f.OtherStack != "" {
			s.Problems = append(s.Problems, "the function belongs to stack "+f.OtherStack)
		}
		s.Function = fs
	}
	if len(o.APIs) > 0 {
		a := &APIStatus{ID: o.APIs[0].ID, Endpoint: o.APIs[0].Endpoint, Routes: len(o.Routes), Integrations: len(o.Integrations), Duplicates: len(o.APIs) - 1}
		for _, st := range o.Stages {
			if st.Name == StageName {
				a.Stage = true
			}
		}
		if !a.Stage {
			s.Problems = append(s.Problems, "the API has no "+StageName+" stage")
		}
		if a.Routes != 2 {
			s.Problems = append(s.Problems, fmt.Sprintf("the API has %d routes, want 2", a.Routes))
		}
		s.API = a
		s.Endpoint = a.Endpoint
	}
	s.Permission = o.Permission != nil
	if b := o.Bucket; b != nil && !b.Foreign && b.OtherStack == "" {
		s.Bucket = &StatusItem{Name: b.Name, ARN: "arn:aws:s3:::" + b.Name, Detail: fmt.Sprintf("%d object(s)", len(b.Keys))}
		if !b.Tagged {
			s.Problems = append(s.Problems, "S3 bucket "+b.Name+" is not tagged (an interrupted run): `rudderctl deploy` tags it, `rudderctl destroy` deletes it")
		}
		if b.Has(LockKey) {
			if rec, etag, err := stack.ReadLock(ctx, c, b.Name); err == nil && etag != "" {
				s.Lock = "held (unreadable record)"
				if rec != nil {
					s.Lock = rec.Holder()
				}
			}
		}
	}
	s.Deployed = s.Role != nil || s.LogGroup != nil || s.Function != nil || s.API != nil || s.Bucket != nil
	if s.Deployed {
		if s.Function == nil || s.API == nil || !s.Permission || s.Role == nil || s.LogGroup == nil {
			s.Problems = append(s.Problems, "incomplete: run `rudderctl deploy transformer --lambda` to finish it")
		}
	}
	return s, nil
}

// Endpoint is what rudder-server needs.
type Endpoint struct {
	Stack string `json:"stack"`
	// URL is the API URL; DestTransformURL adds the secret prefix only when asked for.
	URL              string `json:"url"`
	DestTransformURL string `json:"dest_transform_url"`
	SecretShown      bool   `json:"secret_shown"`
}

// ErrNotDeployed says the stack has no API or function yet.
var ErrNotDeployed = errors.New("not deployed")

// GetEndpoint returns the endpoint; the secret is included only when showSecret.
func GetEndpoint(ctx context.Context, c *awsapi.Session, stack string, showSecret bool) (*Endpoint, error) {
	n := NamesFor(stack)
	o, err := Observe(ctx, c, n)
	if err != nil {
		return nil, err
	}
	if len(o.APIs) == 0 || o.Func == nil {
		return nil, fmt.Errorf("stack %q has no endpoint: it is %w (no HTTP API or function found by its tag); run `rudderctl deploy transformer --lambda --stack %s`", stack, ErrNotDeployed, stack)
	}
	secret, ok := SecretFromPrefix(o.Func.Config.Env[PrefixEnv])
	if !ok {
		return nil, fmt.Errorf("stack %q has no endpoint secret: the function's %s is missing; run `rudderctl deploy transformer --lambda` to repair it", stack, PrefixEnv)
	}
	url := strings.TrimSuffix(o.APIs[0].Endpoint, "/")
	e := &Endpoint{Stack: stack, URL: url, DestTransformURL: url + "/<secret>"}
	if showSecret {
		e.DestTransformURL = url + "/" + secret
		e.SecretShown = true
	}
	return e, nil
}

// Rollback points the alias at the previous published version, under the stack lock.
func Rollback(ctx context.Context, c *awsapi.Session, stack string) (from, to string, err error) {
	return RollbackWithProgress(ctx, c, stack, io.Discard)
}

// RollbackWithProgress is Rollback reporting the lock steps on progress.
func RollbackWithProgress(ctx context.Context, c *awsapi.Session, stack string, progress io.Writer) (from, to string, err error) {
	n := NamesFor(stack)
	o, err := Observe(ctx, c, n)
	if err != nil {
		return "", "", err
	}
	if _, _, err := rollbackTarget(o, stack); err != nil {
		return "", "", err
	}
	d := &Desired{Names: n, Region: c.Region, Account: o.Account, Bucket: BucketName(stack, o.Account, c.Region)}
	first, err := lockChanges(o, n, d.Bucket)
	if err != nil {
		return "", "", err
	}
	lock, err := lockStack(ctx, c, o, d, first, "rollback", progress)
	if err != nil {
		return "", "", err
	}
	defer lock.Release(context.WithoutCancel(ctx), progress)
	// Again under the lock: a deploy may have moved the alias meanwhile.
	if o, err = Observe(ctx, c, n); err != nil {
		return "", "", err
	}
	from, prev, err := rollbackTarget(o, stack)
	if err != nil {
		return "", "", err
	}
	_, err = c.Lambda().UpdateAlias(ctx, n.Function, AliasName, prev)
	if err != nil {
		return "", "", awsapi.Explain("point alias "+AliasName+" at version "+prev, err)
	}
	return from, prev, nil
}

// rollbackTarget is the alias's version and the published version before it.
func rollbackTarget(o *Observed, stack string) (from, to string, err error) {
	if o.Func == nil || o.Alias == nil {
		return "", "", fmt.Errorf("nothing to roll back: stack %q has no function or alias %s; deploy it first", stack, AliasName)
	}
	cur := versionNumber(o.Alias.Version)
	prev := ""
	for _, v := range o.Versions {
		if k := versionNumber(v.Number); k < cur {
			prev = v.Number
		}
	}
	if prev == "" {
		return "", "", fmt.Errorf("nothing to roll back: alias %s points at version %s and there is no earlier published version; deploy a fix instead", AliasName, o.Alias.Version)
	}
	return o.Alias.Version, prev, nil
}

// LogEvent is one log line as `logs --json` prints it (one JSON object per line).
type LogEvent struct {
	Timestamp string `json:"timestamp"` // RFC 3339, UTC, with the milliseconds CloudWatch keeps
	Stream    string `json:"stream"`
	Message   string `json:"message"`
}

// Logs prints the function's log events since the given time, as text lines or (jsonLines)
// one JSON object per event; follow keeps polling until ctx is done.
func Logs(ctx context.Context, c *awsapi.Session, stack string, since time.Time, follow, jsonLines bool, out io.Writer) error {
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	n := NamesFor(stack)
	start := since.UnixMilli()
	seen := map[string]bool{}
	for {
		last := start
		var writeErr error
		err := c.Logs().FilterEvents(ctx, n.LogGroup, start, func(e logsapi.Event) error {
			if e.ID != "" && seen[e.ID] {
				return nil
			}
			seen[e.ID] = true
			ts := time.UnixMilli(e.Timestamp).UTC().Format(time.RFC3339Nano)
			msg := strings.TrimRight(e.Message, "\n")
			if jsonLines {
				if writeErr = enc.Encode(LogEvent{Timestamp: ts, Stream: e.Stream, Message: msg}); writeErr != nil {
					return writeErr
				}
			} else {
				fmt.Fprintf(out, "%s %s %s\n", ts, e.Stream, msg)
			}
			if e.Timestamp > last {
				last = e.Timestamp
			}
			return nil
		})
		if writeErr != nil {
			return writeErr
		}
		if errors.Is(err, awsapi.ErrNotFound) {
			return fmt.Errorf("no logs: log group %s does not exist; deploy the stack first (`rudderctl deploy transformer --lambda`)", n.LogGroup)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return awsapi.Explain("read log group "+n.LogGroup, err)
		}
		if !follow {
			return nil
		}
		start = last
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
}
