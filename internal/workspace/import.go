package workspace

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// ImportOptions are the inputs of Import besides the config JSON.
type ImportOptions struct {
	// Name is the workspace name written (ids derive from it).
	Name string
	// CodeDir holds the code of the functions and libraries the config names by version
	// id: <versionId>.json in the transformer's answer shape (name, code), or
	// <versionId>.js (functions only). "" when the config has none.
	CodeDir string
}

// Imported is what Import writes, file name -> content, plus what the user must know.
type Imported struct {
	Files map[string][]byte
	// EnvVars are the environment variables the imported file references in place of
	// credentials that were written in clear (their values are not written anywhere).
	EnvVars []string
}

// importConfig is the part of rudder-server's config an import reads. Field names match
// rudder-server's case-insensitively, as encoding/json does for it.
type importConfig struct {
	WorkspaceID string
	Sources     []struct {
		ID               string
		Name             string
		WriteKey         string
		SourceDefinition struct{ Name string }
		Destinations     []importDestination
	}
	Libraries []struct{ VersionID string }
}

type importDestination struct {
	ID                    string
	Name                  string
	Config                map[string]any
	DestinationDefinition struct {
		Name   string
		Config map[string]any
	}
	Transformations []struct{ VersionID string }
}

// Import converts a rudder-server workspace config into a workspace file, its function
// and library files, and write-keys.yaml (write keys stay out of the workspace file so
// they do not land in git by accident). Credentials found in clear are replaced by !env
// references; their values are dropped. Nothing is written here: see WriteImport.
func Import(configJSON []byte, opts ImportOptions) (*Imported, error) {
	var cfg importConfig
	if err := json.Unmarshal(configJSON, &cfg); err != nil {
		return nil, fmt.Errorf("the file is not a rudder-server workspace config: %v; pass the workspaceConfig.json rudder-server reads in file mode", err)
	}
	if len(cfg.Sources) == 0 {
		return nil, errors.New("the config has no sources: nothing to import")
	}
	if opts.Name == "" {
		opts.Name = "imported"
	}
	im := &importer{opts: opts, out: &Imported{Files: map[string][]byte{}}, env: map[string]bool{}}
	return im.run(cfg)
}

type importer struct {
	opts ImportOptions
	out  *Imported
	env  map[string]bool
	errs []string
}

