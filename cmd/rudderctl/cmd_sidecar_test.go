package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestSidecarCLIRefusesBadInput: each bad flag is refused before anything listens, and a
// URL's secret path is never repeated in the error.
func TestSidecarCLIRefusesBadInput(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	t.Setenv("LAMBDA_TRANSFORM_URL", "")
	t.Setenv("ECS_TRANSFORM_URL", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no transformer to forward to"},
		{[]string{"--lambda-url", "ftp://h/s3cr3t-prefix"}, "is not a transformer base URL"},
		{[]string{"--ecs-url", "http://h:1", "--max-lambda-bytes", "0"}, "--max-lambda-bytes 0 refused"},
		{[]string{"--ecs-url", "http://h:1", "--max-lambda-bytes", "300000000"}, "size limits refused"},
		{[]string{"--ecs-url", "http://h:1", "--max-body-bytes", "-1"}, "--max-body-bytes -1 refused"},
		{[]string{"--ecs-url", "http://h:1", "--stats-interval", "-1s"}, "--stats-interval -1s refused"},
		{[]string{"--ecs-url", "http://h:1", "--listen", busy.Addr().String()}, "cannot listen on " + busy.Addr().String()},
		{[]string{"--ecs-url", "http://h:1", "stray"}, "unexpected argument"},
		{[]string{"--check", "--listen", "127.0.0.1:1"}, "does not answer"},
	} {
		var out, errw bytes.Buffer
		app := &cli.App{Name: "rudderctl", Writer: &out, ErrWriter: &errw, Commands: []*cli.Command{sidecarCommand()},
			ExitErrHandler: func(*cli.Context, error) {}}
		err := app.RunContext(context.Background(), append([]string{"rudderctl", "sidecar"}, tc.args...))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%v: %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
}
