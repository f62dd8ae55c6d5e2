// Package config reads, validates and writes rudderctl.yaml.
//
// Everything here runs before any AWS call: a bad value is refused with an error in the
// "what happened: why, and what to do" form, and nothing is created.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/rudderctl/rudderctl/internal/awsapi"
)

// DefaultFile is the file read when --config is not given.
const DefaultFile = "rudderctl.yaml"

// Defaults applied when neither the config file, the flags nor the zip manifest say otherwise.
const (
	DefaultStack        = "default"
	DefaultRuntime      = "nodejs22.x"
	DefaultArch         = "x86_64"
	DefaultMemory       = 1024
	DefaultTimeout      = 30
	DefaultLogRetention = 14
	MinMemory           = 128   // Lambda's limits: 128..10,240 MB
	MaxMemory           = 10240 //
	MinTimeout          = 1
	// MaxTimeout is API Gateway's integration timeout: a longer function timeout (Lambda
	// allows up to LambdaMaxTimeout) would only let the function run on after the gateway
	// has answered 504.
	MaxTimeout       = 30
	LambdaMaxTimeout = 900
	// StackEnv names the stack when neither --stack is given (flag > env > config).
	StackEnv = "RUDDERCTL_STACK"
)

// Runtimes and Architectures are the accepted values.
var (
	Runtimes      = []string{"nodejs22.x", "nodejs24.x"}
	Architectures = []string{"x86_64", "arm64"}
	// RetentionDays are the values CloudWatch Logs accepts.
	RetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)

// File is rudderctl.yaml.
type File struct {
	// Stack is nil when the file does not name one; a pointer to "" is an explicit, and
	// refused, empty name.
	Stack       *string     `yaml:"stack"`
	Region      string      `yaml:"region"`
	Transformer Transformer `yaml:"transformer"`
	ECS         ECS         `yaml:"ecs"`
	Nodes       Nodes       `yaml:"nodes"`

	// Path is where the file was read from ("" when none); relative paths in it are
	// resolved against its directory.
	Path string `yaml:"-"`
}

// Transformer is the `transformer:` section. Numbers are pointers so that a key left out
// (nil: the default applies) differs from a key set to 0 (refused), and int64 so that a
// value beyond int32 is range-checked as written, never wrapped.
type Transformer struct {
	Src              string            `yaml:"src"`
	Zip              string            `yaml:"zip"`
	Runtime          string            `yaml:"runtime"`
	Arch             string            `yaml:"arch"`
	Memory           *int64            `yaml:"memory"`
	Timeout          *int64            `yaml:"timeout"`
	Environment      map[string]string `yaml:"environment"`
	LogRetentionDays *int64            `yaml:"log_retention_days"`
	Package          Package           `yaml:"package"`
}

// Package is `transformer.package:`: how a deploy from src packages the app (the same
// options as `rudderctl package transformer`).
type Package struct {
	RebuildNative bool     `yaml:"rebuild_native"`
	Keep          []string `yaml:"keep"`
	Prune         []string `yaml:"prune"`
}

// knownKeys is shown when a key is unknown.
const knownKeys = "stack, region and transformer.{src, zip, runtime, arch, memory, timeout, environment, log_retention_days, package.{rebuild_native, keep, prune}} and ecs.{image, tag, cpu, memory, desired_count, min_count, max_count, scaling.{metric, target}, deregistration_delay, function_timeout_ms, health_check_grace_period, vpc, subnets, listener_port, log_retention_days, environment}"

// Load reads path. When explicit is false and the file does not exist, an empty File is
// returned (flags and defaults then decide everything).
func Load(path string, explicit bool) (*File, error) {
	if path == "" {
		path = DefaultFile
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !explicit {
			return &File{}, nil
		}
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("config %s not found: the file does not exist; create one with `rudderctl init` or fix --config", path)
		}
		return nil, fmt.Errorf("config %s unreadable: %v; check the path and its permissions", path, err)
	}
	f, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	f.Path = path
	return f, nil
}

