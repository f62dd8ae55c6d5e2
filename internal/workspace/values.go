package workspace

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvPlaceholderPrefix is rudder-server's default BackendConfig.configEnvReplacer: a string
// value "env.NAME" anywhere in the workspace config is replaced by the value of the
// environment variable NAME when the config is fetched from a config backend
// (enterprise/config-env/configEnv.go; active with ENTERPRISE_TOKEN set and
// BackendConfig.envReplacementEnabled, the default; not in file mode).
const EnvPlaceholderPrefix = "env."

var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Placeholder is the string the compiled config carries for a reference.
func (r *Ref) Placeholder() string { return EnvPlaceholderPrefix + r.Env }

// configValue converts a YAML node of a destination's config into plain values, with
// references as *Ref. path names the value in errors.
func configValue(n *yaml.Node, path string) (any, error) {
	switch n.Kind {
	case yaml.AliasNode:
		return configValue(n.Alias, path)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: %s has a key that is not a string", k.Line, path)
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("line %d: %s.%s is written twice", k.Line, path, k.Value)
			}
			v, err := configValue(n.Content[i+1], path+"."+k.Value)
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			v, err := configValue(c, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	default:
		return scalarValue(n, path)
	}
}

// scalarValue reads a scalar: !env NAME and !secret ID become *Ref, anything else its
// plain YAML value.
func scalarValue(n *yaml.Node, path string) (any, error) {
	where := ""
	if path != "" {
		where = " (" + path + ")"
	}
	switch n.Tag {
	case "!env":
		name := strings.TrimSpace(n.Value)
		if !envNamePattern.MatchString(name) {
			return nil, fmt.Errorf("line %d%s: !env %q is not an environment variable name: use letters, digits and _ (not starting with a digit)", n.Line, where, n.Value)
		}
		return &Ref{Env: name}, nil
	case "!secret":
		id := strings.TrimSpace(n.Value)
		if id == "" {
			return nil, fmt.Errorf("line %d%s: !secret needs the Secrets Manager secret name or ARN", n.Line, where)
		}
		return &Ref{Secret: id}, nil
	}
	if n.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("line %d%s: expected a single value", n.Line, where)
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return nil, fmt.Errorf("line %d%s: unknown tag %s: the tags a workspace file knows are !env NAME and !secret ID", n.Line, where, n.Tag)
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, fmt.Errorf("line %d%s: %s", n.Line, where, stripYAMLPrefix(err))
	}
	return v, nil
}

// credentialKey reports whether a config key is named like a credential: its value must
// then be a reference.
func credentialKey(key string) bool {
	k := strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(key))
	for _, w := range []string{"password", "passwd", "secret", "token", "credential", "privatekey"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	// apiKey, accessKey, key, ... but not keyName or keyField
	return strings.HasSuffix(k, "key")
}

// credentialLooking reports whether a string written in clear looks like an HTTP
// credential whatever its key (e.g. a header value).
func credentialLooking(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	return strings.HasPrefix(l, "bearer ") || strings.HasPrefix(l, "basic ")
}
