package workspace

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const okFunction = "export function transformEvent(event, metadata) { return event; }\n"

// baseWorkspace is a valid file; cases replace parts of it.
const baseWorkspace = `workspace: w
sources:
  - name: web
    type: Javascript
    writeKey: 2WebKey
destinations:
  - name: hook
    type: WEBHOOK
    sources: [web]
    function: fn
    config:
      webhookUrl: https://example.com/in
      webhookMethod: POST
functions:
  - name: fn
    file: functions/fn.js
`

func TestBaseWorkspaceIsValid(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "functions/fn.js", okFunction)
	writeFile(t, dir, DefaultFile, baseWorkspace)
	decodeAsRudderServer(t, compileDir(t, dir, Options{}).Config)
}

// Every bad input is refused before anything is rendered, with an error that says what
// and where.
func TestBadInputIsRefused(t *testing.T) {
	cases := []struct {
		name    string
		yaml    string            // "" keeps baseWorkspace
		replace [2]string         // applied to baseWorkspace
		files   map[string]string // extra/overriding files ("" content: none)
		want    string
	}{
		{name: "unknown top-level key", yaml: baseWorkspace + "extra: 1\n", want: "field extra not found"},
		{name: "unknown source key", replace: [2]string{"    writeKey: 2WebKey\n", "    writeKey: 2WebKey\n    colour: red\n"}, want: "field colour not found"},
		{name: "unknown destination key", replace: [2]string{"    function: fn\n", "    function: fn\n    transform: fn\n"}, want: `unknown key "transform" in a destination`},
		{name: "unknown function key", replace: [2]string{"    file: functions/fn.js\n", "    file: functions/fn.js\n    lang: js\n"}, want: "field lang not found"},
		{name: "missing js file", replace: [2]string{"functions/fn.js", "functions/gone.js"}, want: "functions/gone.js does not exist"},
		{name: "not a js file", replace: [2]string{"functions/fn.js", "functions/fn.ts"}, want: "is not a .js file"},
		{name: "function does not parse", files: map[string]string{"functions/fn.js": "export function transformEvent(event { return event }\n"}, want: "does not parse as JavaScript: functions/fn.js:1: SyntaxError"},
		{name: "function has no entry point", files: map[string]string{"functions/fn.js": "export function handle(e) { return e; }\n"}, want: "defines neither transformEvent nor transformBatch"},
		{name: "duplicate source", replace: [2]string{"destinations:\n", "  - {name: web, type: HTTP, writeKey: 2Other}\ndestinations:\n"}, want: `source name "web" is used twice`},
		{name: "duplicate function", yaml: baseWorkspace + "  - {name: fn, file: functions/fn.js}\n", want: `function name "fn" is used twice`},
		{name: "destination fed by no source", replace: [2]string{"    sources: [web]\n", ""}, want: `destination "hook" is fed by no source`},
		{name: "destination fed by unknown source", replace: [2]string{"[web]", "[web, app]"}, want: `source "app", which is not in`},
		{name: "unknown function", replace: [2]string{"    function: fn\n", "    function: nope\n"}, want: `runs function "nope", which is not in`},
		{name: "password in clear", replace: [2]string{"      webhookMethod: POST\n", "      webhookMethod: POST\n      auth:\n        password: hunter2\n"}, want: "config.auth.password is a credential written in clear"},
		{name: "apiKey in clear", replace: [2]string{"      webhookMethod: POST\n", "      webhookMethod: POST\n      apiKey: abc123\n"}, want: "config.apiKey is a credential written in clear"},
		{name: "bearer header in clear", replace: [2]string{"      webhookMethod: POST\n", "      webhookMethod: POST\n      headers: [{from: Authorization, to: Bearer abc}]\n"}, want: "config.headers[0].to looks like a credential (Bearer ...)"},
		{name: "env placeholder in clear", replace: [2]string{"https://example.com/in", "env.HOOK_URL"}, want: "write `!env NAME` to mean that"},
		{name: "name that rudder-server would replace", replace: [2]string{"  - name: hook\n", "  - name: env.hook\n"}, want: `destination name "env.hook" starts with "env."`},
		{name: "unknown tag", replace: [2]string{"https://example.com/in", "!vault hook/url"}, want: "unknown tag !vault"},
		{name: "bad env name", replace: [2]string{"https://example.com/in", "!env 1URL"}, want: "is not an environment variable name"},
		{name: "one env name for two values", replace: [2]string{"      webhookMethod: POST\n", "      webhookMethod: POST\n      apiKey: !secret b\n      token: !env RUDDERCTL_SECRET_HOOK_APIKEY\n"},
			want: "environment variable RUDDERCTL_SECRET_HOOK_APIKEY is used for two different values"},
		{name: "one env var used twice is fine", replace: [2]string{"      webhookMethod: POST\n", "      webhookMethod: POST\n      apiKey: !env HOOK_KEY\n      token: !env HOOK_KEY\n"}},
		{name: "path escapes with ..", replace: [2]string{"functions/fn.js", "../fn.js"}, want: "leaves the workspace directory"},
		{name: "absolute path", replace: [2]string{"functions/fn.js", "/etc/fn.js"}, want: "is absolute"},
		{name: "lower-case destination type", replace: [2]string{"type: WEBHOOK", "type: webhook"}, want: `has type "webhook"`},
		{name: "missing workspace name", replace: [2]string{"workspace: w\n", ""}, want: "`workspace:` (the workspace name) is missing"},
		{name: "import not listed", files: map[string]string{"functions/fn.js": "import { x } from \"helpers\";\n" + okFunction}, want: `imports "helpers", which is not in its`},
		{name: "library not declared", replace: [2]string{"    file: functions/fn.js\n", "    file: functions/fn.js\n    libraries: [helpers]\n"}, want: `lists library "helpers", which is not in`},
		{name: "library name not camelCase", yaml: baseWorkspace + "libraries:\n  - {name: my-lib, file: functions/fn.js}\n", want: `library name "my-lib" is not allowed`},
		{name: "two documents", yaml: baseWorkspace + "---\nworkspace: x\n", want: "more than one YAML document"},
		{name: "same write key twice", replace: [2]string{"destinations:\n", "  - {name: app, type: HTTP, writeKey: 2WebKey}\ndestinations:\n"}, want: `sources "web" and "app" have the same write key`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "functions/fn.js", okFunction)
			for rel, content := range tc.files {
				writeFile(t, dir, rel, content)
			}
			y := tc.yaml
			if y == "" {
				y = baseWorkspace
			}
			if tc.replace[0] != "" {
				if !strings.Contains(y, tc.replace[0]) {
					t.Fatalf("case replaces %q, which the base does not contain", tc.replace[0])
				}
				y = strings.Replace(y, tc.replace[0], tc.replace[1], 1)
			}
			writeFile(t, dir, DefaultFile, y)
			err := loadAndCompile(dir)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}

func loadAndCompile(dir string) error {
	f, err := Load(filepath.Join(dir, DefaultFile))
	if err != nil {
		return err
	}
	_, err = Compile(context.Background(), f, Options{})
	return err
}

// A function file that is a symlink out of the workspace (or inside a symlinked folder)
// is refused; one to a file inside is fine.
func TestSymlinksStayInside(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, outside, "fn.js", okFunction)

	dir := t.TempDir()
	writeFile(t, dir, DefaultFile, baseWorkspace)
	if err := os.MkdirAll(filepath.Join(dir, "functions"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "fn.js"), filepath.Join(dir, "functions", "fn.js")); err != nil {
		t.Fatal(err)
	}
	if err := loadAndCompile(dir); err == nil || !strings.Contains(err.Error(), "outside the workspace directory") {
		t.Fatalf("symlinked file out: want refusal, got %v", err)
	}

	dir2 := t.TempDir()
	writeFile(t, dir2, DefaultFile, baseWorkspace)
	if err := os.Symlink(outside, filepath.Join(dir2, "functions")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, outside, "functions/fn.js", okFunction) // not what the link points at; fn.js is
	if err := loadAndCompile(dir2); err == nil || !strings.Contains(err.Error(), "outside the workspace directory") {
		t.Fatalf("symlinked folder out: want refusal, got %v", err)
	}

	dir3 := t.TempDir()
	writeFile(t, dir3, DefaultFile, baseWorkspace)
	writeFile(t, dir3, "src/fn.js", okFunction)
	if err := os.Symlink(filepath.Join(dir3, "src"), filepath.Join(dir3, "functions")); err != nil {
		t.Fatal(err)
	}
	if err := loadAndCompile(dir3); err != nil {
		t.Fatalf("symlink inside the workspace: want accepted, got %v", err)
	}
}

// Several problems are reported together, so one run shows everything to fix.
func TestAllProblemsReported(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, DefaultFile, strings.Replace(baseWorkspace, "    sources: [web]\n", "", 1)+"  - {name: fn, file: functions/fn.js}\n")
	err := loadAndCompile(dir)
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"problems:", "functions/fn.js does not exist", `function name "fn" is used twice`, "fed by no source"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
