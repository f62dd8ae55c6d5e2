package workspace

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Options are the inputs of Compile that are not in the file.
type Options struct {
	// WriteKeys are write keys by source name, for sources whose file entry has none
	// (from --write-keys FILE; later, the ones the stack generated and keeps).
	WriteKeys map[string]string
	// Check checks function and library syntax (nil: NodeChecker("")).
	Check SyntaxChecker
}

// Compiled is a workspace ready to serve.
type Compiled struct {
	// Config is the rudder-server workspace config JSON (file mode reads these bytes;
	// the config backend serves them). It holds the write keys.
	Config []byte
	// WorkspaceID is derived from the workspace name.
	WorkspaceID  string
	Sources      []CompiledEntry
	Destinations []CompiledEntry
	Functions    []CompiledCode
	Libraries    []CompiledCode
	// Secrets are the environment variables rudder-server must have for the placeholders
	// in Config, sorted by Env.
	Secrets []SecretUse

	answers map[string][]byte // versionId -> transformation or library answer
}

// CompiledCode is a function or library with its derived ids.
type CompiledCode struct {
	Name      string `json:"name"`
	File      string `json:"file"`
	ID        string `json:"id"`
	VersionID string `json:"versionId"`
}

// CompiledEntry is a source or destination with its derived id.
type CompiledEntry struct {
	Name string `json:"name"`
	Type string `json:"type"`
	ID   string `json:"id"`
}

// SecretUse is one environment variable a placeholder needs.
type SecretUse struct {
	Env string `json:"env"`
	// Secret is the Secrets Manager secret holding the value ("" when the variable is
	// given by the operator).
	Secret string `json:"secret,omitempty"`
	// UsedBy lists where it appears, e.g. "destination hook: config.headers[0].to".
	UsedBy []string `json:"usedBy"`
}

