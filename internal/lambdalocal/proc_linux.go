package lambdalocal

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procInfo identifies a process across pid reuse by its start time.
type procInfo struct {
	pid, pgid int
	start     string
}

// readStat returns ppid, pgid and start time of a process from /proc/PID/stat.
func readStat(pid int) (ppid, pgid int, start string, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, "", false
	}
	s := string(b)
	// The command name is in parentheses and may itself contain spaces or ')'.
	j := strings.LastIndexByte(s, ')')
	if j < 0 {
		return 0, 0, "", false
	}
	f := strings.Fields(s[j+1:])
	// After ")": state(0) ppid(1) pgrp(2) session(3) tty(4) tpgid(5) flags(6) minflt(7)
	// cminflt(8) majflt(9) cmajflt(10) utime(11) stime(12) cutime(13) cstime(14) priority(15)
	// nice(16) num_threads(17) itrealvalue(18) starttime(19)
	if len(f) < 20 {
		return 0, 0, "", false
	}
	ppid, _ = strconv.Atoi(f[1])
	pgid, _ = strconv.Atoi(f[2])
	return ppid, pgid, f[19], true
}

// descendants lists every live process below pid: from the /proc children files (a few small
// reads), or by scanning every process where the kernel has none.
func descendants(pid int) []procInfo {
	pids, ok := treePIDs(pid)
	if !ok {
		return scanDescendants(pid)
	}
	out := make([]procInfo, 0, len(pids))
	for _, p := range pids {
		if _, pgid, start, ok := readStat(p); ok {
			out = append(out, procInfo{pid: p, pgid: pgid, start: start})
		}
	}
	return out
}

// scanDescendants finds the processes below pid by reading every /proc/PID/stat.
func scanDescendants(pid int) []procInfo {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]procInfo{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, pgid, start, ok := readStat(p)
		if !ok {
			continue
		}
		children[ppid] = append(children[ppid], procInfo{pid: p, pgid: pgid, start: start})
	}
	var out []procInfo
	queue := []int{pid}
	for len(queue) > 0 {
		q := queue[0]
		queue = queue[1:]
		for _, c := range children[q] {
			out = append(out, c)
			queue = append(queue, c.pid)
		}
	}
	return out
}

// killTree SIGKILLs the remembered processes that still exist (same start time) and their
// process groups, never our own group.
func killTree(tree []procInfo) {
	own := syscall.Getpgrp()
	groups := map[int]bool{}
	for _, p := range tree {
		_, pgid, start, ok := readStat(p.pid)
		if !ok || start != p.start {
			continue
		}
		if pgid != own && pgid > 1 {
			groups[pgid] = true
		}
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
	for g := range groups {
		_ = syscall.Kill(-g, syscall.SIGKILL)
	}
}

// sysProcAttr puts the RIE in its own process group and kills it if we die.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// mergeTree adds fresh to old, dropping remembered processes that are gone.
func mergeTree(old, fresh []procInfo) []procInfo {
	seen := map[procInfo]bool{}
	out := make([]procInfo, 0, len(fresh)+len(old))
	for _, p := range fresh {
		seen[p] = true
		out = append(out, p)
	}
	for _, p := range old {
		if seen[p] {
			continue
		}
		if _, _, start, ok := readStat(p.pid); ok && start == p.start {
			out = append(out, p)
		}
	}
	return out
}
