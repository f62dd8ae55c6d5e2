package transformer

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"os"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
	"github.com/rudderctl/rudderctl/internal/stack"
	"github.com/rudderctl/rudderctl/lambda/manifest"
)

// Input is a validated deploy request (see cmd/rudderctl and internal/config).
type Input struct {
	Stack        string
	Region       string
	Zip          string
	Runtime      string
	Arch         string
	Memory       int32
	Timeout      int32
	Env          map[string]string
	LogRetention int32
}

// ZipInfo is what a deploy needs to know about the zip.
type ZipInfo struct {
	Path       string
	Bytes      int64
	CodeSha256 string             // base64, as Lambda reports it
	Manifest   *manifest.Manifest // checked and defaulted (manifest.Parse)
}

// InspectZip hashes the zip, checks its size and reads its manifest.
func InspectZip(path string) (*ZipInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("zip %s unreadable: %v; build one with `rudderctl package` or pass --src", path, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, fmt.Errorf("zip %s unreadable: %v", path, err)
	}
	info := &ZipInfo{Path: path, Bytes: n, CodeSha256: base64.StdEncoding.EncodeToString(h.Sum(nil))}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("zip %s refused: it is not a zip archive (%v); build one with `rudderctl package`", path, err)
	}
	defer zr.Close()
	hasWrapper := false
	var unzipped uint64
	for _, zf := range zr.File {
		unzipped += zf.UncompressedSize64
		switch zf.Name {
		case manifest.WrapperName:
			hasWrapper = true
		case manifest.FileName:
			rc, err := zf.Open()
			if err != nil {
				return nil, fmt.Errorf("zip %s: manifest unreadable: %v", path, err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return nil, fmt.Errorf("zip %s: manifest unreadable: %v", path, err)
			}
			m, err := manifest.Parse(b)
			if err != nil {
				return nil, fmt.Errorf("zip %s: %v; rebuild the zip with `rudderctl package`", path, err)
			}
			info.Manifest = &m
		}
	}
	if unzipped > MaxUnzipped {
		return nil, fmt.Errorf("zip %s refused: it is %d B unzipped, above Lambda's limit of 250 MB (%d B) even through S3; shrink the package (`rudderctl package` prunes node_modules; see its largest_packages report)", path, unzipped, MaxUnzipped)
	}
	if !hasWrapper || info.Manifest == nil {
		return nil, fmt.Errorf("zip %s refused: it has no %s or %s at its root, so Lambda could not start the adapter; build it with `rudderctl package`", path, manifest.WrapperName, manifest.FileName)
	}
	return info, nil
}

// desired builds the desired state from the input, the observed state and the secret.
func desired(in Input, zi *ZipInfo, o *Observed) (*Desired, error) {
	n := NamesFor(in.Stack)
	secret := ""
	if o.Func != nil && o.Func.Config.Env != nil {
		secret, _ = SecretFromPrefix(o.Func.Config.Env[PrefixEnv])
	}
	if secret == "" {
		s, err := NewSecret()
		if err != nil {
			return nil, err
		}
		secret = s
	}
	env := maps.Clone(in.Env)
	if env == nil {
		env = map[string]string{}
	}
	env[WrapperEnv] = WrapperPath
	env[PrefixEnv] = "/" + secret
	d := &Desired{
		Names:   n,
		Region:  in.Region,
		Account: o.Account,
		Config: FunctionConfig{
			Runtime: in.Runtime, Handler: Handler, Arch: in.Arch, Role: RoleARN(o.Account, n.Role),
			Memory: in.Memory, Timeout: in.Timeout, Env: env,
		},
		LogRetention: in.LogRetention,
		Secret:       secret,
	}
	if o.Role != nil && o.Role.ARN != "" {
		d.Config.Role = o.Role.ARN
	}
	if zi != nil {
		d.Zip, d.ZipBytes, d.CodeSha256 = zi.Path, zi.Bytes, zi.CodeSha256
		if zi.Manifest != nil {
			d.HealthPath = zi.Manifest.HealthPath
		}
	}
	d.Bucket = BucketName(in.Stack, o.Account, in.Region)
	return d, nil
}

// Result is what a deploy (or plan) reports. It never holds the secret.
type Result struct {
	Stack       string   `json:"stack"`
	Region      string   `json:"region"`
	Endpoint    string   `json:"endpoint,omitempty"` // API URL without the secret
	Function    string   `json:"function"`
	FunctionARN string   `json:"function_arn,omitempty"`
	Version     string   `json:"version,omitempty"`
	Alias       string   `json:"alias"`
	Changes     int      `json:"changes"`
	ChangeList  []string `json:"change_list"`
	Applied     bool     `json:"applied"`
	plan        bool     // a dry run: WriteText shows the changes
}

