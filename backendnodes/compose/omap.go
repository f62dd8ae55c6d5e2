package compose

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// omap is a YAML mapping that keeps its keys in insertion order, so the file reads in the
// order a person would write it (db1, db2, ... backend1, ..., nginx), not sorted.
type omap []kv

type kv struct {
	k string
	v any
}

func (m *omap) set(k string, v any) {
	for i := range *m {
		if (*m)[i].k == k {
			(*m)[i].v = v
			return
		}
	}
	*m = append(*m, kv{k, v})
}

// with is set for chained literals.
func (m omap) with(k string, v any) omap {
	m.set(k, v)
	return m
}

func (m omap) node() *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, e := range m {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: e.k}, valueNode(e.v))
	}
	return n
}

func valueNode(v any) *yaml.Node {
	switch x := v.(type) {
	case omap:
		return x.node()
	case []omap:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, m := range x {
			n.Content = append(n.Content, m.node())
		}
		return n
	case string:
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: x}
		switch {
		case len(x) > 0 && x[len(x)-1] == '\n':
			n.Style = yaml.LiteralStyle // config contents as readable blocks
		case yaml11Bool[strings.ToLower(x)]:
			n.Style = yaml.DoubleQuotedStyle // "off" stays a string for YAML 1.1 readers too
		}
		return n
	default:
		var n yaml.Node
		_ = n.Encode(x)
		return &n
	}
}

// yaml11Bool are the words YAML 1.1 reads as booleans.
var yaml11Bool = map[string]bool{"y": true, "n": true, "yes": true, "no": true, "on": true, "off": true, "true": true, "false": true}
