// Package workspace reads a workspace file (workspace.yaml: sources, destinations, user
// functions and libraries, written the way a person edits them in git) and compiles it into
// the workspace config rudder-server reads, plus the answers the transformer fetches for
// user-function code.
//
// Everything here is pure or reads only the user's tree under the workspace file's
// directory: bad input is refused before any call, with an error in the "what happened:
// why, and what to do" form. Destination credentials never appear in clear: the file holds
// references (!env, !secret) and the compiled config carries rudder-server's "env.NAME"
// placeholders.
package workspace

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// DefaultFile is the workspace file read when none is named.
const DefaultFile = "workspace.yaml"

// File is workspace.yaml as written.
type File struct {
	Workspace    string        `yaml:"workspace"`
	Sources      []Source      `yaml:"sources"`
	Destinations []Destination `yaml:"destinations"`
	Functions    []Function    `yaml:"functions"`
	Libraries    []Library     `yaml:"libraries"`

	// Dir is the directory of the file; function and library files resolve against it
	// and must stay inside it.
	Dir string `yaml:"-"`
}

// Source is one `sources:` entry.
type Source struct {
	Name string `yaml:"name"`
	// Type is the source definition name rudder-server sees (e.g. Javascript, HTTP).
	Type string `yaml:"type"`
	// WriteKey is a given key (a plain string), an !env reference, or absent: then the
	// key comes from outside the file (--write-keys FILE; later, the stack).
	WriteKey *Value `yaml:"writeKey"`
}

// Destination is one `destinations:` entry.
type Destination struct {
	Name string `yaml:"name"`
	// Type is the destination definition name as the transformer knows it (WEBHOOK, ...).
	Type   string         `yaml:"type"`
	Config map[string]any `yaml:"-"`
	// Sources are the names of the sources that feed it.
	Sources []string `yaml:"sources"`
	// Function is the name of the user function that runs before it ("" for none).
	Function string `yaml:"function"`
	// MessageTypes restricts the event types it receives (empty: all).
	MessageTypes []string `yaml:"messageTypes"`
}

// Function is one `functions:` entry: a user transformation.
type Function struct {
	Name string `yaml:"name"`
	File string `yaml:"file"`
	// Libraries are the names of the workspace libraries it imports.
	Libraries []string `yaml:"libraries"`
}

// Library is one `libraries:` entry: code a function imports by the library's name.
type Library struct {
	Name string `yaml:"name"`
	File string `yaml:"file"`
}

// Value is a string written in the file either in clear or as a reference.
type Value struct {
	// Literal is set when the value is written in clear.
	Literal string
	// Ref is set when the value is a reference (!env NAME or !secret ID).
	Ref *Ref
}

// Ref is a reference to a value kept outside the file.
type Ref struct {
	// Env is the environment variable rudder-server reads the value from.
	Env string
	// Secret is the Secrets Manager secret (name or ARN) the value is kept in; the deploy
	// passes it to the nodes as the environment variable Env.
	Secret string
}

// UnmarshalYAML reads a plain string, `!env NAME`, or `!secret ID`.
func (v *Value) UnmarshalYAML(n *yaml.Node) error {
	val, err := scalarValue(n, "")
	if err != nil {
		return err
	}
	switch x := val.(type) {
	case string:
		v.Literal = x
	case *Ref:
		v.Ref = x
	default:
		return fmt.Errorf("line %d: expected a string, !env NAME or !secret ID", n.Line)
	}
	return nil
}

// destinationKeys are the keys a destination entry may have.
var destinationKeys = map[string]bool{"name": true, "type": true, "config": true, "sources": true, "function": true, "messageTypes": true}

// UnmarshalYAML decodes a destination strictly (the strict mode of the outer decoder does
// not reach a custom unmarshaler), keeping `config:` as a node so that its !env / !secret
// tags survive.
func (d *Destination) UnmarshalYAML(n *yaml.Node) error {
	type plain Destination // no methods: no recursion
	var cfg *yaml.Node
	if n.Kind == yaml.MappingNode {
		rest := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if !destinationKeys[k.Value] {
				return fmt.Errorf("line %d: unknown key %q in a destination (known: name, type, config, sources, function, messageTypes)", k.Line, k.Value)
			}
			if k.Value == "config" {
				cfg = n.Content[i+1]
				continue
			}
			rest.Content = append(rest.Content, k, n.Content[i+1])
		}
		n = rest
	}
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*d = Destination(p)
	d.Config = map[string]any{}
	if cfg != nil && !(cfg.Kind == yaml.ScalarNode && cfg.Tag == "!!null") {
		c, err := configValue(cfg, "config")
		if err != nil {
			return err
		}
		m, ok := c.(map[string]any)
		if !ok {
			return fmt.Errorf("line %d: config must be a mapping of keys to values", cfg.Line)
		}
		d.Config = m
	}
	return nil
}

// Load reads and validates a workspace file (syntax of function files included, through
// check). Nothing is written.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("workspace file %s not found: nothing to read; write one (see examples/workspace/workspace.yaml) or pass --file", path)
		}
		return nil, fmt.Errorf("reading workspace file %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("workspace file %s is invalid: %w; fix the file and run again", path, err)
	}
	f.Dir = filepath.Dir(abs)
	return f, nil
}

// Parse decodes workspace YAML strictly: unknown keys and a second document are refused.
func Parse(data []byte) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty")
		}
		return nil, errors.New(stripYAMLPrefix(err))
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document: a workspace file holds exactly one")
	}
	return &f, nil
}

func stripYAMLPrefix(err error) string {
	s := err.Error()
	return string(bytes.TrimPrefix([]byte(s), []byte("yaml: ")))
}

// LoadWriteKeys reads a write-keys file: a YAML (or JSON) mapping of source name to write
// key. The keys are secrets of a kind: they are never printed.
func LoadWriteKeys(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading write keys %s: %w; pass a file mapping source names to write keys", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var keys map[string]string
	if err := dec.Decode(&keys); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("write keys file %s is empty: map each source name to its write key (website: 2Ab...)", path)
		}
		return nil, fmt.Errorf("write keys file %s is invalid: %s; write a mapping of source name to write key (website: 2Ab...)", path, stripYAMLPrefix(err))
	}
	return keys, nil
}
