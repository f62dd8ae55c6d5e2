package packaging

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// packageJSON is the part of package.json packaging reads.
type packageJSON struct {
	Name    string            `json:"name"`
	Main    string            `json:"main"`
	Scripts map[string]string `json:"scripts"`
}

func readPackageJSON(dir string) (packageJSON, error) {
	var p packageJSON
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("%s/package.json is not valid JSON: %v; fix the file", dir, err)
	}
	return p, nil
}

// StartScriptEntry returns X from a start script such as "node X", "NODE_ENV=production
// node --enable-source-maps X" or "cross-env A=1 node X"; "" if there is no `node X`.
func StartScriptEntry(script string) string {
	// Only the first command of a chain: "node a.js && other" starts a.js.
	for _, sep := range []string{"&&", "||", ";", "|"} {
		if i := strings.Index(script, sep); i >= 0 {
			script = script[:i]
		}
	}
	f := strings.Fields(script)
	for i, w := range f {
		if w != "node" && !strings.HasSuffix(w, "/node") {
			continue
		}
		for j := i + 1; j < len(f); j++ {
			a := strings.Trim(f[j], `"'`)
			if strings.HasPrefix(a, "-") {
				// Options taking a separate value.
				switch a {
				case "-r", "--require", "--import", "--loader", "--experimental-loader", "--env-file", "--title", "--max-old-space-size", "--stack-size":
					j++
				}
				continue
			}
			return a
		}
		return ""
	}
	return ""
}

// DetectEntry picks the app's entry: explicit, else package.json main, else `node X` in
// scripts.start, else index.js — the first that names an existing file. It returns a clean
// slash path relative to src ("dist/index" resolves to "dist/index.js" or
// "dist/index/index.js" as Node would) and where it came from.
func DetectEntry(src, explicit string) (entry, from string, err error) {
	p, err := readPackageJSON(src)
	if err != nil {
		return "", "", err
	}
	type cand struct{ path, from string }
	var cands []cand
	if explicit != "" {
		cands = append(cands, cand{explicit, "--entry"})
	} else {
		if p.Main != "" {
			cands = append(cands, cand{p.Main, `package.json "main"`})
		}
		if e := StartScriptEntry(p.Scripts["start"]); e != "" {
			cands = append(cands, cand{e, "package.json scripts.start"})
		}
		if len(cands) == 0 {
			cands = append(cands, cand{"index.js", "the default index.js"})
		}
	}
	var tried []string
	for _, c := range cands {
		clean := strings.TrimPrefix(path.Clean(filepath.ToSlash(c.path)), "./")
		if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return "", "", fmt.Errorf("entry %q (from %s) is outside the app directory: the zip holds only %s; pass --entry with a path inside it", c.path, c.from, src)
		}
		for _, f := range []string{clean, clean + ".js", clean + ".cjs", clean + ".mjs", clean + "/index.js"} {
			if st, err := os.Stat(filepath.Join(src, filepath.FromSlash(f))); err == nil && !st.IsDir() {
				return f, c.from, nil
			}
		}
		tried = append(tried, fmt.Sprintf("%s (from %s)", clean, c.from))
	}
	hint := "build the app first (e.g. npm run build), or pass --entry"
	if explicit != "" {
		hint = "pass --entry with an existing file, relative to --src"
	}
	return "", "", fmt.Errorf("entry %s does not exist in %s: the adapter would have nothing to start; %s", strings.Join(tried, ", nor "), src, hint)
}
