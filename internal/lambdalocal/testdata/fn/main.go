// Command fn is a tiny Lambda function used by the lambdalocal tests: it echoes its event,
// and on request crashes, sleeps, fails, prints or reports its environment.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Action string `json:"action"`
	Ms     int    `json:"ms"`
	Bytes  int    `json:"bytes"`
	Print  string `json:"print"`
}

var started = time.Now().UnixNano()

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev event
	_ = json.Unmarshal(raw, &ev)
	if ev.Print != "" {
		fmt.Println(ev.Print)
	}
	switch ev.Action {
	case "crash":
		fmt.Fprintln(os.Stderr, "fn: crashing on request")
		os.Exit(3)
	case "sleep":
		time.Sleep(time.Duration(ev.Ms) * time.Millisecond)
	case "error":
		return nil, errors.New("fn: failed on request")
	case "big":
		return strings.Repeat("x", ev.Bytes), nil
	case "env":
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		wd, _ := os.Getwd()
		env["_CWD"] = wd
		env["_ARGS"] = strings.Join(os.Args, " ")
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			env["_ARN"] = lc.InvokedFunctionArn
		}
		return env, nil
	case "started":
		return started, nil
	case "pid":
		return os.Getpid(), nil
	case "spawn":
		// A detached grandchild in its own process group, like a careless adapter might leave.
		cmd := exec.Command("sleep", "600")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return cmd.Process.Pid, nil
	}
	return raw, nil
}

func main() {
	if os.Getenv("FN_EXIT_AT_INIT") != "" {
		fmt.Fprintln(os.Stderr, "fn: failing init on request")
		os.Exit(2)
	}
	lambda.Start(handle)
}
