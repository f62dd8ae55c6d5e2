package workspace

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
	"github.com/rudderctl/rudderctl/internal/stack"
	ws "github.com/rudderctl/rudderctl/internal/workspace"
	"github.com/rudderctl/rudderctl/internal/workspace/serve"
	"github.com/rudderctl/rudderctl/packaging"
)

// Input is a validated deploy request.
type Input struct {
	Stack, Region string
	Arch          string // x86_64 | arm64
	LogRetention  int32
	File          string // workspace.yaml
	// Binary is a prebuilt server (GOOS=linux go build ./lambda/workspace); "" = built.
	Binary string
}

// Code is the workspace, compiled and packaged: everything decided before any AWS call.
type Code struct {
	WorkspaceID string
	// Version is the bundle's hash (12 hex): the workspace's version, shown by status.
	Version    string
	Generated  []string // sources whose write key the stack generates
	Zip        []byte
	CodeSha256 string
}

// Prepare validates and compiles the workspace and builds the server's zip. Bad input is
// refused here, before any AWS call.
func Prepare(ctx context.Context, in Input, progress io.Writer) (*Code, error) {
	f, err := ws.Load(in.File)
	if err != nil {
		return nil, err
	}
	var generated []string
	for _, s := range f.Sources {
		if s.WriteKey == nil {
			generated = append(generated, s.Name)
		}
	}
	sort.Strings(generated)
	compiled, err := ws.Compile(ctx, f, ws.Options{WriteKeys: serve.MarkerWriteKeys(generated)})
	if err != nil {
		return nil, fmt.Errorf("workspace %s is invalid: %w", in.File, err)
	}
	bundle, err := serve.NewBundle(compiled, generated)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rudderctl-workspace-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rep, err := packaging.BuildWorkspace(ctx, packaging.WorkspaceOptions{Bundle: bundle, Arch: in.Arch, Out: filepath.Join(dir, "workspace.zip"), Binary: in.Binary, Progress: progress})
	if err != nil {
		return nil, err
	}
	zip, err := os.ReadFile(rep.Zip)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(bundle)
	return &Code{WorkspaceID: compiled.WorkspaceID, Version: hex.EncodeToString(sum[:])[:12], Generated: generated, Zip: zip, CodeSha256: rep.CodeSha256}, nil
}

// Result is what a deploy (or plan) reports. It never holds a secret.
type Result struct {
	Stack       string   `json:"stack"`
	Region      string   `json:"region"`
	Function    string   `json:"function"`
	WorkspaceID string   `json:"workspace_id"`
	Version     string   `json:"workspace_version"`
	Changes     int      `json:"changes"`
	ChangeList  []string `json:"change_list"`
	Applied     bool     `json:"applied"`
}

// WriteText prints the result for a person.
func (r *Result) WriteText(w io.Writer) {
	verb := "planned"
	if r.Applied {
		verb = "applied"
	}
	if r.Changes == 0 {
		fmt.Fprintf(w, "workspace %s (version %s) of stack %s is up to date: no changes\n", r.WorkspaceID, r.Version, r.Stack)
		return
	}
	fmt.Fprintf(w, "workspace %s (version %s) of stack %s: %d changes %s\n", r.WorkspaceID, r.Version, r.Stack, r.Changes, verb)
	for _, c := range r.ChangeList {
		fmt.Fprintln(w, "  "+c)
	}
}

func desiredFor(in Input, code *Code, o *observed) (*desired, error) {
	n := NamesFor(in.Stack)
	env, err := environment(o, o.Secret, code.Generated)
	if err != nil {
		return nil, err
	}
	d := &desired{
		Names: n, Region: in.Region, Account: o.Account, Zip: code.Zip, CodeSha256: code.CodeSha256,
		Retention: in.LogRetention, Secret: o.Secret, Token: env[serve.EnvToken], APIID: o.APIID,
		Description: "workspace " + code.WorkspaceID + " version " + code.Version,
		Config: fnConfig{Arch: in.Arch, Role: roleARN(o.Account, n.Role), Env: env, Runtime: Runtime, Handler: Handler,
			Memory: Memory, Timeout: Timeout},
	}
	if o.Role != nil && o.Role.ARN != "" {
		d.Config.Role = o.Role.ARN
	}
	return d, nil
}

