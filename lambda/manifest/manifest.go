// Package manifest owns the fixed parts of a rudderctl Lambda zip (docs/CONTRACTS.md §1): the
// file names of the adapter, its exec wrapper and the manifest at the task root, the wrapper
// script, and the manifest rudderctl-lambda.json itself. Packaging writes it with New and
// Bytes; the adapter, local runs and deploys read it with Load or Parse, which apply the same
// checks and defaults everywhere.
//
// The package depends on the standard library only, so every side of the contract can use it.
package manifest

import (
	"encoding/json"
	"fmt"
	"os"
)

// The fixed files at the root of the zip (the task root).
const (
	BootstrapName = "rudderctl-bootstrap"   // the adapter binary
	WrapperName   = "rudderctl-wrapper"     // the exec wrapper Lambda runs (AWS_LAMBDA_EXEC_WRAPPER)
	FileName      = "rudderctl-lambda.json" // the manifest
)

// WrapperScript is the content of rudderctl-wrapper.
const WrapperScript = "#!/bin/sh\n# Lambda passes the managed runtime's start command as arguments; the adapter ignores them.\nexec \"$(dirname \"$0\")/" + BootstrapName + "\" \"$@\"\n"

// Schema is the manifest schema this rudderctl writes and reads.
const Schema = 1

// Defaults applied by Parse to fields a manifest leaves out.
const (
	DefaultArch       = "x86_64"
	DefaultHealthPath = "/health"
)

// Manifest describes the app inside the zip.
type Manifest struct {
	Schema     int               `json:"schema"`
	Runtime    string            `json:"runtime"`     // nodejs22.x, nodejs24.x
	Arch       string            `json:"arch"`        // x86_64, arm64
	Entry      string            `json:"entry"`       // the app's start file, relative to the task root
	HealthPath string            `json:"health_path"` // "" = /health
	Env        map[string]string `json:"env"`         // added to the app's environment; the function's env wins
}

// New is the manifest packaging writes for an app entry.
func New(runtime, arch, entry string) Manifest {
	return Manifest{
		Schema: Schema, Runtime: runtime, Arch: arch, Entry: entry, HealthPath: DefaultHealthPath,
		Env: map[string]string{"CLUSTER_ENABLED": "false", "NODE_OPTIONS": "--no-node-snapshot"},
	}
}

// Bytes is the manifest as written into the zip (stable: keys in a fixed order).
func (m Manifest) Bytes() []byte {
	b, _ := json.MarshalIndent(m, "", "  ")
	return append(b, '\n')
}

// Error is a manifest rudderctl cannot use. Its text says which file and why:
// "manifest <File> <Problem>"; callers add what to do about it.
type Error struct {
	File    string // FileName for Parse, the path for Load
	Problem string // e.g. "has schema 2, but this rudderctl reads schema 1"
	Err     error  // the JSON error, if any
}

func (e *Error) Error() string { return "manifest " + e.File + " " + e.Problem }
func (e *Error) Unwrap() error { return e.Err }

// Parse decodes and checks a manifest: schema 1, entry and runtime set. It defaults arch to
// x86_64 and the health path to /health, and gives the health path a leading slash.
// Its errors are *Error.
func Parse(b []byte) (Manifest, error) {
	return parse(b, FileName)
}

func parse(b []byte, file string) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, &Error{File: file, Problem: fmt.Sprintf("is not valid JSON (%v)", err), Err: err}
	}
	switch {
	case m.Schema != Schema:
		return Manifest{}, &Error{File: file, Problem: fmt.Sprintf("has schema %d, but this rudderctl reads schema %d", m.Schema, Schema)}
	case m.Entry == "":
		return Manifest{}, &Error{File: file, Problem: `has no entry: "entry" must name the app's start file (e.g. dist/src/index.js)`}
	case m.Runtime == "":
		return Manifest{}, &Error{File: file, Problem: `names no runtime: "runtime" must be the Lambda runtime (e.g. nodejs22.x)`}
	}
	if m.Arch == "" {
		m.Arch = DefaultArch
	}
	if m.HealthPath == "" {
		m.HealthPath = DefaultHealthPath
	}
	if m.HealthPath[0] != '/' {
		m.HealthPath = "/" + m.HealthPath
	}
	return m, nil
}

// Load reads and parses the manifest at path. A missing file is an error satisfying
// errors.Is(err, fs.ErrNotExist); an unusable one is an *Error naming path.
func Load(path string) (Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Manifest{}, err
	}
	return parse(b, path)
}
