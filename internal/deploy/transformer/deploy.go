package transformer

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"

	"github.com/rudderctl/rudderctl/internal/awsapi"
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
}

// Deploy observes, plans and (unless dryRun) applies. Progress goes to progress.
func Deploy(ctx context.Context, c *awsapi.Clients, in Input, zi *ZipInfo, dryRun bool, progress io.Writer) (*Result, error) {
	if progress == nil {
		progress = io.Discard
	}
	n := NamesFor(in.Stack)
	fmt.Fprintf(progress, "reading stack %q in %s...\n", in.Stack, in.Region)
	o, err := Observe(ctx, c, n)
	if err != nil {
		return nil, err
	}
	d, err := desired(in, zi, o)
	if err != nil {
		return nil, err
	}
	changes, err := Plan(o, d)
	if err != nil {
		return nil, err
	}
	r := &Result{Stack: in.Stack, Region: in.Region, Function: n.Function, Alias: AliasName, Changes: len(changes), ChangeList: []string{}}
	for _, ch := range changes {
		r.ChangeList = append(r.ChangeList, ch.String())
	}
	l := liveFrom(o, d)
	if o.Alias != nil {
		l.Version = o.Alias.Version
	}
	if !dryRun && len(changes) > 0 {
		l, err = Apply(ctx, c, o, d, changes, progress)
		var smokeErr *SmokeError
		if errors.As(err, &smokeErr) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("%w\n(the deploy stopped part-way; run it again to finish: every step is found again and none is repeated)", err)
		}
		r.Applied = true
	}
	r.Endpoint, r.FunctionARN, r.Version = l.APIEndpoint, l.FunctionARN, l.Version
	return r, nil
}

// Destroy deletes everything the stack owns, in reverse order. dryRun only lists it.
func Destroy(ctx context.Context, c *awsapi.Clients, stack, region string, dryRun bool, progress io.Writer) ([]Change, error) {
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
	if o.Func != nil {
		d.Secret, _ = SecretFromPrefix(o.Func.Config.Env[PrefixEnv])
	}
	if _, err := Apply(ctx, c, o, d, changes, progress); err != nil {
		return nil, fmt.Errorf("%w\n(destroy stopped part-way; run it again to finish)", err)
	}
	return changes, nil
}
