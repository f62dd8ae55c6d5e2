package elbv2

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// Traffic stays on this machine: the proxy and the health checks dial a target only when it
// is a loopback address or has a host route (/32, no gateway) — the route the task runner
// adds for a task's namespace. An address without one (a task whose namespace is gone)
// would otherwise follow the default route off the machine.

// dialer is the proxy's and the health checks' dialer.
var dialer = &net.Dialer{Timeout: 5 * time.Second, Control: onlyLocal}

func onlyLocal(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || (!ip.IsLoopback() && !hostRoute(ip)) {
		return fmt.Errorf("localcloud does not dial %s: it is neither loopback nor a task's address with a host route, and traffic stays on this machine", host)
	}
	return nil
}

// hostRoute reports whether the kernel's main table has a /32 route without a gateway to
// ip (/proc/net/route).
func hostRoute(ip net.IP) bool {
	v4 := ip.To4()
	if v4 == nil {
		return false
	}
	// /proc/net/route writes addresses as the hex of the in-memory (network order) bytes
	// read as a little-endian word.
	want := strings.ToUpper(hex.EncodeToString(binary.LittleEndian.AppendUint32(nil, binary.BigEndian.Uint32(v4))))
	fh, err := os.Open("/proc/net/route")
	if err != nil {
		return false
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 8 && strings.EqualFold(f[1], want) && f[2] == "00000000" && strings.EqualFold(f[7], "FFFFFFFF") {
			return true
		}
	}
	return false
}
