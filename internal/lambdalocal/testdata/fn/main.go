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
	"strconv"
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
	MB     int    `json:"mb"`
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
	case "alloc":
		// Map, touch and unmap MB MiB: the RSS grows by exactly that for the invocation only.
		n := ev.MB << 20
		mem, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			return nil, err
		}
		for off := 0; off < n; off += 4096 {
			mem[off] = 1
		}
		return n, syscall.Munmap(mem)
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
	if ms, err := strconv.Atoi(os.Getenv("FN_INIT_SLEEP_MS")); err == nil {
		time.Sleep(time.Duration(ms) * time.Millisecond) // a slow init, as a big app's
	}
	if os.Getenv("FN_EXIT_AT_INIT") != "" {
		fmt.Fprintln(os.Stderr, "fn: failing init on request")
		os.Exit(2)
	}
	lambda.Start(handle)
}
