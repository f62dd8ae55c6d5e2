package taskrun

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// hostLinkLocal is the host side's address on every task veth: the source of the host's
// packets to a task, and the only address a task has a route to.
const hostLinkLocal = "169.254.77.1"

// nsPrefix starts the name of every namespace the runner makes.
const nsPrefix = "rctl-"

var nsenterPath = "nsenter"

// sandbox is one task's network namespace.
type sandbox struct {
	name   string // namespace (ip netns)
	hostIf string // host side of the veth pair; the task side is eth0 in the namespace
	ip     string
	record string // the file in Dir that says the runner made it
	bridge *bridge
}

func (s *sandbox) nsPath() string { return "/run/netns/" + s.name }

// chooseMode picks the sandbox: an explicit choice, else netns when root and it works.
func chooseMode(want string) (mode, why string, err error) {
	switch want {
	case ModeLoopback:
		return ModeLoopback, "asked for with sandbox loopback", nil
	case ModeNetns, "":
	default:
		return "", "", fmt.Errorf("sandbox %q is not known: use netns (network namespaces, needs root) or loopback", want)
	}
	perr := probeNetns()
	if perr == nil {
		return ModeNetns, "", nil
	}
	if want == ModeNetns {
		return "", "", fmt.Errorf("sandbox netns cannot be used here: %v; run the local cloud as root with iproute2 and util-linux (ip, nsenter, unshare, mount, mkdir), or use --sandbox loopback", perr)
	}
	return ModeLoopback, perr.Error(), nil
}

// probeNetns checks that this process can make (and remove) a network namespace.
func probeNetns() error {
	if os.Geteuid() != 0 {
		return errors.New("not running as root")
	}
	for tool, path := range map[string]*string{"ip": nil, "nsenter": &nsenterPath, "unshare": &unsharePath, "mount": &mountPath, "mkdir": &mkdirPath} {
		p, err := exec.LookPath(tool)
		if err != nil {
			return fmt.Errorf("%s is not on PATH", tool)
		}
		if path != nil {
			*path = p
		}
	}
	name := nsPrefix + "probe-" + randHex(4)
	if err := ipCmd("netns", "add", name); err != nil {
		return fmt.Errorf("cannot create a network namespace: %v", err)
	}
	return ipCmd("netns", "del", name)
}