var lineRe = regexp.MustCompile(`line (\d+): field (\S+) not found in type (\S+)`)

// Parse decodes a config document, refusing unknown keys (naming the key and its line).
func Parse(data []byte, name string) (*File, error) {
	f := &File{}
	if err := refuseEmptyValues(data, name); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil {
		if errors.Is(err, io.EOF) { // empty document
			return f, nil
		}
		msg := err.Error()
		if m := lineRe.FindAllStringSubmatch(msg, -1); len(m) > 0 {
			var parts []string
			for _, x := range m {
				parts = append(parts, fmt.Sprintf("%q on line %s", x[2], x[1]))
			}
			return nil, fmt.Errorf("config %s refused: unknown key %s; known keys are %s — fix or remove it", name, strings.Join(parts, ", "), knownKeys)
		}
		return nil, fmt.Errorf("config %s refused: %s; fix the YAML", name, strings.TrimPrefix(msg, "yaml: "))
	}
	return f, nil
}

// sections may be written with nothing under them (every key commented out).
var sections = map[string]bool{"transformer": true, "package": true, "environment": true, "ecs": true, "scaling": true}

// refuseEmptyValues refuses a key written with no value (`memory:` or `stack:`): YAML
// reads it as null, which would silently mean "unset" and fall back to a default.
func refuseEmptyValues(data []byte, name string) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return nil // the decoder reports syntax errors
	}
	var walk func(n *yaml.Node, path string) error
	walk = func(n *yaml.Node, path string) error {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := path + k.Value
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" && !sections[k.Value] {
				return fmt.Errorf("config %s refused: key %q on line %d has no value, which would silently mean \"use the default\"; give it a value or remove the line", name, key, k.Line)
			}
			if err := walk(v, key+"."); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(doc.Content[0], "")
}

// Resolve makes a path from the config file relative to the file's directory.
func (f *File) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) || f.Path == "" {
		return p
	}
	return filepath.Join(filepath.Dir(f.Path), p)
}

var stackRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// ValidateStack checks a stack name (it ends up in IAM, Lambda and API names).
func ValidateStack(s string) error {
	if !stackRe.MatchString(s) || strings.HasSuffix(s, "-") {
		return fmt.Errorf("stack name %q refused: it must be 1-32 characters of a-z, 0-9 and '-', starting with a letter or digit and not ending with '-' (it becomes part of the role, function and API names); pass --stack NAME or set `stack:` in rudderctl.yaml", s)
	}
	return nil
}

