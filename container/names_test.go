package container

import (
	"strings"
	"testing"
)

func TestShortNamesFitELBv2(t *testing.T) {
	long := strings.Repeat("a", 31) + "b"
	for _, st := range []string{"a", "prod", "staging-eu-west-1", long, strings.Repeat("x-", 15) + "yz"} {
		n := NamesFor(st)
		for _, name := range []string{n.LoadBalancer, n.TargetGroup} {
			if len(name) > 32 || strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-") || strings.Contains(name, "--") {
				t.Errorf("stack %q: name %q is not a valid ELBv2 name", st, name)
			}
		}
	}
	if a, b := NamesFor(strings.Repeat("a", 30)+"1").LoadBalancer, NamesFor(strings.Repeat("a", 30)+"2").LoadBalancer; a == b {
		t.Errorf("two stacks share the load balancer name %s", a)
	}
	if got := NamesFor("prod").LoadBalancer; got != "rudderctl-prod-fn" {
		t.Errorf("short stack: %s", got)
	}
}
