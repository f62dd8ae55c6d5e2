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
	MinMemory           = 128
	MaxMemory           = 10240
	MinTimeout          = 1
	// MaxTimeout is API Gateway's integration timeout: a longer function timeout would
	// only let the function run on after the gateway has answered 504.
	MaxTimeout = 30
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
	Stack       string      `yaml:"stack"`
	Region      string      `yaml:"region"`
	Transformer Transformer `yaml:"transformer"`

	// Path is where the file was read from ("" when none); relative paths in it are
	// resolved against its directory.
	Path string `yaml:"-"`
}

// Transformer is the `transformer:` section.
type Transformer struct {
	Src              string            `yaml:"src"`
	Zip              string            `yaml:"zip"`
	Runtime          string            `yaml:"runtime"`
	Arch             string            `yaml:"arch"`
	Memory           int               `yaml:"memory"`
	Timeout          int               `yaml:"timeout"`
	Environment      map[string]string `yaml:"environment"`
	LogRetentionDays int               `yaml:"log_retention_days"`
}

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
			return nil, fmt.Errorf("config %s refused: unknown key %s; known keys are stack, region and transformer.{src, zip, runtime, arch, memory, timeout, environment, log_retention_days} — fix or remove it", name, strings.Join(parts, ", "))
		}
		return nil, fmt.Errorf("config %s refused: %s; fix the YAML", name, strings.TrimPrefix(msg, "yaml: "))
	}
	return f, nil
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

// Stack picks the stack name: flag, then config, then "default".
func Stack(flag string, f *File) string {
	if flag != "" {
		return flag
	}
	if f.Stack != "" {
		return f.Stack
	}
	return DefaultStack
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

func ValidateMemory(v int) error {
	if v < MinMemory || v > MaxMemory {
		return fmt.Errorf("memory %d MB refused: Lambda accepts %d..%d MB; set transformer.memory or --memory in that range", v, MinMemory, MaxMemory)
	}
	return nil
}

func ValidateTimeout(v int) error {
	if v < MinTimeout || v > MaxTimeout {
		return fmt.Errorf("timeout %d s refused: it must be %d..%d s because API Gateway cuts every request at 30 s; set transformer.timeout or --timeout in that range", v, MinTimeout, MaxTimeout)
	}
	return nil
}

func ValidateRetention(v int) error {
	for _, d := range RetentionDays {
		if d == v {
			return nil
		}
	}
	return fmt.Errorf("log_retention_days %d refused: CloudWatch Logs accepts only %v; pick one of them", v, RetentionDays)
}

var envKeyRe = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]*$`)

// reservedEnv are keys Lambda or rudderctl set themselves.
var reservedEnv = map[string]bool{
	"AWS_LAMBDA_EXEC_WRAPPER": true, "RUDDERCTL_PATH_PREFIX": true, "_HANDLER": true,
	"_X_AMZN_TRACE_ID": true, "AWS_DEFAULT_REGION": true, "AWS_REGION": true,
	"AWS_EXECUTION_ENV": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true, "AWS_LAMBDA_LOG_GROUP_NAME": true,
	"AWS_LAMBDA_LOG_STREAM_NAME": true, "AWS_ACCESS_KEY": true, "AWS_ACCESS_KEY_ID": true,
	"AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true, "AWS_LAMBDA_RUNTIME_API": true,
	"LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
}

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
			return fmt.Errorf("environment variable %q refused: Lambda keys must start with a letter and contain only letters, digits and '_'; rename it in transformer.environment", k)
		}
		if reservedEnv[k] {
			return fmt.Errorf("environment variable %s refused: it is reserved (set by Lambda or by rudderctl itself); remove it from transformer.environment", k)
		}
	}
	if size > 3500 {
		return fmt.Errorf("environment refused: its %d bytes plus rudderctl's own variables exceed Lambda's 4 KB limit; shorten transformer.environment", size)
	}
	return nil
}
