package main

import (
	"strings"
	"testing"
)

// `logs node I` takes its flags after the node number as well as before it (urfave/cli v2
// alone stops at the number). These inputs are refused before any AWS call, by the flag
// given after the number, so the refusal shows the flag was read.
func TestLogsNodeFlagsAfterTheNumber(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // a call would fail differently
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"2", "--since", "-5m"}, "--since -5m0s refused"},
		{[]string{"--json", "2", "--follow", "--since=-1h"}, "--since -1h0m0s refused"},
		{[]string{"2", "-f", "--stack", "Not A Stack"}, `stack name "Not A Stack" refused`},
		{[]string{"2", "--region", "mars-1"}, "mars-1"},
		{[]string{"2", "3"}, "takes one node number, got 2 arguments (2 3)"},
		{[]string{"2", "--follow", "3"}, "takes one node number, got 2 arguments (2 3)"},
		{[]string{"2", "--colour", "blue"}, "flag provided but not defined: -colour"},
		{[]string{"two", "--follow"}, `logs node "two" refused`},
	} {
		_, _, err := runCLI(t, append([]string{"logs", "node"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("logs node %s: %v, want an error with %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}
