// Package packaging builds the Lambda zip for the transformer (CONTRACTS §1, §7): the Go
// adapter, a wrapper script, a manifest, and the app with its production node_modules,
// pruned, checked for native-module compatibility with the target runtime, and written
// deterministically (same input, same bytes, same CodeSha256). A SAM template.yaml is
// written beside the zip.
package packaging

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/rudderctl/rudderctl/internal/nodedist"
)

// Lambda limits (bytes).
const (
	MaxUnzippedBytes = 262_144_000 // 250 MB, function code including layers
	MaxDirectUpload  = 52_428_800  // 50 MB zipped: larger zips go through S3
)

// Defaults written into the SAM template.
const (
	DefaultMemoryMB   = 1024
	DefaultTimeoutSec = 30
	Handler           = "rudderctl.handler"
	// TemplateSuffix names the SAM template after its zip: transformer.zip ->
	// transformer.template.yaml, so several zips can share a directory (issue #12).
	TemplateSuffix = ".template.yaml"
)

// TemplatePathFor is the default template path for a zip: beside it, named after it.
func TemplatePathFor(zipPath string) string {
	b := filepath.Base(zipPath)
	if ext := filepath.Ext(b); strings.EqualFold(ext, ".zip") {
		b = b[:len(b)-len(ext)]
	}
	return filepath.Join(filepath.Dir(zipPath), b+TemplateSuffix)
}

// Supported Lambda runtimes and architectures.
var (
	Runtimes      = []string{"nodejs22.x", "nodejs24.x"}
	Architectures = []string{"x86_64", "arm64"}
)

// Options say what to package (CONTRACTS §7).
type Options struct {
	Src, Out      string   // app directory; zip path
	Template      string   // SAM template path; "" = beside the zip, named after it (NAME.template.yaml)
	Runtime, Arch string   // nodejs22.x|nodejs24.x, x86_64|arm64
	Entry         string   // "" = from package.json (main, else `node X` in scripts.start)
	RebuildNative bool     // npm rebuild native modules with the target Node before checking
	Keep, Prune   []string // user overrides of the prune rules (globs)
	Bootstrap     string   // prebuilt adapter binary; "" = go build ./lambda/bootstrap from the module root
	// Smoke starts the packaged zip under the Runtime Interface Emulator and GETs its health
	// path before anything is written (skipped, with a notice, for a foreign architecture).
	// The CLI turns it on unless --no-smoke.
	Smoke    bool
	Progress io.Writer
}

// Report says what was written.
type Report struct {
	Zip             string         `json:"zip"`
	SHA256          string         `json:"sha256"`      // hex
	CodeSha256      string         `json:"code_sha256"` // base64, as Lambda reports it
	ZippedBytes     int64          `json:"zipped_bytes"`
	UnzippedBytes   int64          `json:"unzipped_bytes"`
	Files           int            `json:"files"`
	LargestPackages []PackageSize  `json:"largest_packages"`
	Pruned          PruneSummary   `json:"pruned"`
	S3Upload        bool           `json:"s3_upload"` // zipped above 50 MB: a deploy must upload through S3
	Template        string         `json:"template"`
	Runtime         string         `json:"runtime"`
	Arch            string         `json:"arch"`
	Entry           string         `json:"entry"`
	NativeModules   []NativeModule `json:"native_modules"`
	Trace           *TraceSummary  `json:"trace"`
	Smoke           *SmokeResult   `json:"smoke"`
	Warnings        []string       `json:"warnings"`
}

// PackageSize is the unzipped size of one top-level package (or "(app)" for the app's own files).
type PackageSize struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
	Files int    `json:"files"`
}

// PruneSummary is what pruning removed.
type PruneSummary struct {
	Files  int         `json:"files"`
	Bytes  int64       `json:"bytes"`
	ByRule []RuleCount `json:"by_rule"`
	Kept   int         `json:"kept_by_keep"` // files a --keep glob saved from a rule
	// Files a built-in rule matched but the app loads (the tracer found them): kept.
	KeptReachable      int        `json:"kept_reachable"`
	KeptReachableFiles []KeptFile `json:"kept_reachable_files"`
}