func planDeploy(ctx context.Context, c *awsapi.Session, in Input, code *Code) (*observed, *desired, []engine.Change, error) {
	o, err := observe(ctx, c, NamesFor(in.Stack))
	if err != nil {
		return nil, nil, nil, err
	}
	if o.Secret == "" || o.APIID == "" {
		return nil, nil, nil, &ErrNoTransformer{Stack: in.Stack}
	}
	d, err := desiredFor(in, code, o)
	if err != nil {
		return nil, nil, nil, err
	}
	changes, err := plan(o, d)
	return o, d, changes, err
}

// Deploy observes, plans and (unless dryRun) applies under the stack lock. A plan without
// changes takes no lock and makes no mutating call.
func Deploy(ctx context.Context, c *awsapi.Session, in Input, code *Code, dryRun bool, progress io.Writer) (*Result, error) {
	if progress == nil {
		progress = io.Discard
	}
	fmt.Fprintf(progress, "reading the workspace of stack %q in %s...\n", in.Stack, in.Region)
	o, d, changes, err := planDeploy(ctx, c, in, code)
	if err != nil {
		return nil, err
	}
	r := &Result{Stack: in.Stack, Region: in.Region, Function: d.Function, WorkspaceID: code.WorkspaceID, Version: code.Version}
	report(r, changes)
	if dryRun || len(changes) == 0 {
		return r, nil
	}
	lock, err := takeLock(ctx, c, o, in.Stack, "deploy workspace", progress)
	if err != nil {
		return nil, err
	}
	defer lock.Release(context.WithoutCancel(ctx), progress)
	// Plan again under the lock: a run that held it before may have done it all.
	if o, d, changes, err = planDeploy(ctx, c, in, code); err != nil {
		return nil, err
	}
	report(r, changes)
	if len(changes) == 0 {
		return r, nil
	}
	err = engine.Run(ctx, changes, engine.Options{Kinds: newApplier(c, o, d, progress).kinds(), Progress: progress,
		Secret: d.Secret, Parallel: 1, Operation: "deploy"})
	if err != nil {
		return nil, redactToken(err, d.Token)
	}
	r.Applied = true
	return r, nil
}

func report(r *Result, changes []engine.Change) {
	r.Changes, r.ChangeList = len(changes), []string{}
	for _, ch := range changes {
		r.ChangeList = append(r.ChangeList, ch.String())
	}
}

func redactToken(err error, token string) error {
	var final engine.Final
	if token == "" || errors.As(err, &final) {
		return err
	}
	return errors.New(engine.Redact(err.Error(), token))
}

// takeLock takes the stack lock (making the stack's bucket first if it is missing).
func takeLock(ctx context.Context, c *awsapi.Session, o *observed, stackName, operation string, progress io.Writer) (*stack.Lock, error) {
	bucket := stack.BucketName(stackName, o.Account, c.Region)
	first, err := kinds.LockChanges(o.Bucket, bucket, stackName)
	if err != nil {
		return nil, err
	}
	return kinds.TakeLock(ctx, c, stack.Stack{Name: stackName, Account: o.Account, Region: c.Region}, o.Bucket, first, operation, progress)
}

// Destroy deletes what the workspace owns (dryRun: lists it), routes first.
func Destroy(ctx context.Context, c *awsapi.Session, stackName, region string, dryRun bool, progress io.Writer) ([]engine.Change, error) {
	if progress == nil {
		progress = io.Discard
	}
	n := NamesFor(stackName)
	o, err := observe(ctx, c, n)
	if err != nil {
		return nil, err
	}
	changes := planDestroy(o, n)
	if dryRun || len(changes) == 0 {
		return changes, nil
	}
	if o.Bucket != nil {
		lock, err := takeLock(ctx, c, o, stackName, "destroy workspace", progress)
		if err != nil {
			return nil, err
		}
		defer lock.Release(context.WithoutCancel(ctx), progress)
		if o, err = observe(ctx, c, n); err != nil {
			return nil, err
		}
		changes = planDestroy(o, n)
	}
	d := &desired{Names: n, Region: region, Account: o.Account, APIID: o.APIID, Secret: o.Secret}
	err = engine.Run(ctx, changes, engine.Options{Kinds: newApplier(c, o, d, progress).kinds(), Progress: progress, Secret: o.Secret, Parallel: 1, Operation: "destroy"})
	return changes, err
}

