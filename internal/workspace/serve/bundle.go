// Package serve is the workspace server: the Go Lambda function that answers rudder-server
// (GET /workspaceConfig?fetchAll=true) and the transformer (GET /transformation/getByVersionId,
// /transformationLibrary/getByVersionId) from a compiled workspace. The bundle (what the zip
// carries) is built here too, so both ends agree on its shape. See docs/WORKSPACE.md.
package serve

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/rudderctl/rudderctl/internal/workspace"
)

// BundleFile is the bundle's name at the zip root, beside the bootstrap.
const BundleFile = "workspace.json"

// bundleSchema changes when the bundle's shape does.
const bundleSchema = 1

// Bundle is everything the server answers, rendered ahead of time. It never holds a secret:
// generated write keys appear in Config as markers (WriteKeyMarker) and are put in from the
// function's environment when the server starts.
type Bundle struct {
	Schema      int    `json:"schema"`
	WorkspaceID string `json:"workspaceId"`
	// Config is the rendered workspace config. It and the answers are JSON strings, not
	// embedded JSON, so their exact bytes survive (encoding/json compacts embedded JSON).
	Config string `json:"config"`
	// Transformations and Libraries are the code answers by version id.
	Transformations map[string]string `json:"transformations"`
	Libraries       map[string]string `json:"libraries"`
	// GeneratedWriteKeys maps the sources whose key the stack generated to their marker.
	GeneratedWriteKeys map[string]string `json:"generatedWriteKeys,omitempty"`
}

// WriteKeyMarker is what Config holds in place of a generated write key for source: unique
// per source name, deterministic (an unchanged workspace gives the same bundle bytes), and a
// valid write key for the compiler (no spaces or ':'), so it renders like any other key.
func WriteKeyMarker(source string) string {
	sum := sha256.Sum256([]byte(source))
	return "rudderctl-generated-write-key-" + hex.EncodeToString(sum[:10])
}

// MarkerWriteKeys are the compile options' write keys for sources whose key the stack
// generates: the marker of each.
func MarkerWriteKeys(sources []string) map[string]string {
	m := make(map[string]string, len(sources))
	for _, s := range sources {
		m[s] = WriteKeyMarker(s)
	}
	return m
}

// NewBundle lays out a compiled workspace for the server. generated names the sources whose
// write key was compiled as its marker (MarkerWriteKeys). The bytes are deterministic.
func NewBundle(c *workspace.Compiled, generated []string) ([]byte, error) {
	b := Bundle{
		Schema:          bundleSchema,
		WorkspaceID:     c.WorkspaceID,
		Config:          string(c.Config),
		Transformations: map[string]string{},
		Libraries:       map[string]string{},
	}
	for _, f := range c.Functions {
		answer, ok := c.TransformationAnswer(f.VersionID)
		if !ok {
			return nil, fmt.Errorf("function %s has no code answer (version %s): this is a bug in rudderctl", f.Name, f.VersionID)
		}
		b.Transformations[f.VersionID] = string(answer)
	}
	for _, l := range c.Libraries {
		answer, ok := c.LibraryAnswer(l.VersionID)
		if !ok {
			return nil, fmt.Errorf("library %s has no code answer (version %s): this is a bug in rudderctl", l.Name, l.VersionID)
		}
		b.Libraries[l.VersionID] = string(answer)
	}
	if len(generated) > 0 {
		b.GeneratedWriteKeys = map[string]string{}
		for _, s := range generated {
			marker := WriteKeyMarker(s)
			if !bytes.Contains(c.Config, []byte(`"`+marker+`"`)) {
				return nil, fmt.Errorf("source %q is to get a generated write key, but the config does not carry its marker: compile with MarkerWriteKeys", s)
			}
			b.GeneratedWriteKeys[s] = marker
		}
	}
	return json.Marshal(b)
}

// ParseBundle reads a bundle and checks it is one this server understands.
func ParseBundle(data []byte) (*Bundle, error) {
	var b Bundle
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("the workspace bundle is not valid: %v; rebuild it with rudderctl deploy workspace", err)
	}
	if b.Schema != bundleSchema {
		return nil, fmt.Errorf("the workspace bundle has schema %d, this server reads %d; rebuild it with the same rudderctl", b.Schema, bundleSchema)
	}
	if len(b.Config) == 0 || b.WorkspaceID == "" {
		return nil, errors.New("the workspace bundle has no config; rebuild it with rudderctl deploy workspace")
	}
	return &b, nil
}

// configWithKeys is the config with each generated write key's marker replaced by the key.
// A key missing from keys is an error: serving a marker would make the source unusable.
func (b *Bundle) configWithKeys(keys map[string]string) ([]byte, error) {
	out := []byte(b.Config)
	names := make([]string, 0, len(b.GeneratedWriteKeys))
	for s := range b.GeneratedWriteKeys {
		names = append(names, s)
	}
	sort.Strings(names)
	var missing []string
	for _, s := range names {
		key := keys[s]
		if key == "" {
			missing = append(missing, s)
			continue
		}
		quoted, _ := json.Marshal(key)
		out = bytes.ReplaceAll(out, []byte(`"`+b.GeneratedWriteKeys[s]+`"`), quoted)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no write key in %s for source(s) %q: the deploy keeps them in the function's environment; run rudderctl deploy workspace again", EnvWriteKeys, missing)
	}
	return out, nil
}