// Deploy observes, plans and (unless dryRun) applies. Progress goes to progress.
//
// A plan with changes is applied under the stack lock (lock.go): plan, take the lock,
// observe and plan again (another run may have done the work meanwhile), apply, release.
// A plan without changes takes no lock and makes no mutating call.
func Deploy(ctx context.Context, c *awsapi.Session, in Input, zi *ZipInfo, dryRun bool, progress io.Writer) (*Result, error) {
	if progress == nil {
		progress = io.Discard
	}
	n := NamesFor(in.Stack)
	fmt.Fprintf(progress, "reading stack %q in %s...\n", in.Stack, in.Region)
	o, d, changes, err := planDeploy(ctx, c, in, zi)
	if err != nil {
		return nil, err
	}
	var lockFirst []Change
	if len(changes) > 0 {
		if lockFirst, err = lockChanges(o, n, d.Bucket); err != nil {
			return nil, err
		}
		changes = withoutBucketChanges(changes, lockFirst)
	}
	r := &Result{Stack: in.Stack, Region: in.Region, Function: n.Function, Alias: AliasName, ChangeList: []string{}}
	report := func(cs []Change) {
		r.Changes = len(cs)
		r.ChangeList = []string{}
		for _, ch := range cs {
			r.ChangeList = append(r.ChangeList, ch.String())
		}
	}
	report(append(append([]Change{}, lockFirst...), changes...))
	l := liveFrom(o, d)
	if o.Alias != nil {
		l.Version = o.Alias.Version
	}
	if !dryRun && len(changes) > 0 {
		lock, err := lockStack(ctx, c, o, d, lockFirst, "deploy", progress)
		if err != nil {
			return nil, err
		}
		defer lock.Release(context.WithoutCancel(ctx), progress)
		// Plan again under the lock: a run that held it before may have done it all.
		o, d, changes, err = planDeploy(ctx, c, in, zi)
		if err != nil {
			return nil, err
		}
		report(append(append([]Change{}, lockFirst...), changes...))
		l = liveFrom(o, d)
		if o.Alias != nil {
			l.Version = o.Alias.Version
		}
		if len(changes) == 0 {
			fmt.Fprintln(progress, "nothing left to do: another run made these changes while this one waited")
		} else {
			// A stop part-way says "run it again to finish" (engine.Run); a failed health
			// check does not (SmokeError).
			if l, err = applyChanges(ctx, c, o, d, changes, progress, "deploy", nil); err != nil {
				return nil, err
			}
			r.Applied = true
		}
	}
	r.Endpoint, r.FunctionARN, r.Version = l.APIEndpoint, l.FunctionARN, l.Version
	return r, nil
}

// withoutBucketChanges drops from changes the bucket steps the lock makes first (a zip
// over 50 MB plans them too).
func withoutBucketChanges(changes, first []Change) []Change {
	if len(first) == 0 {
		return changes
	}
	out := []Change{}
	for _, ch := range changes {
		if ch.Action != CreateBucket && ch.Action != TagBucket {
			out = append(out, ch)
		}
	}
	return out
}

// planDeploy observes the stack and plans the deploy of in.
func planDeploy(ctx context.Context, c *awsapi.Session, in Input, zi *ZipInfo) (*Observed, *Desired, []Change, error) {
	o, err := Observe(ctx, c, NamesFor(in.Stack))
	if err != nil {
		return nil, nil, nil, err
	}
	d, err := desired(in, zi, o)
	if err != nil {
		return nil, nil, nil, err
	}
	changes, err := Plan(o, d)
	if err != nil {
		return nil, nil, nil, err
	}
	return o, d, changes, nil
}

// lockStack makes the bucket that holds the lock usable (first: its changes) and takes the
// stack lock for operation (kinds.TakeLock).
func lockStack(ctx context.Context, c *awsapi.Session, o *Observed, d *Desired, first []Change, operation string, progress io.Writer) (*stack.Lock, error) {
	return kinds.TakeLock(ctx, c, stack.Stack{Name: d.Stack, Account: d.Account, Region: d.Region}, o.Bucket, first, operation, progress)
}

// Destroy deletes everything the stack owns, in reverse order, under the stack lock.
// dryRun only lists it.
func Destroy(ctx context.Context, c *awsapi.Session, stack, region string, dryRun bool, progress io.Writer) ([]Change, error) {
	if progress == nil {
		progress = io.Discard
	}
	n := NamesFor(stack)
	o, err := Observe(ctx, c, n)
	if err != nil {
		return nil, err
	}
	changes := PlanDestroy(o, n, region)
	if dryRun || len(changes) == 0 {
		return changes, nil
	}
	d := &Desired{Names: n, Region: region, Account: o.Account, Bucket: BucketName(stack, o.Account, region)}
	first, err := lockChanges(o, n, d.Bucket)
	if err != nil {
		return nil, err
	}
	// The lock's bucket is deleted last anyway: an untagged one need not be tagged first.
	if len(first) > 0 && first[0].Action == TagBucket {
		first = nil
	}
	lock, err := lockStack(ctx, c, o, d, first, "destroy", progress)
	if err != nil {
		return nil, err
	}
	defer lock.Release(context.WithoutCancel(ctx), progress)
	if o, err = Observe(ctx, c, n); err != nil {
		return nil, err
	}
	changes = PlanDestroy(o, n, region)
	if o.Func != nil {
		d.Secret, _ = SecretFromPrefix(o.Func.Config.Env[PrefixEnv])
	}
	// The bucket goes last, and with it the lock: release it just before.
	beforeBucket := func(ctx context.Context) error { lock.Release(ctx, progress); return nil }
	if _, err := applyChanges(ctx, c, o, d, changes, progress, "destroy", beforeBucket); err != nil {
		return nil, err
	}
	return changes, nil
}