// Status is what exists of the workspace server.
type Status struct {
	Component string `json:"component"` // "workspace"
	Stack     string `json:"stack"`
	Deployed  bool   `json:"deployed"`
	Function  string `json:"function,omitempty"`
	// Live is the Lambda version alias live serves; Workspace the workspace id and version
	// it holds (from that version's description).
	Live      string   `json:"live_version,omitempty"`
	Workspace string   `json:"workspace,omitempty"`
	Routes    int      `json:"routes"`
	Problems  []string `json:"problems,omitempty"`
}

func (s *Status) WriteText(w io.Writer) {
	if !s.Deployed {
		fmt.Fprintf(w, "  %-11s not deployed\n", "workspace")
		return
	}
	fmt.Fprintf(w, "  %-11s %s, live -> version %s (%s), %d of %d routes\n", "workspace", s.Function, s.Live, s.Workspace, s.Routes, len(RouteKeys("x")))
	for _, p := range s.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
}

// GetStatus reads the workspace server's state (read-only).
func GetStatus(ctx context.Context, c *awsapi.Session, stackName string) (*Status, error) {
	n := NamesFor(stackName)
	o, err := observe(ctx, c, n)
	if err != nil {
		return nil, err
	}
	s := &Status{Component: ComponentName, Stack: stackName, Routes: len(o.Routes)}
	if o.Func == nil || o.Func.Other != "" {
		return s, nil
	}
	s.Deployed, s.Function, s.Live = true, n.Function, o.AliasVer
	if o.AliasVer == "" {
		s.Problems = append(s.Problems, "alias "+AliasName+" is missing: run rudderctl deploy workspace")
		return s, nil
	}
	live, err := c.Lambda().FindConfiguration(ctx, n.Function, AliasName)
	if err != nil {
		return nil, awsapi.Explain("read "+n.Function+":"+AliasName, err)
	}
	s.Workspace = live.Description
	if len(o.Routes) < len(RouteKeys("x")) {
		s.Problems = append(s.Problems, "routes are missing on the stack's API (a transformer deploy may have removed them): run rudderctl deploy workspace")
	}
	return s, nil
}

// Endpoints is where the workspace is served.
type Endpoints struct {
	// ConfigBackendURL is CONFIG_BACKEND_URL for rudder-server and the transformer: the API
	// URL with the secret prefix ("/<secret>" in its place unless shown); "" when no
	// workspace is deployed.
	ConfigBackendURL string `json:"config_backend_url,omitempty"`
	// WorkspaceToken is rudder-server's WORKSPACE_TOKEN; only with the secret shown.
	WorkspaceToken string `json:"workspace_token,omitempty"`
	SecretShown    bool   `json:"-"`
}

func (e *Endpoints) WriteText(w io.Writer) {
	if e.ConfigBackendURL == "" {
		return
	}
	fmt.Fprintf(w, "CONFIG_BACKEND_URL  %s\n", e.ConfigBackendURL)
	if e.SecretShown {
		fmt.Fprintf(w, "WORKSPACE_TOKEN     %s\n", e.WorkspaceToken)
	}
}

// ErrNotDeployed is answered when the stack serves no workspace.
var ErrNotDeployed = errors.New("no workspace is deployed in this stack: run rudderctl deploy workspace")

// GetEndpoints reads the URL (and, with showSecret, the token) of the workspace server.
func GetEndpoints(ctx context.Context, c *awsapi.Session, stackName string, showSecret bool) (*Endpoints, error) {
	n := NamesFor(stackName)
	o, err := observe(ctx, c, n)
	if err != nil {
		return nil, err
	}
	if o.Func == nil || o.Func.Other != "" || o.APIID == "" || o.Secret == "" {
		return nil, ErrNotDeployed
	}
	e := &Endpoints{ConfigBackendURL: o.APIEndpoint + "/<secret>"}
	if showSecret {
		e.ConfigBackendURL, e.WorkspaceToken, e.SecretShown = o.APIEndpoint+"/"+o.Secret, o.Func.Config.Env[serve.EnvToken], true
	}
	return e, nil
}
