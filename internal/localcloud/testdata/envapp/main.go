// envapp is a test program that reports its environment: it writes the variables named
// in $ENV_NAMES (comma-separated) as a JSON object to $OUT_DIR/<pid>.json and exits 0, so
// a test can see what a task's environment held (secrets resolved by the cloud included)
// without printing it.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	vals := map[string]string{}
	for _, name := range strings.Split(os.Getenv("ENV_NAMES"), ",") {
		if v, ok := os.LookupEnv(name); ok {
			vals[name] = v
		}
	}
	b, _ := json.Marshal(vals)
	path := filepath.Join(os.Getenv("OUT_DIR"), strconv.Itoa(os.Getpid())+".json")
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println("envapp: wrote", len(vals), "variables")
}