// ipCmd runs `ip args...`; the error carries ip's message.
func ipCmd(args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.Command("ip", args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// Process-wide records: which namespaces live runners own and which task IPs are taken.
var (
	liveMu  sync.Mutex
	liveNS  = map[string]bool{}
	liveIPs = map[string]bool{}
)

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9]`)

// makeSandbox makes a task's namespace: veth pair, the task's IP from its subnet with a /32
// route from the host (source the link-local address) and back, lo up, no default route;
// then the loopback bridge. A failure removes what was made.
func (r *Runner) makeSandbox(spec Spec) (_ *sandbox, err error) {
	short := unsafeChars.ReplaceAllString(spec.TaskID, "")
	if len(short) > 8 {
		short = short[:8]
	}
	rnd := randHex(6)
	sb := &sandbox{name: nsPrefix + short + "-" + rnd[:4], hostIf: "rctl" + rnd}
	sb.record = filepath.Join(r.recordDir(), sb.name)
	if err := os.MkdirAll(r.recordDir(), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(sb.record, []byte(fmt.Sprintf("%d %s\n", os.Getpid(), sb.hostIf)), 0o644); err != nil {
		return nil, err
	}
	liveMu.Lock()
	liveNS[sb.name] = true
	liveMu.Unlock()
	defer func() {
		if err != nil {
			r.removeSandbox(sb)
			err = &StartError{Reason: fmt.Sprintf("CannotStartContainerError: setting up the task's network: %v", err)}
		}
	}()
	steps := [][]string{
		{"netns", "add", sb.name},
		{"link", "add", sb.hostIf, "type", "veth", "peer", "name", "eth0", "netns", sb.name},
		{"link", "set", sb.hostIf, "up"},
		{"addr", "add", hostLinkLocal + "/32", "dev", sb.hostIf},
		{"-n", sb.name, "link", "set", "lo", "up"},
		{"-n", sb.name, "link", "set", "eth0", "up"},
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			return nil, err
		}
	}
	if sb.ip, err = routeFreeIP(spec.SubnetCIDR, sb.hostIf); err != nil {
		return nil, err
	}
	for _, s := range [][]string{
		{"-n", sb.name, "addr", "add", sb.ip + "/32", "dev", "eth0"},
		{"-n", sb.name, "route", "add", hostLinkLocal + "/32", "dev", "eth0", "src", sb.ip},
	} {
		if err := ipCmd(s...); err != nil {
			return nil, err
		}
	}
	if sb.bridge, err = startBridge(sb.nsPath(), withExtra(bridgeAddrs(spec), r.o.Bridge)); err != nil {
		return nil, err
	}
	return sb, nil
}

func (r *Runner) recordDir() string { return filepath.Join(r.o.Dir, "netns") }

// routeFreeIP takes the lowest address of cidr that no live task uses (AWS reserves the
// first four and the last of a subnet) and routes it to hostIf. The route is the claim:
// one that exists already (a task of another local cloud) moves on to the next address.
func routeFreeIP(cidr, hostIf string) (string, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil || n.IP.To4() == nil {
		return "", fmt.Errorf("subnet %q is not an IPv4 CIDR", cidr)
	}
	ones, bits := n.Mask.Size()
	if bits-ones < 3 {
		return "", fmt.Errorf("subnet %s is too small for a task address", cidr)
	}
	base := binary.BigEndian.Uint32(n.IP.To4())
	size := uint32(1) << (bits - ones)
	for off := uint32(4); off < size-1; off++ {
		ip := make(net.IP, 4)
		binary.BigEndian.PutUint32(ip, base+off)
		s := ip.String()
		liveMu.Lock()
		taken := liveIPs[s]
		if !taken {
			liveIPs[s] = true
		}
		liveMu.Unlock()
		if taken {
			continue
		}
		err := ipCmd("route", "add", s+"/32", "dev", hostIf, "src", hostLinkLocal)
		if err == nil {
			return s, nil
		}
		liveMu.Lock()
		delete(liveIPs, s)
		liveMu.Unlock()
		if !strings.Contains(err.Error(), "File exists") {
			return "", err
		}
	}
	return "", fmt.Errorf("subnet %s has no free address left", cidr)
}

// removeSandbox stops the bridge, kills what is left in the namespace, deletes the veth
// (its route goes with it) and the namespace, then the record.
func (r *Runner) removeSandbox(sb *sandbox) {
	if sb == nil {
		return
	}
	if sb.bridge != nil {
		sb.bridge.close()
	}
	removeNamespace(sb.name, sb.hostIf)
	liveMu.Lock()
	delete(liveNS, sb.name)
	if sb.ip != "" {
		delete(liveIPs, sb.ip)
	}
	liveMu.Unlock()
	_ = os.Remove(sb.record)
}

func removeNamespace(name, hostIf string) {
	if out, err := exec.Command("ip", "netns", "pids", name).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	if hostIf != "" {
		_ = ipCmd("link", "del", hostIf)
	}
	_ = ipCmd("netns", "del", name)
}

// removeStaleSandboxes removes namespaces recorded in Dir by a runner that is gone (a
// process that died, or an earlier runner of this process that was never closed).
func (r *Runner) removeStaleSandboxes() {
	ents, err := os.ReadDir(r.recordDir())
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, nsPrefix) {
			continue
		}
		rec := filepath.Join(r.recordDir(), name)
		b, _ := os.ReadFile(rec)
		var pid int
		var hostIf string
		fmt.Sscanf(string(b), "%d %s", &pid, &hostIf)
		liveMu.Lock()
		live := liveNS[name]
		liveMu.Unlock()
		if live || (pid != os.Getpid() && pid > 0 && syscall.Kill(pid, 0) == nil) {
			continue
		}
		if !strings.HasPrefix(hostIf, "rctl") {
			hostIf = "" // only a veth the runner named
		}
		r.o.Logf("taskrun: removing namespace %s left by an earlier run (pid %d)", name, pid)
		removeNamespace(name, hostIf)
		_ = os.Remove(rec)
	}
}

// withExtra adds the cloud-wide bridge endpoints (Options.Bridge) not listed yet.
func withExtra(addrs, extra []string) []string {
	seen := map[string]bool{}
	for _, a := range addrs {
		seen[a] = true
	}
	for _, a := range extra {
		if !seen[a] {
			seen[a] = true
			addrs = append(addrs, a)
		}
	}
	return addrs
}
