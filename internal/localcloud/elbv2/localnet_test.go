package elbv2

import (
	"bufio"
	"net"
	"os"
	"strconv"
	"strings"
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