// ValidateRegion checks a region string's shape; empty means none was found.
func ValidateRegion(r string) error {
	if r == "" {
		return errors.New("no AWS region: none of --region, `region:` in rudderctl.yaml, AWS_REGION or AWS_DEFAULT_REGION is set; pass --region (e.g. --region eu-west-1)")
	}
	if !regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`).MatchString(r) {
		return fmt.Errorf("region %q refused: it is not shaped like an AWS region (e.g. eu-west-1); fix --region or `region:`", r)
	}
	return nil
}

// Region picks the region: flag, then config, then AWS_REGION, then AWS_DEFAULT_REGION.
func Region(flag string, f *File) string {
	for _, r := range []string{flag, f.Region, os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION")} {
		if r != "" {
			return r
		}
	}
	return ""
}

// Stack picks the stack name: --stack when given (even empty), else RUDDERCTL_STACK when
// set (even empty), else `stack:` in the config when present (even empty), else "default".
// An empty name is never replaced by the default: it is refused, because a typo such as
// --stack "$STAGE" with STAGE unset must not act on the stack called default.
func Stack(flag string, flagSet bool, f *File) (string, error) {
	name, from := DefaultStack, ""
	env, envSet := os.LookupEnv(StackEnv)
	switch {
	case flagSet:
		name, from = flag, "--stack"
	case envSet:
		name, from = env, StackEnv
	case f != nil && f.Stack != nil:
		name, from = *f.Stack, "`stack:` in "+f.Path
	}
	if name == "" {
		return "", fmt.Errorf("stack name refused: %s is empty, and an empty name is never taken to mean %q; give a name (1-32 of a-z, 0-9, '-'), or drop %s to use %q", from, DefaultStack, from, DefaultStack)
	}
	if err := ValidateStack(name); err != nil {
		return "", err
	}
	return name, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// ValidateRuntime, ValidateArch, ValidateMemory, ValidateTimeout, ValidateRetention check one value each.
func ValidateRuntime(v string) error {
	if !contains(Runtimes, v) {
		return fmt.Errorf("runtime %q refused: Lambda Node runtimes supported by rudderctl are %s; set transformer.runtime or --runtime to one of them", v, strings.Join(Runtimes, ", "))
	}
	return nil
}

func ValidateArch(v string) error {
	if !contains(Architectures, v) {
		return fmt.Errorf("architecture %q refused: Lambda runs %s; set transformer.arch or --arch to one of them", v, strings.Join(Architectures, ", "))
	}
	return nil
}

// The numeric checks take int64, the full width of a flag or YAML value, so that a value
// beyond int32 is refused as written instead of wrapping (4294967424 would become 128).
// whole is any integer a flag, the config or a caller holds; checks widen it to int64.
type whole interface{ ~int | ~int32 | ~int64 }

func ValidateMemory[T whole](n T) error {
	v := int64(n)
	if v < MinMemory || v > MaxMemory {
		return fmt.Errorf("memory %d MB refused: Lambda accepts %d..%d MB (1 MB steps; CPU grows with memory); set transformer.memory or --memory in that range", v, MinMemory, MaxMemory)
	}
	return nil
}

func ValidateTimeout[T whole](n T) error {
	v := int64(n)
	if v < MinTimeout || v > MaxTimeout {
		return fmt.Errorf("timeout %d s refused: it must be %d..%d s — Lambda allows up to %d s, but API Gateway cuts every request at 30 s, so more only keeps the function running after the caller got a 504; set transformer.timeout or --timeout in that range", v, MinTimeout, MaxTimeout, LambdaMaxTimeout)
	}
	return nil
}

func ValidateRetention[T whole](n T) error {
	v := int64(n)
	for _, d := range RetentionDays {
		if int64(d) == v {
			return nil
		}
	}
	return fmt.Errorf("log_retention_days %d refused: CloudWatch Logs accepts only %v; pick one of them", v, RetentionDays)
}

// Lambda's rule for keys: a letter, then letters, digits and '_', at least two characters.
var envKeyRe = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]+$`)

// RudderctlEnv are the keys rudderctl sets itself on the function (the adapter's exec
// wrapper and the secret path prefix); Lambda's own reserved keys are in awsapi.
var RudderctlEnv = []string{"AWS_LAMBDA_EXEC_WRAPPER", "RUDDERCTL_PATH_PREFIX"}

// ValidateEnv checks user environment variables.
func ValidateEnv(env map[string]string) error {
	keys := make([]string, 0, len(env))
	size := 0
	for k, v := range env {
		keys = append(keys, k)
		size += len(k) + len(v)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !envKeyRe.MatchString(k) {
			return fmt.Errorf("environment variable %q refused: Lambda keys must start with a letter, be at least 2 characters and contain only letters, digits and '_'; rename it in transformer.environment or --env", k)
		}
		if awsapi.IsLambdaReservedEnv(k) {
			return fmt.Errorf("environment variable %s refused: it is reserved by Lambda (set at run time, refused in the configuration); remove it from transformer.environment or --env", k)
		}
		if contains(RudderctlEnv, k) {
			return fmt.Errorf("environment variable %s refused: rudderctl sets it itself (the adapter's wrapper and the secret path prefix); remove it from transformer.environment or --env", k)
		}
	}
	if size > 3500 {
		return fmt.Errorf("environment refused: its %d bytes plus rudderctl's own variables exceed Lambda's 4 KB limit; shorten transformer.environment", size)
	}
	return nil
}
