package elbv2

import (
	"bufio"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestHostRoute reads the machine's own /32 routes back (there may be none: then only the
// negative cases run).
func TestHostRoute(t *testing.T) {
	if hostRoute(net.ParseIP("192.0.2.77")) {
		t.Fatal("a documentation address has a host route")
	}
	if onlyLocal("tcp", "192.0.2.77:80", nil) == nil {
		t.Fatal("a non-local address would be dialled")
	}
	if err := onlyLocal("tcp", "127.0.0.1:80", nil); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open("/proc/net/route")
	if err != nil {
		t.Skip("no /proc/net/route")
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[7] != "FFFFFFFF" || f[2] != "00000000" {
			continue
		}
		v, err := strconv.ParseUint(f[1], 16, 32)
		if err != nil {
			continue
		}
		ip := net.IPv4(byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
		if !hostRoute(ip) {
			t.Fatalf("%s has a host route in /proc/net/route (%s) that hostRoute does not see", ip, f[1])
		}
	}
}

// TestBindError: a privileged port says it needs root (the tests run as root here, so the
// kernel's refusal is built, not provoked).
func TestBindError(t *testing.T) {
	err := bindError("127.77.0.1:80", &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EACCES)})
	if !strings.Contains(err.Error(), "ports below 1024 need root") {
		t.Fatalf("EACCES: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = net.Listen("tcp", ln.Addr().String())
	if err = bindError(ln.Addr().String(), err); !strings.Contains(err.Error(), "the address is in use") {
		t.Fatalf("EADDRINUSE: %v", err)
	}
}
