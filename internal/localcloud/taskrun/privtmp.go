package taskrun

import (
	"path/filepath"
	"regexp"
	"strings"
)

// Each container of a Fargate task has a filesystem of its own, so a /tmp of its own.
// Here every task shares the host's filesystem; in netns mode each container also gets a
// mount namespace of its own (private propagation: nothing mounted in it reaches the host,
// and it goes away with the container's processes) in which its own temporary directory
// is bind-mounted on /tmp. A program that writes to /tmp by name (rudder-server: its badger
// lock /tmp/fullSuppression/badgerdbv4, its admin socket /tmp/rudder-server.sock) then
// meets no other task's files there. The rest of the host's filesystem stays as it is.
//
// Every step execs, so the container's pid is its program's:
//
//	nsenter --net=NS -- unshare --mount --propagation private -- sh -c privateTmpScript \
//	    sh MOUNT MKDIR OWN WORKDIR KEEP... -- PROGRAM ARGS...

var (
	unsharePath = "unshare"
	mountPath   = "mount"
	mkdirPath   = "mkdir"
)

// privateTmpScript covers /tmp with OWN, then binds back each KEEP (a name in the host's
// /tmp the local cloud itself hands the program: its state dir or the program, when they
// live under /tmp, as in tests) so those paths stay reachable, then execs the program in
// WORKDIR. `cd /tmp` first keeps a handle on the host's /tmp once it is covered: the
// KEEP sources are relative to it (and mount must not canonicalize them into the new /tmp).
// The container's PATH is the image's, so mount and mkdir come by absolute path.
const privateTmpScript = `mnt=$1 mkd=$2 own=$3 dir=$4; shift 4
fail() { echo "taskrun: private /tmp: $*" >&2; exit 127; }
cd /tmp || fail "cannot enter the host's /tmp"
"$mnt" --no-canonicalize --bind "$own" /tmp || fail "cannot bind $own on /tmp"
while [ "$1" != -- ]; do
  "$mkd" -p "/tmp/$1" && "$mnt" --no-canonicalize --bind "$1" "/tmp/$1" || fail "cannot keep the host's /tmp/$1"
  shift
done
shift
cd "$dir" || fail "cannot enter $dir"
exec "$@"`

// withPrivateTmp wraps argv so it runs with own on /tmp, in dir, the host's /tmp entries
// keep still reachable at their paths.
func withPrivateTmp(own, dir string, keep, argv []string) []string {
	out := []string{unsharePath, "--mount", "--propagation", "private", "--", "/bin/sh", "-c", privateTmpScript, "sh", mountPath, mkdirPath, own, dir}
	out = append(out, keep...)
	out = append(out, "--")
	return append(out, argv...)
}

// hostTmpEntries are the names in the host's /tmp holding any of paths (absolute paths
// only; the first component below /tmp), each once, in order.
func hostTmpEntries(paths ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			continue
		}
		rest, ok := strings.CutPrefix(filepath.Clean(p), "/tmp/")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, "/")
		if name == "" || name == ".." || seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, name)
	}
	return out
}

// keptTmpEntries are the host's /tmp entries a container must still reach under its own
// /tmp: the runner's directory (its home, its temporary directory) and what the image
// resolved to (the program, its directory, its PATH entries, absolute paths among its
// arguments and its image environment).
func (t *Task) keptTmpEntries(ct *container) []string {
	paths := []string{t.r.o.Dir, ct.prog.path, ct.prog.dir}
	paths = append(paths, ct.prog.binDirs...)
	paths = append(paths, ct.prog.args...)
	for _, kv := range ct.prog.env {
		if _, v, ok := strings.Cut(kv, "="); ok {
			paths = append(paths, v)
		}
	}
	return hostTmpEntries(paths...)
}

var safeDirName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