// KeptFile is a file a rule would have removed, kept because the app loads it.
type KeptFile struct {
	Path string `json:"path"`
	Rule string `json:"rule"`
	By   string `json:"required_by"`
}

// RuleCount is what one prune rule removed.
type RuleCount struct {
	Rule  string `json:"rule"`
	Files int    `json:"files"`
	Bytes int64  `json:"bytes"`
}

// NativeModule is one .node file that went into the zip.
type NativeModule struct {
	Path     string `json:"path"`
	Kind     string `json:"kind"` // "node-abi-127", "n-api"
	Machine  string `json:"machine"`
	GLIBC    string `json:"glibc,omitempty"` // highest GLIBC_x.y needed
	Stripped bool   `json:"stripped"`
	Bytes    int64  `json:"bytes"`
}

// validate checks the options and fills defaults; it touches nothing.
func (o *Options) validate() error {
	if o.Runtime == "" {
		o.Runtime = "nodejs22.x"
	}
	if o.Arch == "" {
		o.Arch = "x86_64"
	}
	if !contains(Runtimes, o.Runtime) {
		return fmt.Errorf("runtime %q is not supported: rudderctl packages for %s (Lambda's current Node runtimes on Amazon Linux 2023); pass --runtime %s", o.Runtime, strings.Join(Runtimes, " or "), Runtimes[0])
	}
	if !contains(Architectures, o.Arch) {
		return fmt.Errorf("architecture %q is not supported: Lambda runs %s; pass --arch x86_64 or --arch arm64", o.Arch, strings.Join(Architectures, " or "))
	}
	if o.Src == "" {
		return fmt.Errorf("no app directory: --src is required; pass the transformer checkout, e.g. --src ./rudder-transformer")
	}
	st, err := os.Stat(o.Src)
	if err != nil {
		return fmt.Errorf("app directory %s: %v; pass --src with the transformer checkout", o.Src, errNotExist(err))
	}
	if !st.IsDir() {
		return fmt.Errorf("app directory %s is a file, not a directory; pass --src with the directory holding package.json", o.Src)
	}
	if _, err := os.Stat(filepath.Join(o.Src, "package.json")); err != nil {
		return fmt.Errorf("no package.json in %s: it is not a Node app (or not its root); pass --src with the directory holding package.json", o.Src)
	}
	if o.Out == "" {
		return fmt.Errorf("no output: --out is required; pass e.g. --out transformer.zip")
	}
	if !strings.HasSuffix(strings.ToLower(o.Out), ".zip") {
		return fmt.Errorf("output %s does not end in .zip: Lambda takes a zip file; pass e.g. --out transformer.zip", o.Out)
	}
	if st, err := os.Stat(o.Out); err == nil && st.IsDir() {
		return fmt.Errorf("output %s is a directory; pass a file name such as %s", o.Out, filepath.Join(o.Out, "transformer.zip"))
	}
	for _, g := range append(append([]string{}, o.Keep...), o.Prune...) {
		if err := checkGlob(g); err != nil {
			return err
		}
	}
	if o.Template != "" {
		if !strings.HasSuffix(strings.ToLower(o.Template), ".yaml") && !strings.HasSuffix(strings.ToLower(o.Template), ".yml") {
			return fmt.Errorf("template %s does not end in .yaml or .yml: it is a SAM template; pass e.g. --template %s", o.Template, TemplatePathFor(o.Out))
		}
		if st, err := os.Stat(o.Template); err == nil && st.IsDir() {
			return fmt.Errorf("template %s is a directory; pass a file name such as %s", o.Template, filepath.Join(o.Template, filepath.Base(TemplatePathFor(o.Out))))
		}
	}
	if o.Bootstrap != "" {
		if st, err := os.Stat(o.Bootstrap); err != nil || st.IsDir() {
			return fmt.Errorf("--bootstrap %s: not a file; pass a Linux build of ./lambda/bootstrap, or leave --bootstrap out to build it", o.Bootstrap)
		}
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if _, err := nodedist.MajorForRuntime(o.Runtime); err != nil {
		return err
	}
	return nil
}

func errNotExist(err error) string {
	if os.IsNotExist(err) {
		return "it does not exist"
	}
	return err.Error()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func goarch(arch string) string {
	if arch == "arm64" {
		return "arm64"
	}
	return "amd64"
}