var (
	namePattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]*$`)
	destTypePattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	// A library name is what the function imports, and the transformer matches it as
	// lodash camelCase(name): only names camelCase leaves unchanged are accepted.
	libraryNamePattern = regexp.MustCompile(`^[a-z]+([A-Z][a-z]+)*[0-9]*$`)
)

// Compile validates f against its tree and renders it. Errors list every problem found.
func Compile(ctx context.Context, f *File, opts Options) (*Compiled, error) {
	check := opts.Check
	if check == nil {
		check = NodeChecker("")
	}
	c := &compiler{f: f, opts: opts, check: check, ctx: ctx, secrets: map[string]*SecretUse{}}
	c.wsID = deriveID("workspace", f.Workspace)
	out := c.run()
	if len(c.errs) > 0 {
		return nil, joinErrors(c.errs)
	}
	return out, nil
}

type compiler struct {
	f       *File
	opts    Options
	check   SyntaxChecker
	ctx     context.Context
	wsID    string
	errs    []string
	secrets map[string]*SecretUse
}

func (c *compiler) fail(format string, a ...any) { c.errs = append(c.errs, fmt.Sprintf(format, a...)) }

func joinErrors(errs []string) error {
	if len(errs) == 1 {
		return errors.New(errs[0])
	}
	return fmt.Errorf("%d problems:\n  - %s", len(errs), strings.Join(errs, "\n  - "))
}

// deriveID is a stable 27-character id (the length of RudderStack's ids) from a kind and
// names: the same names always give the same id.
func deriveID(kind string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte("rudderctl-workspace\x00" + kind))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h.Sum(nil)))[:27]
}

func (c *compiler) checkName(kind, name string, seen map[string]bool) bool {
	switch {
	case name == "":
		c.fail("a %s has no name: give every %s a name", kind, kind)
		return false
	case !namePattern.MatchString(name):
		c.fail("%s name %q is not allowed: use letters, digits, space, '.', '_' and '-', starting with a letter or digit", kind, name)
		return false
	case strings.HasPrefix(name, EnvPlaceholderPrefix):
		c.fail("%s name %q starts with %q: rudder-server would replace it from its environment; rename it", kind, name, EnvPlaceholderPrefix)
		return false
	case seen[name]:
		c.fail("%s name %q is used twice: names identify entries (ids derive from them); rename one", kind, name)
		return false
	}
	seen[name] = true
	return true
}

func (c *compiler) run() *Compiled {
	if strings.TrimSpace(c.f.Workspace) == "" {
		c.fail("`workspace:` (the workspace name) is missing: set it; ids derive from it")
	}
	libs := c.libraries()
	fns := c.functions(libs)
	sources := c.sources()
	dests := c.destinations(sources, fns)
	if len(c.errs) > 0 {
		return nil
	}
	cfg := wsConfig{WorkspaceID: c.wsID, Sources: []wsSource{}, Libraries: []wsLibrary{}}
	for _, l := range libs.list {
		cfg.Libraries = append(cfg.Libraries, wsLibrary{VersionID: l.VersionID})
	}
	for _, s := range sources.list {
		src := s.rendered
		src.Destinations = []wsDestination{}
		for _, d := range dests {
			if d.fedBy[s.name] {
				src.Destinations = append(src.Destinations, d.rendered)
			}
		}
		cfg.Sources = append(cfg.Sources, src)
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		c.fail("rendering the workspace config: %v", err)
		return nil
	}
	out := &Compiled{Config: append(data, '\n'), WorkspaceID: c.wsID, answers: map[string][]byte{}}
	for _, l := range libs.list {
		out.Libraries = append(out.Libraries, l.CompiledCode)
		out.answers[l.VersionID] = l.answer
	}
	for _, fn := range fns.list {
		out.Functions = append(out.Functions, fn.CompiledCode)
		out.answers[fn.VersionID] = fn.answer
	}
	for _, s := range cfg.Sources {
		out.Sources = append(out.Sources, CompiledEntry{Name: s.Name, Type: s.SourceDefinition.Name, ID: s.ID})
	}
	for _, d := range dests {
		out.Destinations = append(out.Destinations, CompiledEntry{Name: d.rendered.Name, Type: d.rendered.DestinationDefinition.Name, ID: d.rendered.ID})
	}
	for _, s := range c.secrets {
		sort.Strings(s.UsedBy)
		out.Secrets = append(out.Secrets, *s)
	}
	sort.Slice(out.Secrets, func(i, j int) bool { return out.Secrets[i].Env < out.Secrets[j].Env })
	return out
}

type codeEntry struct {
	CompiledCode
	imports []string
	answer  []byte
}

type codeSet struct {
	list   []*codeEntry
	byName map[string]*codeEntry
}

// loadCode reads and syntax-checks one function or library file.
func (c *compiler) loadCode(kind, name, file string) ([]byte, bool) {
	what := fmt.Sprintf("%s %q", kind, name)
	code, err := readInside(c.f.Dir, file, what)
	if err != nil {
		c.fail("%v", err)
		return nil, false
	}
	if err := c.check(c.ctx, file, code); err != nil {
		c.fail("%s: %v", what, err)
		return nil, false
	}
	return code, true
}

func (c *compiler) libraries() codeSet {
	set := codeSet{byName: map[string]*codeEntry{}}
	seen := map[string]bool{}
	for _, l := range c.f.Libraries {
		if !c.checkName("library", l.Name, seen) {
			continue
		}
		if !libraryNamePattern.MatchString(l.Name) {
			c.fail("library name %q is not allowed: functions import a library by its name and the transformer matches it in camelCase; use camelCase letters (digits only at the end), e.g. myHelpers", l.Name)
			continue
		}
		code, ok := c.loadCode("library", l.Name, l.File)
		if !ok {
			continue
		}
		e := &codeEntry{CompiledCode: CompiledCode{
			Name: l.Name, File: l.File,
			ID:        deriveID("library", c.wsID, l.Name),
			VersionID: deriveID("library-version", c.wsID, l.Name, string(code)),
		}}
		e.answer = mustJSON(libraryAnswer{ID: e.ID, VersionID: e.VersionID, Name: l.Name, Code: string(code)})
		set.list = append(set.list, e)
		set.byName[l.Name] = e
	}
	return set
}

func (c *compiler) functions(libs codeSet) codeSet {
	set := codeSet{byName: map[string]*codeEntry{}}
	seen := map[string]bool{}
	for _, fn := range c.f.Functions {
		if !c.checkName("function", fn.Name, seen) {
			continue
		}
		code, ok := c.loadCode("function", fn.Name, fn.File)
		if !ok {
			continue
		}
		if !entryPattern.Match(code) {
			c.fail("function %q (%s) defines neither transformEvent nor transformBatch: export one of them, e.g. `export function transformEvent(event, metadata) { return event; }`", fn.Name, fn.File)
			continue
		}
		listed := map[string]bool{}
		for _, ln := range fn.Libraries {
			listed[ln] = true
			if libs.byName[ln] == nil && !c.libraryFailed(ln) {
				c.fail("function %q lists library %q, which is not in `libraries:`: add it there or remove it from the function", fn.Name, ln)
			}
		}
		for _, imp := range importsOf(code) {
			if !listed[imp] {
				c.fail("function %q imports %q, which is not in its `libraries:`: list the workspace library it imports (rudderctl serves only the workspace's own libraries)", fn.Name, imp)
			}
		}
		e := &codeEntry{CompiledCode: CompiledCode{
			Name: fn.Name, File: fn.File,
			ID:        deriveID("function", c.wsID, fn.Name),
			VersionID: deriveID("function-version", c.wsID, fn.Name, string(code)),
		}}
		e.answer = mustJSON(transformationAnswer{
			ID: e.ID, VersionID: e.VersionID, Name: fn.Name, Code: string(code),
			CodeVersion: "1", Language: "javascript", WorkspaceID: c.wsID,
		})
		set.list = append(set.list, e)
		set.byName[fn.Name] = e
	}
	return set
}

// libraryFailed reports whether a library of that name is declared (and so already
// reported if it failed), to avoid a second, misleading error.
func (c *compiler) libraryFailed(name string) bool {
	for _, l := range c.f.Libraries {
		if l.Name == name {
			return true
		}
	}
	return false
}

type sourceEntry struct {
	name     string
	rendered wsSource
}

type sourceSet struct {
	list   []*sourceEntry
	byName map[string]*sourceEntry
}

func (c *compiler) sources() sourceSet {
	set := sourceSet{byName: map[string]*sourceEntry{}}
	seen := map[string]bool{}
	keys := map[string]string{} // write key (or placeholder) -> source
	if len(c.f.Sources) == 0 {
		c.fail("`sources:` is empty: a workspace needs at least one source to receive events")
	}
	declared := map[string]bool{}
	for _, s := range c.f.Sources {
		declared[s.Name] = true
	}
	var stray []string
	for name := range c.opts.WriteKeys {
		if !declared[name] {
			stray = append(stray, name)
		}
	}
	sort.Strings(stray)
	for _, name := range stray {
		c.fail("the write keys name source %q, which is not in `sources:`: fix the name or drop the key", name)
	}
	for _, s := range c.f.Sources {
		if !c.checkName("source", s.Name, seen) {
			continue
		}
		if s.Type == "" || strings.HasPrefix(s.Type, EnvPlaceholderPrefix) {
			c.fail("source %q has no usable type: set the source definition name, e.g. Javascript or HTTP", s.Name)
			continue
		}
		key, ok := c.writeKey(s)
		if !ok {
			continue
		}
		if other, dup := keys[key]; dup {
			c.fail("sources %q and %q have the same write key: rudder-server finds the source by its write key; give each its own", other, s.Name)
			continue
		}
		keys[key] = s.Name
		e := &sourceEntry{name: s.Name, rendered: wsSource{
			ID: deriveID("source", c.wsID, s.Name), Name: s.Name, WriteKey: key, Enabled: true,
			WorkspaceID: c.wsID, Config: map[string]any{},
			SourceDefinition: wsSourceDefinition{ID: deriveID("source-definition", s.Type), Name: s.Type},
		}}
		set.list = append(set.list, e)
		set.byName[s.Name] = e
	}
	return set
}

// writeKey is the key given in the file, a placeholder for a reference, or the one from
// Options.WriteKeys.
func (c *compiler) writeKey(s Source) (string, bool) {
	var key string
	switch {
	case s.WriteKey != nil && c.opts.WriteKeys[s.Name] != "":
		c.fail("source %q has a write key both in the workspace file and in the write keys given: keep one", s.Name)
		return "", false
	case s.WriteKey != nil && s.WriteKey.Ref != nil:
		return c.reference(s.WriteKey.Ref, "source "+s.Name, "writeKey"), true
	case s.WriteKey != nil:
		key = s.WriteKey.Literal
	default:
		key = c.opts.WriteKeys[s.Name]
		if key == "" {
			c.fail("source %q has no write key: give one in the file (writeKey: ... or writeKey: !env NAME) or in --write-keys FILE (source name: key)", s.Name)
			return "", false
		}
	}
	if strings.TrimSpace(key) == "" || strings.ContainsAny(key, " \t\r\n:") {
		c.fail("source %q has an unusable write key: it is the user name of HTTP Basic auth, so it must be non-empty with no spaces or ':'", s.Name)
		return "", false
	}
	if strings.HasPrefix(key, EnvPlaceholderPrefix) {
		c.fail("source %q: the write key starts with %q, which rudder-server would replace from its environment: write `writeKey: !env NAME` to mean that", s.Name, EnvPlaceholderPrefix)
		return "", false
	}
	return key, true
}

// reference records a reference's environment variable and returns its placeholder. A
// Secrets Manager reference gets a variable name derived from where it is used.
func (c *compiler) reference(r *Ref, owner, path string) string {
	ref := *r
	if ref.Env == "" {
		ref.Env = secretEnvName(owner, path)
	}
	use := c.secrets[ref.Env]
	if use == nil {
		use = &SecretUse{Env: ref.Env, Secret: ref.Secret}
		c.secrets[ref.Env] = use
	} else if use.Secret != ref.Secret {
		c.fail("environment variable %s is used for two different values (%s): use one name per value", ref.Env, owner+": "+path)
	}
	use.UsedBy = append(use.UsedBy, owner+": "+path)
	return ref.Placeholder()
}

var nonEnvChars = regexp.MustCompile(`[^A-Z0-9]+`)

// secretEnvName is RUDDERCTL_SECRET_<NAME>_<PATH> in environment-variable characters, e.g.
// RUDDERCTL_SECRET_AUDIT_WEBHOOK_APIKEY for destination audit-webhook, config.apiKey.
func secretEnvName(owner, path string) string {
	owner = strings.TrimPrefix(strings.TrimPrefix(owner, "destination "), "source ")
	s := strings.ToUpper(owner + "_" + strings.TrimPrefix(path, "config."))
	s = strings.Trim(nonEnvChars.ReplaceAllString(s, "_"), "_")
	return "RUDDERCTL_SECRET_" + s
}

type destEntry struct {
	fedBy    map[string]bool
	rendered wsDestination
}

func (c *compiler) destinations(sources sourceSet, fns codeSet) []*destEntry {
	var out []*destEntry
	seen := map[string]bool{}
	for _, d := range c.f.Destinations {
		if !c.checkName("destination", d.Name, seen) {
			continue
		}
		owner := "destination " + d.Name
		if !destTypePattern.MatchString(d.Type) {
			c.fail("destination %q has type %q: use the destination name as the transformer knows it, in capitals (e.g. WEBHOOK)", d.Name, d.Type)
			continue
		}
		if len(d.Sources) == 0 {
			c.fail("destination %q is fed by no source: list at least one source name in its `sources:`", d.Name)
			continue
		}
		fed := map[string]bool{}
		for _, s := range d.Sources {
			if sources.byName[s] == nil {
				if !c.sourceDeclared(s) {
					c.fail("destination %q is fed by source %q, which is not in `sources:`: add the source or fix the name", d.Name, s)
				}
				continue
			}
			if fed[s] {
				c.fail("destination %q lists source %q twice", d.Name, s)
			}
			fed[s] = true
		}
		config, ok := c.destinationConfig(owner, d.Config)
		if !ok {
			continue
		}
		transformations := []wsTransformation{}
		if d.Function != "" {
			fn := fns.byName[d.Function]
			if fn == nil {
				if !c.functionDeclared(d.Function) {
					c.fail("destination %q runs function %q, which is not in `functions:`: add it or fix the name", d.Name, d.Function)
				}
				continue
			}
			transformations = append(transformations, wsTransformation{VersionID: fn.VersionID, ID: fn.ID, Language: "javascript"})
		}
		defConfig := map[string]any{"transformAt": "processor", "transformAtV1": "processor"}
		if len(d.MessageTypes) > 0 {
			defConfig["supportedMessageTypes"] = d.MessageTypes
		}
		rendered := wsDestination{
			ID: deriveID("destination", c.wsID, d.Name), Name: d.Name, Enabled: true,
			IsProcessorEnabled: true, WorkspaceID: c.wsID, Config: config,
			Transformations: transformations,
			DestinationDefinition: wsDestinationDefinition{
				ID: deriveID("destination-definition", d.Type), Name: d.Type, DisplayName: d.Type, Config: defConfig,
			},
		}
		// The revision changes with the destination's own settings only (rudder-server
		// recomputes per-destination caches when it changes), not with its function.
		rendered.RevisionID = deriveID("destination-revision", c.wsID, d.Name, string(mustJSON([]any{config, defConfig})))
		out = append(out, &destEntry{fedBy: fed, rendered: rendered})
	}
	return out
}

func (c *compiler) sourceDeclared(name string) bool {
	for _, s := range c.f.Sources {
		if s.Name == name {
			return true
		}
	}
	return false
}

func (c *compiler) functionDeclared(name string) bool {
	for _, f := range c.f.Functions {
		if f.Name == name {
			return true
		}
	}
	return false
}

// destinationConfig replaces references with placeholders and refuses credentials in
// clear.
func (c *compiler) destinationConfig(owner string, cfg map[string]any) (map[string]any, bool) {
	before := len(c.errs)
	out := c.configValue(owner, "config", "", cfg).(map[string]any)
	return out, len(c.errs) == before
}

func (c *compiler) configValue(owner, path, key string, v any) any {
	switch x := v.(type) {
	case *Ref:
		return c.reference(x, owner, path)
	case map[string]any:
		m := make(map[string]any, len(x))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys) // problems are reported in the same order every run
		for _, k := range keys {
			m[k] = c.configValue(owner, path+"."+k, k, x[k])
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = c.configValue(owner, fmt.Sprintf("%s[%d]", path, i), key, e)
		}
		return l
	case string:
		switch {
		case strings.HasPrefix(strings.TrimSpace(x), EnvPlaceholderPrefix):
			c.fail("%s: %s is %q, which rudder-server would replace from its environment: write `!env NAME` to mean that", owner, path, x)
		case x != "" && credentialKey(key):
			c.fail("%s: %s is a credential written in clear: write `%s: !env NAME` (an environment variable of the nodes) or `%s: !secret SECRET-ID` (Secrets Manager) instead", owner, path, key, key)
		case credentialLooking(x):
			c.fail("%s: %s looks like a credential (%s ...) written in clear: move the whole value to an environment variable or secret and write `!env NAME` or `!secret SECRET-ID`", owner, path, strings.Fields(x)[0])
		}
		return x
	default:
		return x
	}
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain values are marshalled here
	}
	return data
}