func (im *importer) run(cfg importConfig) (*Imported, error) {
	root := mapping()
	add(root, "workspace", str(im.opts.Name))

	libs := im.libraries(cfg)
	srcs, keys := sequence(), map[string]string{}
	type destAcc struct {
		d       importDestination
		sources []string
	}
	var order []string
	dests := map[string]*destAcc{}
	for _, s := range cfg.Sources {
		src := mapping()
		add(src, "name", str(s.Name))
		add(src, "type", str(s.SourceDefinition.Name))
		srcs.Content = append(srcs.Content, src)
		switch {
		case strings.HasPrefix(s.WriteKey, EnvPlaceholderPrefix):
			add(src, "writeKey", im.envRef(strings.TrimPrefix(s.WriteKey, EnvPlaceholderPrefix)))
		case s.WriteKey != "":
			keys[s.Name] = s.WriteKey
		}
		for _, d := range s.Destinations {
			if dests[d.ID] == nil {
				dests[d.ID] = &destAcc{d: d}
				order = append(order, d.ID)
			}
			dests[d.ID].sources = append(dests[d.ID].sources, s.Name)
		}
	}
	add(root, "sources", srcs)

	functions, fnByVersion := sequence(), map[string]string{}
	ds := sequence()
	for _, id := range order {
		acc := dests[id]
		d := mapping()
		add(d, "name", str(acc.d.Name))
		add(d, "type", str(acc.d.DestinationDefinition.Name))
		add(d, "sources", flowStrings(acc.sources))
		if len(acc.d.Transformations) > 0 {
			v := acc.d.Transformations[0].VersionID
			name, ok := fnByVersion[v]
			if !ok {
				name = im.function(v, functions, libs)
				fnByVersion[v] = name
			}
			if name != "" {
				add(d, "function", str(name))
			}
		}
		if mt, ok := acc.d.DestinationDefinition.Config["supportedMessageTypes"].([]any); ok && len(mt) > 0 {
			var l []string
			for _, t := range mt {
				l = append(l, fmt.Sprint(t))
			}
			add(d, "messageTypes", flowStrings(l))
		}
		add(d, "config", im.configNode(acc.d.Name, "", "", acc.d.Config))
		ds.Content = append(ds.Content, d)
	}
	add(root, "destinations", ds)
	if len(functions.Content) > 0 {
		add(root, "functions", functions)
	}
	if len(libs) > 0 {
		ls := sequence()
		names := make([]string, 0, len(libs))
		for n := range libs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			l := mapping()
			add(l, "name", str(n))
			add(l, "file", str("libraries/"+n+".js"))
			ls.Content = append(ls.Content, l)
		}
		add(root, "libraries", ls)
	}
	if len(im.errs) > 0 {
		return nil, joinErrors(im.errs)
	}

	var buf bytes.Buffer
	buf.WriteString("# Imported by `rudderctl workspace import`. Write keys are in write-keys.yaml\n# (pass it with --write-keys; keep it out of git). See docs/WORKSPACE.md.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		return nil, err
	}
	im.out.Files[DefaultFile] = buf.Bytes()
	if len(keys) > 0 {
		data, err := yaml.Marshal(keys)
		if err != nil {
			return nil, err
		}
		im.out.Files["write-keys.yaml"] = data
	}
	for n := range im.env {
		im.out.EnvVars = append(im.out.EnvVars, n)
	}
	sort.Strings(im.out.EnvVars)
	return im.out, nil
}

// codeAnswer is a saved answer of the config backend's code routes.
type codeAnswer struct {
	Name string `json:"name"`
	Code string `json:"code"`
}

