package taskrun

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// imageMap is the parsed image map file (docs/LOCALCLOUD.md, "Tasks").
type imageMap struct {
	Images []mapEntry `yaml:"images"`
}

// mapEntry maps one upstream image (a repository, or one tag of it) to a local program.
type mapEntry struct {
	Image   string   `yaml:"image"`   // "repo" or "repo:tag"
	Dir     string   `yaml:"dir"`     // app directory; relative to the map file
	Command []string `yaml:"command"` // run in Dir; "node" = Node of major Node
	Node    int      `yaml:"node"`    // Node major for a "node" command
	PortEnv string   `yaml:"portEnv"` // loopback mode: the env var that carries the port
	// Env is the image's own environment (Docker's ENV): the container's env overrides it.
	Env map[string]string `yaml:"env"`

	repo, tag string // Image split
	tagged    bool   // Image names a tag: it maps that tag only
}

// loadImageMap reads and checks an image map; "" is an empty map.
func loadImageMap(path string) ([]mapEntry, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("image map %s cannot be read: %v; pass an existing YAML file to --image-map", path, err)
	}
	var m imageMap
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("image map %s is not valid: %v; expected `images:` with entries of image, dir, command, node, portEnv, env (docs/LOCALCLOUD.md, \"Tasks\")", path, err)
	}
	base, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i := range m.Images {
		e := &m.Images[i]
		if err := e.check(base); err != nil {
			return nil, fmt.Errorf("image map %s, entry %d (%q): %v", path, i+1, e.Image, err)
		}
		if seen[e.Image] {
			return nil, fmt.Errorf("image map %s, entry %d: image %q is mapped twice; keep one entry per repository or repository:tag", path, i+1, e.Image)
		}
		seen[e.Image] = true
	}
	return m.Images, nil
}

// check validates an entry and resolves its dir against base (the map file's directory).
func (e *mapEntry) check(base string) error {
	if strings.TrimSpace(e.Image) == "" {
		return errors.New("image is empty: name the repository, e.g. rudderlabs/rudder-transformer (or repository:tag for one tag)")
	}
	if strings.Contains(e.Image, "@") {
		return errors.New("image names a digest: map a repository or repository:tag instead")
	}
	e.repo, e.tag = splitRef(e.Image)
	e.tagged = strings.LastIndex(e.Image, ":") > strings.LastIndex(e.Image, "/")
	if e.Dir == "" {
		return errors.New("dir is empty: set the app directory the command runs in (relative to the map file)")
	}
	if !filepath.IsAbs(e.Dir) {
		e.Dir = filepath.Join(base, e.Dir)
	}
	st, err := os.Stat(e.Dir)
	if err != nil || !st.IsDir() {
		return fmt.Errorf("dir %s is not a directory: fix the path (relative paths resolve against the map file)", e.Dir)
	}
	if len(e.Command) == 0 || e.Command[0] == "" {
		return errors.New("command is empty: set the program and its arguments, e.g. [node, src/index.js]")
	}
	if e.Command[0] == "node" && e.Node <= 0 {
		return errors.New("command runs node but node (the Node major) is not set: add e.g. `node: 22`")
	}
	if e.Node < 0 {
		return fmt.Errorf("node %d is not a Node major: use e.g. 22", e.Node)
	}
	return nil
}

// splitRef splits an image reference into its repository (without a Docker Hub host) and
// tag ("latest" when none; "" for a digest reference).
func splitRef(ref string) (repo, tag string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		return normalizeRepo(ref[:i]), ""
	}
	repo, tag = ref, "latest"
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		repo, tag = ref[:i], ref[i+1:]
	}
	return normalizeRepo(repo), tag
}

// normalizeRepo drops Docker Hub's implicit host and library/ prefix, so
// "docker.io/library/node" and "node" are one repository.
func normalizeRepo(repo string) string {
	for _, h := range []string{"docker.io/", "index.docker.io/", "registry-1.docker.io/"} {
		repo = strings.TrimPrefix(repo, h)
	}
	return strings.TrimPrefix(repo, "library/")
}

// lookup finds the entry for an image reference: an entry naming its tag wins over one
// naming only the repository. A digest reference matches repository entries only.
func lookup(entries []mapEntry, ref string) (mapEntry, bool) {
	repo, tag := splitRef(ref)
	var byRepo *mapEntry
	for i := range entries {
		e := &entries[i]
		if e.repo != repo {
			continue
		}
		if e.tagged {
			if e.tag == tag {
				return *e, true
			}
			continue
		}
		if byRepo == nil {
			byRepo = e
		}
	}
	if byRepo != nil {
		return *byRepo, true
	}
	return mapEntry{}, false
}