// readCode finds the code of a version in CodeDir.
func (im *importer) readCode(kind, versionID string, jsAllowed bool) (*codeAnswer, bool) {
	if im.opts.CodeDir == "" {
		im.errs = append(im.errs, fmt.Sprintf("the config uses %s version %s, whose code is not in the config: save the config backend's answer for it as <dir>/%s.json and pass --code <dir>", kind, versionID, versionID))
		return nil, false
	}
	if strings.ContainsAny(versionID, `/\`) || versionID == "" || strings.HasPrefix(versionID, ".") {
		im.errs = append(im.errs, fmt.Sprintf("%s version id %q cannot name a file", kind, versionID))
		return nil, false
	}
	if data, err := os.ReadFile(filepath.Join(im.opts.CodeDir, versionID+".json")); err == nil {
		var a codeAnswer
		if err := json.Unmarshal(data, &a); err != nil || a.Code == "" {
			im.errs = append(im.errs, fmt.Sprintf("%s.json is not a code answer with name and code", versionID))
			return nil, false
		}
		return &a, true
	}
	if jsAllowed {
		if data, err := os.ReadFile(filepath.Join(im.opts.CodeDir, versionID+".js")); err == nil {
			return &codeAnswer{Code: string(data)}, true
		}
	}
	alt := ""
	if jsAllowed {
		alt = " or " + versionID + ".js"
	}
	im.errs = append(im.errs, fmt.Sprintf("the code of %s version %s is not in %s: save it as %s.json (name, code)%s", kind, versionID, im.opts.CodeDir, versionID, alt))
	return nil, false
}

// libraries reads the workspace libraries; by name.
func (im *importer) libraries(cfg importConfig) map[string]bool {
	names := map[string]bool{}
	for _, l := range cfg.Libraries {
		a, ok := im.readCode("library", l.VersionID, false)
		if !ok {
			continue
		}
		if !libraryNamePattern.MatchString(a.Name) || names[a.Name] {
			im.errs = append(im.errs, fmt.Sprintf("library version %s is named %q: a library needs a unique camelCase name (what functions import)", l.VersionID, a.Name))
			continue
		}
		names[a.Name] = true
		im.out.Files["libraries/"+a.Name+".js"] = []byte(a.Code)
	}
	return names
}

// function adds the function of a version and returns its name ("" on error).
func (im *importer) function(versionID string, functions *yaml.Node, libs map[string]bool) string {
	a, ok := im.readCode("function", versionID, true)
	if !ok {
		return ""
	}
	name := a.Name
	if name == "" || !namePattern.MatchString(name) {
		name = "function-" + versionID
	}
	file := "functions/" + strings.ReplaceAll(name, " ", "-") + ".js"
	for _, taken := im.out.Files[file]; taken; _, taken = im.out.Files[file] {
		name += "-" + versionID
		file = "functions/" + strings.ReplaceAll(name, " ", "-") + ".js"
	}
	im.out.Files[file] = []byte(a.Code)
	f := mapping()
	add(f, "name", str(name))
	add(f, "file", str(file))
	var used []string
	for _, imp := range importsOf([]byte(a.Code)) {
		if libs[imp] {
			used = append(used, imp)
		}
	}
	if len(used) > 0 {
		add(f, "libraries", flowStrings(used))
	}
	functions.Content = append(functions.Content, f)
	return name
}

// configNode writes a destination's config, replacing credentials in clear and "env."
// placeholders with !env references.
func (im *importer) configNode(dest, path, key string, v any) *yaml.Node {
	switch x := v.(type) {
	case map[string]any:
		m := mapping()
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			add(m, k, im.configNode(dest, path+"."+k, k, x[k]))
		}
		return m
	case []any:
		s := sequence()
		for i, e := range x {
			s.Content = append(s.Content, im.configNode(dest, fmt.Sprintf("%s[%d]", path, i), key, e))
		}
		return s
	case string:
		switch {
		case strings.HasPrefix(strings.TrimSpace(x), EnvPlaceholderPrefix):
			return im.envRef(strings.TrimPrefix(strings.TrimSpace(x), EnvPlaceholderPrefix))
		case (x != "" && credentialKey(key)) || credentialLooking(x):
			return im.envRef(strings.TrimPrefix(secretEnvName(dest, strings.TrimPrefix(path, ".")), "RUDDERCTL_SECRET_"))
		}
		return str(x)
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	default:
		var n yaml.Node
		if err := n.Encode(x); err != nil {
			im.errs = append(im.errs, fmt.Sprintf("destination %s: %s: %v", dest, path, err))
		}
		return &n
	}
}

func (im *importer) envRef(name string) *yaml.Node {
	im.env[name] = true
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!env", Value: name}
}

func mapping() *yaml.Node  { return &yaml.Node{Kind: yaml.MappingNode} }
func sequence() *yaml.Node { return &yaml.Node{Kind: yaml.SequenceNode} }
func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}
func add(m *yaml.Node, k string, v *yaml.Node) { m.Content = append(m.Content, str(k), v) }
func flowStrings(l []string) *yaml.Node {
	s := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, e := range l {
		s.Content = append(s.Content, str(e))
	}
	return s
}

// WriteImport writes the imported files under dir, refusing to overwrite anything: dir
// must not exist or be empty. Files with write keys get mode 0600.
func WriteImport(dir string, im *Imported) error {
	entries, err := os.ReadDir(dir)
	switch {
	case err == nil && len(entries) > 0:
		return fmt.Errorf("%s is not empty: import writes a new workspace and overwrites nothing; name a new or empty directory", dir)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return err
	}
	names := make([]string, 0, len(im.Files))
	for n := range im.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if n == "write-keys.yaml" {
			mode = 0o600
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return err
		}
		if _, err := f.Write(im.Files[n]); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
